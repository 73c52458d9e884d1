// kube-scheduler diagnoses every node when a pod fits none (schedule_one.go: the FitError's
// per-node statuses, then DefaultPreemption over the nodes it may help). The twin keeps a
// template's per-node verdicts and recounts only the nodes changed since its last failure,
// a node with nominated pods included (its verdict counts them, as addGENominatedPods
// does, and goes stale when they change). Every message the memo gives must be the one a
// diagnosis of every node makes, with the same nodes left to preemption.
#include <gtest/gtest.h>

#include <string>

#include "scheduler/plugins/default_preemption.h"
#include "scheduler/scheduler.h"
#include "sim/simulation.h"
#include "tests/repo_scenario.h"

namespace gputwin::scheduler {
namespace {

struct Counts {
  uint64_t mismatches = 0, with_nominations = 0, reused = 0, resumed = 0, slots_reused = 0;
  uint64_t order_row_mismatches = 0, free_block_checks = 0;
  uint64_t potential_reused = 0, potential_mismatches = 0;  // DefaultPreemption's kept list
};

// idle_kept: memos kept with no user (Scheduler::idle_diagnoses_kept); log_floor: the
// node change log's restart floor (Scheduler::change_log_floor).
Counts RunVerified(const std::string& scenario, size_t idle_kept = Scheduler::idle_diagnoses_kept,
                   size_t log_floor = Scheduler::change_log_floor) {
  Scheduler::verify_diagnosis_memo = true;
  Scheduler::verify_order_rows = true;
  DefaultPreemption::verify_potential_nodes = true;
  const size_t was_kept = Scheduler::idle_diagnoses_kept;
  const size_t was_floor = Scheduler::change_log_floor;
  Scheduler::idle_diagnoses_kept = idle_kept;
  Scheduler::change_log_floor = log_floor;
  auto sim = test_support::LoadRepoScenario(scenario);
  sim->Run();
  Scheduler::verify_diagnosis_memo = false;
  Scheduler::verify_order_rows = false;
  DefaultPreemption::verify_potential_nodes = false;
  Scheduler::idle_diagnoses_kept = was_kept;
  Scheduler::change_log_floor = was_floor;
  const Scheduler& s = *sim->scheduler();
  Counts c{s.diagnosis_mismatches(),   s.memo_with_nominations(),  s.diagnoses_reused(),
           s.idle_diagnoses_resumed(), s.diagnosis_slots_reused(), s.order_row_mismatches(),
           s.free_block_checks()};
  for (const PostFilterPlugin* p : s.post_filters()) {
    if (const auto* dp = dynamic_cast<const DefaultPreemption*>(p)) {
      c.potential_reused += dp->potential_reused();
      c.potential_mismatches += dp->potential_mismatches();
    }
  }
  return c;
}

class DiagnosisMemo : public ::testing::TestWithParam<const char*> {};

TEST_P(DiagnosisMemo, EqualsDiagnosisOfEveryNode) {
  const Counts c = RunVerified(GetParam());
  EXPECT_EQ(c.mismatches, 0u);
  // What the filter walk keeps by order position equals the nodes' own (positions, free
  // rows, views, nominations) and the blocks their rows' most free capacity.
  EXPECT_EQ(c.order_row_mismatches, 0u);
  // Preemption's list of the nodes it may help, kept while the memo's verdicts hold,
  // equals the one listed afresh (the candidates are taken from it).
  EXPECT_EQ(c.potential_mismatches, 0u);
}

// Preemption nominates pods while others keep failing: the memo is used with nominations.
TEST(DiagnosisMemoNominations, UsedWhilePodsAreNominated) {
  const Counts c = RunVerified("tests/scenarios/scheduler_fit_error_nominated.yaml");
  EXPECT_GT(c.with_nominations, 0u);
  EXPECT_EQ(c.mismatches, 0u);
  EXPECT_EQ(c.order_row_mismatches, 0u);
}

// A memo freed with its last template (none kept idle here) lends its arrays to the next
// spec's: none of the old verdicts may reach the new memo's messages.
TEST(DiagnosisMemoReuse, FreedMemoServesTheNextSpec) {
  const Counts c = RunVerified("examples/gpu-nodepools-spot/scenario.yaml", 0);
  EXPECT_GT(c.reused, 0u);
  EXPECT_EQ(c.mismatches, 0u);
}

// A memo whose templates all went stays, idle, for the next template of its spec (a
// generator's next Job): that template's failures come from the memo at once, replaying
// what changed while it was idle, and must equal a diagnosis of every node.
TEST(DiagnosisMemoReuse, IdleMemoServesTheSpecsNextTemplate) {
  const Counts c = RunVerified("examples/gpu-nodepools-spot/scenario.yaml");
  EXPECT_GT(c.resumed, 0u);
  EXPECT_EQ(c.mismatches, 0u);
}

// Verdicts are kept per node slot; a deleted node's slot goes to a later node once the
// change log restarts (spot interruptions and consolidation delete nodes here; the log
// restarts after a few changes). A memo still holding the old node's verdict there must
// not count it for the new one.
TEST(DiagnosisMemoReuse, DeletedNodesSlotServesANewNode) {
  const Counts c =
      RunVerified("examples/gpu-nodepools-spot/scenario.yaml", Scheduler::idle_diagnoses_kept, 1);
  EXPECT_GT(c.slots_reused, 0u);
  EXPECT_EQ(c.mismatches, 0u);
}

// The filter walk passes over blocks of 64 nodes while Karpenter launches and deletes
// nodes: each rebuild of the NodeTree order keeps the rows and blocks of its unchanged
// head, and every block must still hold the most free capacity of its rows.
TEST(OrderRows, BlocksFollowNodeChurn) {
  const Counts c = RunVerified("tests/scenarios/scheduler_free_blocks_churn.yaml");
  EXPECT_GT(c.free_block_checks, 0u);
  EXPECT_EQ(c.order_row_mismatches, 0u);
  EXPECT_EQ(c.mismatches, 0u);
}

// Pods that fail again against nodes whose verdicts did not move (a CPU pod ending on
// another node requeues them) reuse preemption's list of the nodes it may help; each list
// kept must be the one a walk of the node order makes (checked for every scenario above).
TEST(PreemptionNodes, KeptWhileVerdictsHold) {
  const Counts c = RunVerified("tests/scenarios/preemption_victims_too_few.yaml");
  EXPECT_GT(c.potential_reused, 0u);
  EXPECT_EQ(c.potential_mismatches, 0u);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, DiagnosisMemo,
                         ::testing::Values("tests/scenarios/priority_preemption.yaml",
                                           "tests/scenarios/scheduler_fit_error_nominated.yaml",
                                           "tests/scenarios/kueue_pod_preemption.yaml",
                                           "tests/scenarios/scheduler_fit_error_updates.yaml",
                                           "tests/scenarios/scheduler_fit_error_freed.yaml",
                                           "examples/gpu-nodepools-spot/scenario.yaml",
                                           "tests/scenarios/karpenter_churn.yaml",
                                           "tests/scenarios/preemption_victims_too_few.yaml"));

}  // namespace
}  // namespace gputwin::scheduler
