// Node groups are kube-scheduler's static verdicts shared (the twin's, see node_groups.h):
// nodes alike in everything the static filters read (allocatable, labels but the hostname,
// taints, cordon) must share a group, and any difference must part them, whether groups
// are found by a hash of those fields or, with every hash alike, by comparing fields.
#include "scheduler/node_groups.h"

#include <gtest/gtest.h>

namespace gputwin::scheduler {
namespace {

class NodeGroupsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { groups.one_hash = GetParam(); }

  NodeId Add(const std::string& name, api::Labels labels, std::vector<api::Taint> taints = {},
             int64_t cpu_milli = 64'000) {
    api::Node n;
    n.metadata.name = name;
    labels["kubernetes.io/hostname"] = name;
    n.metadata.labels = std::move(labels);
    n.taints = std::move(taints);
    n.allocatable["cpu"] = Quantity{cpu_milli};
    const NodeId id = store.AddNode(n);
    groups.Assign(store, id);
    return id;
  }

  cluster::Store store;
  NodeGroups groups;
};

TEST_P(NodeGroupsTest, AlikeButTheHostnameShareAGroup) {
  const NodeId a = Add("a", {{"pool", "h100"}, {"zone", "a"}});
  const NodeId b = Add("b", {{"pool", "h100"}, {"zone", "a"}});
  EXPECT_EQ(groups.GroupOf(a), groups.GroupOf(b));
  EXPECT_EQ(groups.group(groups.GroupOf(a)).size, 2u);
  EXPECT_EQ(groups.group_count(), 1u);
  // The group's labels leave the hostname out.
  EXPECT_EQ(groups.group(groups.GroupOf(a)).labels.count("kubernetes.io/hostname"), 0u);
}

TEST_P(NodeGroupsTest, EachDifferencePartsThem) {
  const NodeId base = Add("base", {{"pool", "h100"}});
  const NodeId label = Add("label", {{"pool", "a100"}});
  const NodeId extra = Add("extra", {{"pool", "h100"}, {"spot", "true"}});
  const NodeId fewer = Add("fewer", {});
  const NodeId taint =
      Add("taint", {{"pool", "h100"}}, {{"nvidia.com/gpu", "present", "NoSchedule"}});
  const NodeId effect =
      Add("effect", {{"pool", "h100"}}, {{"nvidia.com/gpu", "present", "PreferNoSchedule"}});
  const NodeId cpu = Add("cpu", {{"pool", "h100"}}, {}, 32'000);
  const std::vector<NodeId> all{base, label, extra, fewer, taint, effect, cpu};
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      EXPECT_NE(groups.GroupOf(all[i]), groups.GroupOf(all[j])) << i << " " << j;
    }
  }
  EXPECT_EQ(groups.group_count(), all.size());
  // A node like an earlier one finds that one's group again, past the others.
  EXPECT_EQ(groups.GroupOf(Add("again", {{"pool", "h100"}}, {}, 32'000)), groups.GroupOf(cpu));
  EXPECT_EQ(groups.GroupOf(Add("again2", {{"pool", "h100"}})), groups.GroupOf(base));
  EXPECT_EQ(groups.group_count(), all.size());
}

TEST_P(NodeGroupsTest, ANodeMovesWithItsLabelsAndCordon) {
  const NodeId a = Add("a", {{"pool", "h100"}});
  const NodeId b = Add("b", {{"pool", "h100"}});
  store.SetNodeLabel(b, "karpenter.sh/initialized", "true");
  EXPECT_TRUE(groups.Assign(store, b));
  EXPECT_NE(groups.GroupOf(a), groups.GroupOf(b));
  EXPECT_EQ(groups.group(groups.GroupOf(a)).size, 1u);
  store.SetNodeLabel(a, "karpenter.sh/initialized", "true");
  EXPECT_TRUE(groups.Assign(store, a));
  EXPECT_EQ(groups.GroupOf(a), groups.GroupOf(b));
  EXPECT_FALSE(groups.Assign(store, a));   // nothing changed: the same group
  store.node(a).obj.unschedulable = true;  // cordoned
  EXPECT_TRUE(groups.Assign(store, a));
  EXPECT_NE(groups.GroupOf(a), groups.GroupOf(b));
  EXPECT_EQ(groups.group_count(), 3u);
}

INSTANTIATE_TEST_SUITE_P(ByHashAndByFields, NodeGroupsTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "OneHash" : "FieldHash"; });

}  // namespace
}  // namespace gputwin::scheduler
