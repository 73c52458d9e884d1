// Misconfiguration Kueue accepts but cannot admit: the run warns with file:line and the
// workloads stay Pending with Kueue's messages (the scenario's own expectations).
#include <gtest/gtest.h>

#include "sim/simulation.h"

namespace gputwin {
namespace {

TEST(KueueMisconfigured, WarnsAndKeepsWorkloadsPending) {
  auto sim =
      sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/kueue/data/misconfigured.yaml",
                        std::nullopt, std::nullopt);
  sim->Run();
  ASSERT_EQ(sim->expectation_results().size(), 6u);
  for (const auto& r : sim->expectation_results()) EXPECT_TRUE(r.passed) << r.detail;
  auto warned = [&](const std::string& what) {
    for (const auto& w : sim->warnings()) {
      if (w.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(
      warned("misconfigured.yaml:76: spec.clusterQueue: LocalQueue default/dangling points "
             "to ClusterQueue \"missing\", which does not exist"));
  EXPECT_TRUE(warned("Cohort \"loop-a\" is in a cycle"));
  EXPECT_TRUE(
      warned("misconfigured.yaml:33: spec.resourceGroups: ClusterQueue \"broken\" is "
             "inactive: references missing ResourceFlavor(s): ghost"));
}

}  // namespace
}  // namespace gputwin
