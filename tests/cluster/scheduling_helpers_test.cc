// Cases from k8s.io/api core/v1 toleration_test.go and component-helpers nodeaffinity tests.
#include <gtest/gtest.h>

#include "cluster/scheduling_helpers.h"

namespace gputwin::cluster {
namespace {

TEST(ToleratesTaint, UpstreamCases) {
  api::Taint taint{"foo", "bar", "NoSchedule"};
  // Same key, value and effect.
  EXPECT_TRUE(ToleratesTaint({"foo", "Equal", "bar", "NoSchedule", {}}, taint));
  // Empty operator means Equal.
  EXPECT_TRUE(ToleratesTaint({"foo", "", "bar", "NoSchedule", {}}, taint));
  // Different value.
  EXPECT_FALSE(ToleratesTaint({"foo", "Equal", "baz", "NoSchedule", {}}, taint));
  // Exists ignores the value.
  EXPECT_TRUE(ToleratesTaint({"foo", "Exists", "", "NoSchedule", {}}, taint));
  // Empty effect matches every effect.
  EXPECT_TRUE(ToleratesTaint({"foo", "Exists", "", "", {}}, taint));
  // Different effect.
  EXPECT_FALSE(ToleratesTaint({"foo", "Exists", "", "NoExecute", {}}, taint));
  // Empty key with Exists matches every key.
  EXPECT_TRUE(ToleratesTaint({"", "Exists", "", "", {}}, taint));
  // Different key.
  EXPECT_FALSE(ToleratesTaint({"other", "Exists", "", "", {}}, taint));
  // Unknown operator never tolerates.
  EXPECT_FALSE(ToleratesTaint({"foo", "Lt", "bar", "NoSchedule", {}}, taint));
}

TEST(FindUntoleratedTaint, OnlyNoScheduleAndNoExecuteFilter) {
  std::vector<api::Taint> taints = {{"soft", "", "PreferNoSchedule"}, {"hard", "x", "NoExecute"}};
  EXPECT_EQ(FindUntoleratedTaint(taints, {}, true, false), nullptr);
  const api::Taint* t = FindUntoleratedTaint(taints, {}, true, true);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->key, "hard");
}

TEST(NodeSelectorRequirement, OperatorsAndParseFailures) {
  api::Labels labels = {{"gpus", "8"}, {"zone", "a"}, {"bad", "eight"}};
  auto m = [&](const char* key, const char* op, std::vector<std::string> values) {
    return MatchesRequirement({key, op, values}, labels);
  };
  EXPECT_TRUE(m("zone", "In", {"a", "b"}));
  EXPECT_FALSE(m("zone", "In", {"b"}));
  EXPECT_TRUE(m("missing", "NotIn", {"a"}));  // absent label: NotIn matches
  EXPECT_FALSE(m("zone", "NotIn", {"a"}));
  EXPECT_TRUE(m("zone", "Exists", {}));
  EXPECT_TRUE(m("missing", "DoesNotExist", {}));
  EXPECT_TRUE(m("gpus", "Gt", {"4"}));
  EXPECT_FALSE(m("gpus", "Gt", {"8"}));
  EXPECT_TRUE(m("gpus", "Lt", {"16"}));
  EXPECT_FALSE(m("bad", "Gt", {"1"}));      // label is not an integer
  EXPECT_FALSE(m("gpus", "Gt", {"x"}));     // value is not an integer
  EXPECT_FALSE(m("missing", "Lt", {"1"}));  // absent label
}

TEST(RequiredAffinity, TermsOredExpressionsAndedEmptyTermMatchesNothing) {
  api::Labels labels = {{"zone", "a"}, {"gpu", "a100"}};
  api::PodSpec spec;
  spec.node_affinity = api::NodeAffinity{};
  spec.node_affinity->required = std::vector<api::NodeSelectorTerm>{
      {{{"zone", "In", {"b"}}}, {}}, {{{"zone", "In", {"a"}}, {"gpu", "In", {"a100"}}}, {}}};
  EXPECT_TRUE(MatchesRequiredAffinity(spec, labels, "n1"));
  spec.node_selector["pool"] = "x";  // nodeSelector ANDs with the affinity
  EXPECT_FALSE(MatchesRequiredAffinity(spec, labels, "n1"));
  spec.node_selector.clear();
  spec.node_affinity->required = std::vector<api::NodeSelectorTerm>{{}};
  EXPECT_FALSE(MatchesRequiredAffinity(spec, labels, "n1"));
  spec.node_affinity->required =
      std::vector<api::NodeSelectorTerm>{{{}, {{"metadata.name", "In", {"n1"}}}}};
  EXPECT_TRUE(MatchesRequiredAffinity(spec, labels, "n1"));
  EXPECT_FALSE(MatchesRequiredAffinity(spec, labels, "n2"));
}

}  // namespace
}  // namespace gputwin::cluster
