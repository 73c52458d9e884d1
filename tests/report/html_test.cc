// The HTML report's data and self-containment, without a browser (the browser test is
// tests/html/report_in_chromium.mjs): the quickstart's timelines as its README tells them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "report/html.h"
#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

nlohmann::json QuickstartSummary() {
  auto sim =
      sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/examples/quickstart/scenario.yaml",
                        std::nullopt, std::nullopt);
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  return nlohmann::json::parse(out.str());
}

TEST(HtmlReport, QuickstartTimelines) {
  const auto tl = report::Timelines(QuickstartSummary());
  // 6 h at one point a minute: 361 instants.
  ASSERT_EQ(tl["t"].size(), 361u);
  // Three nodes of 4 GPUs; 6 training pods of 2 GPUs run at once from the start while the
  // other 6 and the 2 inference pods wait; three p3.8xlarge at $12.24 an hour.
  EXPECT_EQ(tl["gpuCapacity"][0], 12.0);
  EXPECT_EQ(tl["gpuAllocated"][0], 12.0);
  EXPECT_EQ(tl["running"][0], 6.0);
  EXPECT_EQ(tl["pending"][0], 8.0);
  EXPECT_NEAR(tl["costPerHour"][0].get<double>(), 3 * 12.24, 1e-9);
  // The 8 waiting pods are Unschedulable (kube-scheduler's FailedScheduling); GFD names the
  // GPUs Tesla-V100-SXM2-16GB, all 12 of them held.
  EXPECT_EQ(tl["waiting"]["Unschedulable"][0], 8.0);
  EXPECT_FALSE(tl["waiting"].contains("Nominated"));  // no Karpenter here
  EXPECT_EQ(tl["gpusByModel"]["Tesla-V100-SXM2-16GB"]["capacity"][0], 12.0);
  EXPECT_EQ(tl["gpusByModel"]["Tesla-V100-SXM2-16GB"]["allocated"][0], 12.0);
  // At the end the Job is done (after 4 h): nothing runs, the 2 inference pods still wait.
  EXPECT_EQ(tl["running"][360], 0.0);
  EXPECT_EQ(tl["pending"][360], 2.0);
  EXPECT_EQ(tl["gpuAllocated"][360], 0.0);
}

TEST(HtmlReport, OneSelfContainedPage) {
  const std::string html = report::RenderHtml(QuickstartSummary());
  EXPECT_THAT(html, ::testing::StartsWith("<!doctype html>"));
  EXPECT_THAT(html, ::testing::Not(::testing::HasSubstr("<script src")));
  EXPECT_THAT(html, ::testing::Not(::testing::HasSubstr("<link")));
  EXPECT_THAT(html, ::testing::HasSubstr(report::UplotJs()));
  EXPECT_THAT(html, ::testing::HasSubstr("had untolerated taint {nvidia.com/gpu: present}"));
  EXPECT_LT(html.size(), 20u << 20);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// tests/scenarios/kueue_fifo.yaml's StrictFIFO queue (its comment derives the times): r
// admitted 0-1h; big queued at 1m, admitted at 1h; small queued at 2m, admitted at 2h.
TEST(HtmlReport, KueueQueueDepthPerClusterQueue) {
  auto sim = sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/kueue_fifo.yaml",
                               std::nullopt, std::nullopt);
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  const auto tl = report::Timelines(nlohmann::json::parse(out.str()));
  const auto& strict = tl["kueue"]["strict"];
  ASSERT_EQ(tl["t"].size(), 241u);         // 4 h, a point a minute
  EXPECT_EQ(strict["pending"][30], 2.0);   // 30m: big and small wait
  EXPECT_EQ(strict["admitted"][30], 1.0);  // r runs
  EXPECT_EQ(strict["pending"][90], 1.0);   // 1h30m: small waits
  EXPECT_EQ(strict["admitted"][90], 1.0);  // big runs
  EXPECT_EQ(strict["pending"][150], 0.0);  // 2h30m: small runs
  EXPECT_EQ(strict["admitted"][150], 1.0);
  EXPECT_EQ(strict["admitted"][240], 0.0);  // all done by 3h
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// The training section: tests/scenarios/jobset_gang_deadlock.yaml's dl-a waits from 1m40s
// to the 4h end with 16 GPUs held: 16 × 14,300 s = 63.6 GPU-hours waiting, none advancing.
TEST(HtmlReport, TrainingSectionShowsTheWaitingGang) {
  auto sim = sim::LoadScenario(
      std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/jobset_gang_deadlock.yaml", std::nullopt,
      std::nullopt);
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  const std::string html = report::RenderHtml(nlohmann::json::parse(out.str()));
  EXPECT_THAT(html, ::testing::HasSubstr("<section id=training>"));
  EXPECT_THAT(html, ::testing::HasSubstr(
                        "<td>default/dl-a</td><td>JobSet</td><td>Active</td><td class=n>0.0</td>"
                        "<td class=n>63.6</td>"));
}

}  // namespace
}  // namespace gputwin
