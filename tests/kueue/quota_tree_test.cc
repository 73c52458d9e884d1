// The quota arithmetic of pkg/cache/scheduler (resource_node.go, fair_sharing.go), checked
// against values from Kueue's own tests and docs.
#include "kueue/quota_tree.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gputwin::kueue {
namespace {

// One flavor-resource (fr 0), resource 0.
struct Flat {
  QuotaTree tree{1};
  int32_t cohort, a, b;
  Flat(int64_t nominal_a, int64_t nominal_b, int64_t bl_a = kNoLimit, int64_t ll_b = kNoLimit) {
    cohort = tree.AddNode("cohort", false);
    a = tree.AddNode("a", true);
    b = tree.AddNode("b", true);
    tree.SetParent(a, cohort);
    tree.SetParent(b, cohort);
    tree.SetQuota(a, 0, nominal_a, bl_a, kNoLimit);
    tree.SetQuota(b, 0, nominal_b, kNoLimit, ll_b);
    tree.Rebuild();
  }
};

TEST(QuotaTree, FlatCohortPoolsNominalQuota) {
  Flat f(4, 4);
  EXPECT_EQ(f.tree.Available(f.a, 0), 8);
  EXPECT_EQ(f.tree.PotentialAvailable(f.a, 0), 8);
  f.tree.AddUsage(f.a, 0, 6);  // borrows 2
  EXPECT_EQ(f.tree.node(f.cohort).usage[0], 6);
  EXPECT_EQ(f.tree.Available(f.b, 0), 2);
  EXPECT_TRUE(f.tree.BorrowingWith(f.a, 0, 0));
  EXPECT_EQ(f.tree.HeightOfLowestSubtreeThatFits(f.a, 0, 2).first, 1);
  f.tree.RemoveUsage(f.a, 0, 6);
  EXPECT_EQ(f.tree.node(f.cohort).usage[0], 0);
}

TEST(QuotaTree, BorrowingLimitCapsNominalPlusLimit) {
  // docs: a ClusterQueue can use at most nominalQuota + borrowingLimit.
  Flat f(4, 4, /*bl_a=*/2);
  EXPECT_EQ(f.tree.PotentialAvailable(f.a, 0), 6);
  f.tree.AddUsage(f.a, 0, 4);
  EXPECT_EQ(f.tree.Available(f.a, 0), 2);
}

TEST(QuotaTree, LendingLimitHidesTheRest) {
  // docs: with lendingLimit L, only L of the queue's nominal quota is visible to others;
  // the queue itself keeps all of it.
  Flat f(4, 4, kNoLimit, /*ll_b=*/1);
  EXPECT_EQ(f.tree.node(f.cohort).subtree[0], 5);
  EXPECT_EQ(f.tree.Available(f.a, 0), 5);
  EXPECT_EQ(f.tree.Available(f.b, 0), 8);  // 3 local + 5 in the cohort
  f.tree.AddUsage(f.b, 0, 3);              // within local quota: nothing stored above
  EXPECT_EQ(f.tree.node(f.cohort).usage[0], 0);
  f.tree.AddUsage(f.b, 0, 2);
  EXPECT_EQ(f.tree.node(f.cohort).usage[0], 2);
  EXPECT_EQ(f.tree.Available(f.a, 0), 3);
}

TEST(QuotaTree, DominantResourceShareMatchesFairSharingIntegrationTest) {
  // test/integration/.../fair_sharing: ClusterQueue a (nominal 3) uses 8 of a cohort of
  // 8: it borrows 5 of 8 lendable: weighted share 5·1000/8 = 625.
  Flat f(3, 5);
  std::vector<int32_t> fr_resource{0};
  f.tree.AddUsage(f.a, 0, 8);
  EXPECT_DOUBLE_EQ(f.tree.DominantResourceShare(f.a, fr_resource, 1), 625.0);
  EXPECT_DOUBLE_EQ(f.tree.DominantResourceShare(f.b, fr_resource, 1), 0.0);
  f.tree.node(f.a).weight = 2;  // the weight divides the share
  EXPECT_DOUBLE_EQ(f.tree.DominantResourceShare(f.a, fr_resource, 1), 312.5);
  f.tree.node(f.a).weight = 0;  // zero weight while borrowing: infinite
  EXPECT_TRUE(std::isinf(f.tree.DominantResourceShare(f.a, fr_resource, 1)));
}

TEST(QuotaTree, HierarchicalCohortAddsItsOwnQuota) {
  // docs concepts/cohort: a Cohort's own nominal quota is shared by its subtree.
  QuotaTree tree(1);
  int32_t org = tree.AddNode("org", false);
  int32_t research = tree.AddNode("research", false);
  int32_t r = tree.AddNode("r", true);
  tree.SetParent(research, org);
  tree.SetParent(r, research);
  tree.SetQuota(org, 0, 4, kNoLimit, kNoLimit);
  tree.SetQuota(r, 0, 2, kNoLimit, kNoLimit);
  tree.Rebuild();
  EXPECT_EQ(tree.Available(r, 0), 6);
  EXPECT_EQ(tree.Height(org), 2);
  tree.AddUsage(r, 0, 5);
  EXPECT_EQ(tree.node(org).usage[0], 5);
  // Borrowing 3 beyond its nominal: research (subtree 2) cannot supply it, org can.
  EXPECT_EQ(tree.HeightOfLowestSubtreeThatFits(r, 0, 1).first, 2);
}

}  // namespace
}  // namespace gputwin::kueue
