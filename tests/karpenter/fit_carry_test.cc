// A consolidation pass takes the previous pass's fit lists and checks again only the nodes
// that came or changed since (Karpenter::CarryFits). The lists must be the ones a pass
// makes afresh, so every decision, and with them the whole summary, must be the same with
// the carry off. Run over the Karpenter scenarios whose consolidation passes follow one
// another while pods come and go.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "karpenter/karpenter.h"
#include "report/summary.h"
#include "results/results.h"
#include "sim/simulation.h"
#include "tests/repo_scenario.h"

namespace gputwin::karpenter {
namespace {

// The scenario's whole summary with one of Karpenter's shortcuts switched on or off (the
// switch is put back on after), and how often each shortcut was taken.
struct Outcome {
  std::string summary;
  uint64_t carried = 0, reused = 0, carried_idle = 0, mismatches = 0, unpaired = 0, one_sided = 0,
           patched = 0, consolidatable_mismatches = 0, head_mismatches = 0, shifted = 0;
};

Outcome RunWith(const std::string& scenario, bool* shortcut, bool on) {
  *shortcut = on;
  auto sim = test_support::LoadRepoScenario(scenario);
  sim->Run();
  *shortcut = true;
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim), report::Detail::kFull);
  const Karpenter* k = sim->karpenter();
  return {out.str(),
          k ? k->fits_carried() : 0,
          k ? k->isolated_reused() : 0,
          k ? k->fits_carried_idle() : 0,
          k ? k->fits_mismatches() : 0,
          k ? k->carry_unpaired() : 0,
          k ? k->carry_one_sided() : 0,
          k ? k->lists_patched() : 0,
          k ? k->consolidatable_mismatches() : 0,
          k ? k->live_head_mismatches() : 0,
          k ? k->entries_shifted() : 0};
}

class FitCarry : public ::testing::TestWithParam<const char*> {};

TEST_P(FitCarry, DecidesAsListsMadeAfresh) {
  const Outcome carried = RunWith(GetParam(), &Karpenter::carry_fits_between_passes, true);
  const Outcome fresh = RunWith(GetParam(), &Karpenter::carry_fits_between_passes, false);
  EXPECT_GT(carried.carried, 0u) << "no list was carried: the test would prove nothing";
  EXPECT_EQ(fresh.carried, 0u);
  EXPECT_EQ(carried.summary, fresh.summary);
  // Lists carried on through passes that did not ask for them (KeepFits) are used too.
  EXPECT_GT(carried.carried_idle, 0u);
}

// Every carried list, the same as one made afresh over the same nodes: a wrong verdict
// that happens to decide nothing in these scenarios still shows here.
TEST_P(FitCarry, ListsEqualListsMadeAfresh) {
  Karpenter::verify_carried_fits = true;
  const Outcome carried = RunWith(GetParam(), &Karpenter::carry_fits_between_passes, true);
  Karpenter::verify_carried_fits = false;
  EXPECT_GT(carried.carried_idle, 0u);
  EXPECT_EQ(carried.mismatches, 0u);
  // Most passes patched the last pass's node list (ListNodes) rather than listing every
  // node: each such list, its free rows and the verdicts it carried were checked against
  // ExistingNodes' (counted in mismatches above).
  EXPECT_GT(carried.patched, 0u);
  // And every node unchanged since the last pass kept its verdicts: CarryFits' walk over
  // both lists by name paired it, whatever came or went between the passes (a walk that
  // lost its place would still give right lists, only by checking nodes again).
  EXPECT_EQ(carried.unpaired, 0u);
}

// Nodes come and go between the passes of the spot example (interruptions, replacements,
// consolidation): the walk meets nodes on one side only, and still pairs the rest (above).
TEST(FitCarryWalk, MeetsNodesThatCameOrWent) {
  Karpenter::verify_carried_fits = true;
  const Outcome carried = RunWith("examples/gpu-nodepools-spot/scenario.yaml",
                                  &Karpenter::carry_fits_between_passes, true);
  Karpenter::verify_carried_fits = false;
  EXPECT_GT(carried.one_sided, 0u);
  EXPECT_EQ(carried.unpaired, 0u);
  EXPECT_GT(carried.patched, 0u);
  EXPECT_EQ(carried.mismatches, 0u);
}

// Jobs arriving at random make nodes come and go in the middle of the name order while
// others stay: the patched lists move the entries after an edit, and the carried fit
// lists' entries move with them in bulk (MergeCarried's runs), each list still the one
// made afresh.
TEST(FitCarryWalk, MovesCarriedEntriesPastAnEdit) {
  Karpenter::verify_carried_fits = true;
  const Outcome carried =
      RunWith("tests/scenarios/karpenter_churn.yaml", &Karpenter::carry_fits_between_passes, true);
  Karpenter::verify_carried_fits = false;
  EXPECT_GT(carried.shifted, 0u);
  EXPECT_EQ(carried.mismatches, 0u);
}

