// spec.actions apply/delete/patch: a bad action is an input error (file:line, field) before
// the clock starts, including what an applied file holds.
#include <gtest/gtest.h>

#include "tests/sim/load_error.h"

namespace gputwin {
namespace {

TEST(ScenarioActionsInput, ApplyOfAKindReadOnlyAtTheStartIsRefused) {
  const std::string e = LoadError("apply_bad_kind.yaml");
  EXPECT_NE(e.find("apply_bad_kind.yaml:7"), std::string::npos) << e;
  EXPECT_NE(e.find("apply"), std::string::npos) << e;
  EXPECT_NE(e.find("only Node, Pod, Job, Deployment and StatefulSet"), std::string::npos) << e;
}

TEST(ScenarioActionsInput, DeleteNamesAKindTheTwinCanDelete) {
  const std::string e = LoadError("delete_bad_target.yaml");
  EXPECT_NE(e.find("delete_bad_target.yaml:7"), std::string::npos) << e;
  EXPECT_NE(e.find("cronjob/default/nightly"), std::string::npos) << e;
}

TEST(ScenarioActionsInput, AppliedJobsAreCheckedBeforeTheRun) {
  // A Job naming a WorkloadPriorityClass that does not exist fails as it would at the start.
  const std::string e = LoadError("apply_job_checked.yaml");
  EXPECT_NE(e.find("no-such-class"), std::string::npos) << e;
  EXPECT_NE(e.find("apply_job_bad_queue_class.yaml"), std::string::npos) << e;
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

TEST(ScenarioActionsRun, MissingTargetsAndUnmodelledRolloutsAreWarnedWhenTheyHappen) {
  auto sim =
      sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/sim/data/actions_warned.yaml",
                        std::nullopt, std::nullopt);
  EXPECT_TRUE(sim->warnings().empty());
  sim->Run();
  ASSERT_EQ(sim->warnings().size(), 2u);
  // kubectl patch of a missing Job: Error from server (NotFound); the run goes on.
  EXPECT_NE(sim->warnings()[0].find("actions_warned.yaml:7"), std::string::npos);
  EXPECT_NE(sim->warnings()[0].find("NotFound"), std::string::npos);
  // A new image would roll out upstream; the twin says it applies the replicas only.
  EXPECT_NE(sim->warnings()[1].find("actions_web_v2.yaml:1"), std::string::npos)
      << sim->warnings()[1];
  EXPECT_NE(sim->warnings()[1].find("RollingUpdate"), std::string::npos);
  int running = 0;
  for (cluster::PodId p = 0; p < sim->store().pod_count(); ++p) {
    running += !sim->store().pod(p).deleted && sim->store().pod(p).name.starts_with("web-");
  }
  EXPECT_EQ(running, 2);  // spec.replicas 1 -> 2 was applied
}

}  // namespace
}  // namespace gputwin
