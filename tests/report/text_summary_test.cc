// The text report at scale: past 40 rows its tables summarise (nodes by instance type, GPU
// nodes by model, Jobs by status with the failed ones first) instead of printing a row per
// object; summary.json keeps every row. Derived by hand from the scenario built below.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

// 42 g5.12xlarge (4 A10G each) and 8 CPU nodes; 44 Jobs of one 1-GPU pod for 30 minutes,
// 2 of them failing at once (exit code 1, backoffLimit 0), and a 45th that runs 3 hours.
std::string WriteScenario() {
  std::string y =
      "apiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: text-summary}\n"
      "spec: {duration: 2h}\n";
  for (int i = 0; i < 42; ++i) {
    y += "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: gpu-" + std::to_string(i) +
         "\n  labels: {node.kubernetes.io/instance-type: g5.12xlarge, "
         "nvidia.com/gpu.product: NVIDIA-A10G}\n"
         "status: {allocatable: {cpu: '48', memory: 192Gi, nvidia.com/gpu: '4'}}\n";
  }
  for (int i = 0; i < 8; ++i) {
    y += "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: cpu-" + std::to_string(i) +
         "\n  labels: {node.kubernetes.io/instance-type: m5.4xlarge}\n"
         "status: {allocatable: {cpu: '16', memory: 64Gi}}\n";
  }
  for (int i = 0; i < 45; ++i) {
    const bool fails = i == 7 || i == 21;
    const bool long_one = i == 30;
    y += "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: job-" + std::to_string(i) +
         "}\nspec:\n  backoffLimit: 0\n  template:\n    metadata: {annotations: "
         "{gputwin.io/run-time: " +
         std::string(long_one ? "3h" : "30m") + (fails ? ", gputwin.io/exit-code: '1'" : "") +
         "}}\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, resources: "
         "{limits: {nvidia.com/gpu: 1}}}]\n";
  }
  const std::string path =
      ::testing::TempDir() + "/text_summary_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << y;
  return path;
}

TEST(TextReport, SummarisesPastFortyRows) {
  const std::string path = WriteScenario();
  auto sim = sim::LoadScenario(path, std::nullopt, std::nullopt);
  std::filesystem::remove(path);
  sim->Run();
  const std::string text = report::RenderText(*sim, results::Compute(*sim));

  // Nodes: one row per instance type, not per node. At 2h the 30-minute Jobs are done:
  // only the 3-hour Job's pod still holds a GPU, 1 of 42 × 4.
  EXPECT_NE(text.find("50 nodes by instance type"), std::string::npos) << text;
  EXPECT_EQ(text.find("gpu-17 "), std::string::npos) << "no row per node";
  EXPECT_NE(text.find("g5.12xlarge"), std::string::npos);
  EXPECT_NE(text.find("1/168"), std::string::npos) << "GPUs requested/allocatable per type";
  EXPECT_NE(text.find("42 GPU nodes by model"), std::string::npos);
  // Jobs: counts by status; the two failed ones first, then the active one.
  EXPECT_NE(text.find("45 Jobs, 42 Complete, 2 Failed, 1 Running"), std::string::npos) << text;
  const size_t failed = text.find("default/job-7 ");
  const size_t running = text.find("default/job-30 ");
  ASSERT_NE(failed, std::string::npos);
  ASSERT_NE(running, std::string::npos);
  EXPECT_LT(text.find("default/job-21 "), running);
  EXPECT_LT(failed, running);
  EXPECT_NE(text.find("... 5 more in summary.json"), std::string::npos);
}

}  // namespace
}  // namespace gputwin