// The same summary whether each pass patches the last pass's node list from the node log
// or lists every node afresh (with the fit lists carried either way).
TEST_P(FitCarry, PatchedNodeListsDecideAsListsMadeAfresh) {
  const Outcome patched = RunWith(GetParam(), &Karpenter::patch_node_lists, true);
  const Outcome listed = RunWith(GetParam(), &Karpenter::patch_node_lists, false);
  EXPECT_GT(patched.patched, 0u);
  EXPECT_EQ(listed.patched, 0u);
  EXPECT_EQ(patched.summary, listed.summary);
}

// Each disruption pass rechecks Consolidatable (consolidateAfter since the claim's last pod
// event or initialization) only for the claims touched since the last pass or whose time
// came; every live claim's value, walked as before, must be the one tracked. Likewise
// what the pass's walks read of each live claim's node pods (reschedulable ones,
// do-not-disrupt, the disruption cost), refreshed only for claims whose Node saw a pod or
// Node event: at every pass, each must equal the node's pods read afresh. And a candidate
// single-node consolidation remembered as fruitless (its pods unchanged since) must be
// one the kept simulations still find fruitless, through the same simulation.
TEST_P(FitCarry, ConsolidatableTrackedAsEveryClaimWalked) {
  Karpenter::verify_consolidatable = true;
  const Outcome tracked = RunWith(GetParam(), &Karpenter::carry_fits_between_passes, true);
  Karpenter::verify_consolidatable = false;
  EXPECT_EQ(tracked.consolidatable_mismatches, 0u);
  EXPECT_EQ(tracked.head_mismatches, 0u);
}

// The walks over every node read a packed copy of what they need of each NodeClaim (phase,
// deleting, node, NodePool) and of each Node's cordon: after a run with claims launched,
// registered, initialized, disrupted and deleted, every copy still agrees with its record.
// And the nodes in name order hold no node deleted before the last pruning (a deleted
// Karpenter node's claim is deleting, so the lists skip it anyway: only here would a
// pruning that lost one show, as a month's walks growing with its churn).
TEST_P(FitCarry, PackedCopiesAgreeWithTheRecords) {
  auto sim = test_support::LoadRepoScenario(GetParam());
  sim->Run();
  const Karpenter* k = sim->karpenter();
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->PackedStateMismatch(), "");
}

INSTANTIATE_TEST_SUITE_P(Scenarios, FitCarry,
                         ::testing::Values("examples/gpu-nodepools-spot/scenario.yaml",
                                           "tests/scenarios/karpenter_consolidation.yaml",
                                           "tests/scenarios/karpenter_multi_node.yaml",
                                           "tests/scenarios/karpenter_drift.yaml",
                                           "tests/scenarios/karpenter_consolidation_retry.yaml",
                                           "tests/scenarios/karpenter_churn.yaml"));

// Single-node consolidation's isolated simulations, the likenesses they found not
// consolidatable and multi-node prefixes that read no other node are kept from pass to
// pass while the NodePools' limits and overheads and the offerings hold
// (Karpenter::IsolatedSimsAt). Kept or made afresh, every decision, and the decisions
// counted, must be the same. What empties the kept simulations is exercised: an
// offering refused by CreateFleet and back 3 minutes later (consolidation_retry), a
// NodePool's limits freed by an empty node going (consolidation_limits), spot
// interruptions (the spot example), multi-node prefixes (multi_node). Without the limits
// check, or without the offerings check, one of them differs (tried).
class KeptSimulations : public ::testing::TestWithParam<const char*> {};

TEST_P(KeptSimulations, DecideAsSimulationsMadeAfresh) {
  const Outcome kept = RunWith(GetParam(), &Karpenter::keep_isolated_sims, true);
  const Outcome fresh = RunWith(GetParam(), &Karpenter::keep_isolated_sims, false);
  EXPECT_GT(kept.reused, 0u) << "no simulation was reused: the test would prove nothing";
  EXPECT_EQ(fresh.reused, 0u);
  EXPECT_EQ(kept.summary, fresh.summary);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, KeptSimulations,
                         ::testing::Values("examples/gpu-nodepools-spot/scenario.yaml",
                                           "tests/scenarios/karpenter_multi_node.yaml",
                                           "tests/scenarios/karpenter_consolidation_retry.yaml",
                                           "tests/scenarios/karpenter_consolidation_limits.yaml"));

}  // namespace
}  // namespace gputwin::karpenter
