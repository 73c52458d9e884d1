// summary.json's jobSets: the training figures of a gang, derived by hand for
// tests/scenarios/jobset_gang_deadlock.yaml (see its comment for the times).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

TEST(JobSetSummary, GangFiguresOfTheDeadlockAndOfKueuesOrder) {
  auto sim = sim::LoadScenario(
      std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/jobset_gang_deadlock.yaml", std::nullopt,
      std::nullopt);
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  const auto j = nlohmann::json::parse(out.str());
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& s : j.at("jobSets")) by_name[s.at("name").get<std::string>()] = s;
  // dl-a: from 1m40s to the 4h end its driver (8 GPUs) and two workers (4 each) hold 16
  // GPUs waiting for the third worker: 16 × (4h - 100 s) GPU-seconds; it never advances.
  const auto& a = by_name.at("dl-a");
  EXPECT_DOUBLE_EQ(a.at("secondsWaitingForGang").get<double>(), 4 * 3600 - 100);
  EXPECT_NEAR(a.at("gpuHoursWaitingForGang").get<double>(), 16.0 * (4 * 3600 - 100) / 3600, 1e-3);
  EXPECT_EQ(a.at("gpuHoursAdvancing").get<double>(), 0.0);
  EXPECT_EQ(a.at("terminalState"), "");
  // q-a under Kueue: all 20 GPUs join at 1m40s and advance for 1h, no wait, nothing lost.
  const auto& q = by_name.at("q-a");
  EXPECT_EQ(q.at("secondsWaitingForGang").get<double>(), 0.0);
  EXPECT_NEAR(q.at("gpuHoursAdvancing").get<double>(), 20.0, 1e-3);
  EXPECT_EQ(q.at("gpuHoursLost").get<double>(), 0.0);
  EXPECT_EQ(q.at("terminalState"), "Completed");
}

// tests/scenarios/jobset_lifecycle.yaml's ckpt: one worker deleted at 25m, both back to
// the 20m checkpoint: 5 + 5 minutes of one GPU each lost, counted once.
TEST(JobSetSummary, LostWorkOfAGangCountedOnce) {
  auto sim =
      sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/jobset_lifecycle.yaml",
                        std::nullopt, std::nullopt);
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  const auto j = nlohmann::json::parse(out.str());
  for (const auto& s : j.at("jobSets")) {
    if (s.at("name") == "ckpt") {
      EXPECT_NEAR(s.at("gpuHoursLost").get<double>(), 600.0 / 3600, 1e-4);
    }
  }
}

}  // namespace
}  // namespace gputwin
