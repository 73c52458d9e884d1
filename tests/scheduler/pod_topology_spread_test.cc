// PodTopologySpread against the cases of upstream's filtering_test.go and scoring_test.go
// (pkg/scheduler/framework/plugins/podtopologyspread), restated: the same nodes, pods and
// constraints, the expected feasible nodes and normalised scores derived by hand there.
#include <gtest/gtest.h>

#include "scheduler/plugins/pod_topology_spread.h"
#include "tests/scheduler/plugin_harness.h"

namespace gputwin::scheduler::testing {
namespace {

const char* const kSkew = "node(s) didn't match pod topology spread constraints";
const char* const kMissing =
    "U&U: node(s) didn't match pod topology spread constraints (missing required label)";

api::LabelSelector FooExists() {
  api::LabelSelector s;
  s.match_expressions.push_back({"foo", "Exists", {}});
  return s;
}

api::TopologySpreadConstraint Tsc(const std::string& key, int32_t skew, bool hard = true) {
  api::TopologySpreadConstraint c;
  c.topology_key = key;
  c.max_skew = skew;
  c.when_unsatisfiable = hard ? "DoNotSchedule" : "ScheduleAnyway";
  c.label_selector = FooExists();
  return c;
}

api::PodSpec WithConstraints(std::vector<api::TopologySpreadConstraint> cs) {
  api::PodSpec spec;
  spec.topology_spread_constraints = std::move(cs);
  return spec;
}

struct SpreadFixture {
  PluginHarness h;
  PodTopologySpread plugin{h.handle(), PodTopologySpreadArgs{}};
  void Pods(NodeId n, int count, const std::string& prefix) {
    for (int i = 0; i < count; ++i) h.AddPod(prefix + std::to_string(i), {{"foo", ""}}, n);
  }
};

// "pods spread across nodes as 2/1/0/3, only node-x fits" and its variants.
TEST(PodTopologySpreadFilter, MaxSkewOnAPerNodeKey) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"zone", "zone1"}, {"node", "node-a"}});
  auto b = f.h.AddNode("node-b", {{"zone", "zone1"}, {"node", "node-b"}});
  f.h.AddNode("node-x", {{"zone", "zone2"}, {"node", "node-x"}});
  auto y = f.h.AddNode("node-y", {{"zone", "zone2"}, {"node", "node-y"}});
  f.Pods(a, 2, "a");
  f.Pods(b, 1, "b");
  f.Pods(y, 3, "y");
  auto p1 = f.h.AddPod("p1", {{"foo", ""}}, cluster::kNone, WithConstraints({Tsc("node", 1)}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, p1),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", kSkew}, {"node-x", ""}, {"node-y", kSkew}}));
  auto p2 = f.h.AddPod("p2", {{"foo", ""}}, cluster::kNone, WithConstraints({Tsc("node", 2)}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, p2),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", ""}, {"node-x", ""}, {"node-y", kSkew}}));
  // The incoming pod does not match its own selector: selfMatch 0.
  auto p3 = f.h.AddPod("p3", {{"bar", ""}}, cluster::kNone, WithConstraints({Tsc("node", 1)}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, p3),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", ""}, {"node-x", ""}, {"node-y", kSkew}}));
}

// "pods spread across zones as 1/2 due to absence of label 'zone' on node-b".
TEST(PodTopologySpreadFilter, NodeWithoutTheKeyIsUnresolvableAndUncounted) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"zone", "zone1"}, {"node", "node-a"}});
  auto b = f.h.AddNode("node-b", {{"zon", "zone1"}, {"node", "node-b"}});
  auto x = f.h.AddNode("node-x", {{"zone", "zone2"}, {"node", "node-x"}});
  auto y = f.h.AddNode("node-y", {{"zone", "zone2"}, {"node", "node-y"}});
  f.Pods(a, 1, "a");
  f.Pods(b, 2, "b");
  f.Pods(x, 1, "x");
  f.Pods(y, 1, "y");
  auto p = f.h.AddPod("p", {{"foo", ""}}, cluster::kNone, WithConstraints({Tsc("zone", 1)}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, p),
            (std::map<std::string, std::string>{
                {"node-a", ""}, {"node-b", kMissing}, {"node-x", kSkew}, {"node-y", kSkew}}));
}

// "pods spread across nodes as 2/2/1, maxSkew 2, minDomains 4 / 2".
TEST(PodTopologySpreadFilter, MinDomainsTreatsTheMinimumAsZero) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"node", "node-a"}});
  auto b = f.h.AddNode("node-b", {{"node", "node-b"}});
  auto c = f.h.AddNode("node-c", {{"node", "node-c"}});
  f.Pods(a, 2, "a");
  f.Pods(b, 2, "b");
  f.Pods(c, 1, "c");
  auto tsc = Tsc("node", 2);
  tsc.min_domains = 4;  // 3 domains < 4: the global minimum is 0
  auto p4 = f.h.AddPod("p4", {{"foo", ""}}, cluster::kNone, WithConstraints({tsc}));
  EXPECT_EQ(
      FilterAll(f.h, f.plugin, p4),
      (std::map<std::string, std::string>{{"node-a", kSkew}, {"node-b", kSkew}, {"node-c", ""}}));
  tsc.min_domains = 2;  // the minimum is 1
  auto p2 = f.h.AddPod("p2", {{"foo", ""}}, cluster::kNone, WithConstraints({tsc}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, p2),
            (std::map<std::string, std::string>{{"node-a", ""}, {"node-b", ""}, {"node-c", ""}}));
}

// "NodeAffinityPolicy honored/ignored with labelSelectors" and the NodeTaintsPolicy twin.
TEST(PodTopologySpreadFilter, NodeInclusionPolicies) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"node", "node-a"}, {"foo", ""}});
  auto b = f.h.AddNode("node-b", {{"node", "node-b"}, {"foo", ""}});
  f.h.AddNode("node-x", {{"node", "node-x"}, {"foo", ""}});
  auto y = f.h.AddNode("node-y", {{"node", "node-y"}},
                       {{"node.kubernetes.io/unschedulable", "", "NoSchedule"}});
  f.Pods(a, 1, "a");
  f.Pods(b, 1, "b");
  f.Pods(y, 1, "y");
  // Honor (default): node-y does not match the pod's nodeSelector and is not counted, so
  // it passes this filter (NodeAffinity rejects it in a real cycle).
  auto honor = WithConstraints({Tsc("node", 1)});
  honor.node_selector = {{"foo", ""}};
  auto p1 = f.h.AddPod("p1", {{"foo", ""}}, cluster::kNone, honor);
  EXPECT_EQ(FilterAll(f.h, f.plugin, p1),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", kSkew}, {"node-x", ""}, {"node-y", ""}}));
  auto ignore = honor;
  ignore.topology_spread_constraints[0].node_affinity_policy = "Ignore";
  auto p2 = f.h.AddPod("p2", {{"foo", ""}}, cluster::kNone, ignore);
  EXPECT_EQ(FilterAll(f.h, f.plugin, p2),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", kSkew}, {"node-x", ""}, {"node-y", kSkew}}));
  // NodeTaintsPolicy: Honor leaves the tainted node-y out; the default, Ignore, counts it.
  auto taints = WithConstraints({Tsc("node", 1)});
  taints.topology_spread_constraints[0].node_taints_policy = "Honor";
  auto p3 = f.h.AddPod("p3", {{"foo", ""}}, cluster::kNone, taints);
  EXPECT_EQ(FilterAll(f.h, f.plugin, p3),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", kSkew}, {"node-x", ""}, {"node-y", ""}}));
  auto p4 = f.h.AddPod("p4", {{"foo", ""}}, cluster::kNone, WithConstraints({Tsc("node", 1)}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, p4),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", kSkew}, {"node-x", ""}, {"node-y", kSkew}}));
}

// TestMultipleConstraints "spreads = [3/3, 2/1/0/3]" and "[3/4, 2/1/0/4]".
TEST(PodTopologySpreadFilter, TwoConstraintsIntersect) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"zone", "zone1"}, {"node", "node-a"}});
  auto b = f.h.AddNode("node-b", {{"zone", "zone1"}, {"node", "node-b"}});
  f.h.AddNode("node-x", {{"zone", "zone2"}, {"node", "node-x"}});
  auto y = f.h.AddNode("node-y", {{"zone", "zone2"}, {"node", "node-y"}});
  f.Pods(a, 2, "a");
  f.Pods(b, 1, "b");
  f.Pods(y, 3, "y");
  auto spec = WithConstraints({Tsc("zone", 1), Tsc("node", 1)});
  auto p1 = f.h.AddPod("p1", {{"foo", ""}}, cluster::kNone, spec);
  EXPECT_EQ(FilterAll(f.h, f.plugin, p1),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", kSkew}, {"node-x", ""}, {"node-y", kSkew}}));
  f.Pods(y, 1, "y-more");
  auto p2 = f.h.AddPod("p2", {{"foo", ""}}, cluster::kNone, spec);
  EXPECT_EQ(FilterAll(f.h, f.plugin, p2),
            (std::map<std::string, std::string>{
                {"node-a", kSkew}, {"node-b", kSkew}, {"node-x", kSkew}, {"node-y", kSkew}}));
}

// TestPodTopologySpreadScore "one constraint on node, all 4 nodes are candidates":
// raw 4/2/0/5 (counts × ln 6, rounded) normalise to 100·(max+min−s)/max.
TEST(PodTopologySpreadScore, NormalisesAsUpstream) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {});
  auto b = f.h.AddNode("node-b", {});
  auto c = f.h.AddNode("node-c", {});
  auto d = f.h.AddNode("node-d", {});
  f.Pods(a, 2, "a");
  f.Pods(b, 1, "b");
  f.Pods(d, 3, "d");
  auto p1 = f.h.AddPod("p1", {{"foo", ""}}, cluster::kNone,
                       WithConstraints({Tsc("kubernetes.io/hostname", 1, false)}));
  EXPECT_EQ(ScoreAll(f.h, f.plugin, p1, {a, b, c, d}),
            (std::map<std::string, int64_t>{
                {"node-a", 20}, {"node-b", 60}, {"node-c", 100}, {"node-d", 0}}));
  // maxSkew 2 adds 1 before rounding: raw 5/3/1/6.
  auto p2 = f.h.AddPod("p2", {{"foo", ""}}, cluster::kNone,
                       WithConstraints({Tsc("kubernetes.io/hostname", 2, false)}));
  EXPECT_EQ(ScoreAll(f.h, f.plugin, p2, {a, b, c, d}),
            (std::map<std::string, int64_t>{
                {"node-a", 33}, {"node-b", 66}, {"node-c", 100}, {"node-d", 16}}));
}

// "3 out of 4 nodes are candidates, one node doesn't match topology key" (with a per-node
// key: the twin's nodes always carry kubernetes.io/hostname).
TEST(PodTopologySpreadScore, NodeWithoutTheKeyScoresZero) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"node", "node-a"}});
  auto b = f.h.AddNode("node-b", {{"n", "node-b"}});
  auto x = f.h.AddNode("node-x", {{"node", "node-x"}});
  auto y = f.h.AddNode("node-y", {{"node", "node-y"}});
  f.Pods(a, 4, "a");
  f.Pods(b, 2, "b");
  f.Pods(x, 1, "x");
  f.Pods(y, 3, "y");
  auto p = f.h.AddPod("p", {{"foo", ""}}, cluster::kNone, WithConstraints({Tsc("node", 1, false)}));
  EXPECT_EQ(ScoreAll(f.h, f.plugin, p, {a, b, x}),
            (std::map<std::string, int64_t>{{"node-a", 16}, {"node-b", 0}, {"node-x", 100}}));
}

// "one constraint on zone, 3 out of 4 nodes are candidates": the infeasible node-y's pods
// count for its zone.
TEST(PodTopologySpreadScore, ZoneCountsIncludeInfeasibleNodes) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"zone", "zone1"}});
  auto b = f.h.AddNode("node-b", {{"zone", "zone1"}});
  auto x = f.h.AddNode("node-x", {{"zone", "zone2"}});
  auto y = f.h.AddNode("node-y", {{"zone", "zone2"}});
  f.Pods(a, 4, "a");
  f.Pods(b, 2, "b");
  f.Pods(x, 1, "x");
  f.Pods(y, 3, "y");
  auto p = f.h.AddPod("p", {{"foo", ""}}, cluster::kNone, WithConstraints({Tsc("zone", 1, false)}));
  EXPECT_EQ(ScoreAll(f.h, f.plugin, p, {a, b, x}),
            (std::map<std::string, int64_t>{{"node-a", 75}, {"node-b", 75}, {"node-x", 100}}));
}

// "system defaulting, nodes don't have zone, pods match service": the soft hostname
// (maxSkew 3) and zone (maxSkew 5) defaults with the owner's selector; no node is ignored
// for lacking a zone. The twin takes the selector from the owning ReplicaSet.
TEST(PodTopologySpreadScore, SystemDefaultsSpreadAReplicaSetsPods) {
  SpreadFixture f;
  api::ReplicaSet rs;
  rs.metadata.name = "rs";
  rs.metadata.namespace_ = "default";
  rs.selector = FooExists();
  rs.template_.spec.containers.push_back(api::Container::Named("c", ""));
  uint32_t rs_id = f.h.store.AddReplicaSet(rs, cluster::kNone);
  auto a = f.h.AddNode("node-a", {});
  auto b = f.h.AddNode("node-b", {});
  auto c = f.h.AddNode("node-c", {});
  auto d = f.h.AddNode("node-d", {});
  f.Pods(a, 4, "a");
  f.Pods(b, 3, "b");
  f.Pods(c, 2, "c");
  f.Pods(d, 1, "d");
  auto p = f.h.AddPod("p", {{"foo", ""}}, cluster::kNone, {}, "default",
                      cluster::Owner{cluster::OwnerKind::kReplicaSet, rs_id});
  EXPECT_EQ(ScoreAll(f.h, f.plugin, p, {a, b, c, d}),
            (std::map<std::string, int64_t>{
                {"node-a", 44}, {"node-b", 66}, {"node-c", 77}, {"node-d", 100}}));
  // A pod no ReplicaSet owns gets no default spreading.
  auto bare = f.h.AddPod("bare", {{"foo", ""}}, cluster::kNone);
  EXPECT_EQ(f.plugin.ScoreScope(f.h.store.pod(bare)), Scope::kSkip);
}

// countPodsMatchSelector counts nothing for an empty selector ({}), though the pod
// matches it itself (selfMatch 1): the constraint never rejects a node.
TEST(PodTopologySpreadFilter, EmptySelectorCountsNoPods) {
  SpreadFixture f;
  auto a = f.h.AddNode("node-a", {{"node", "node-a"}});
  f.h.AddNode("node-b", {{"node", "node-b"}});
  f.Pods(a, 3, "a");
  auto tsc = Tsc("node", 1);
  tsc.label_selector = api::LabelSelector{};
  auto p = f.h.AddPod("p", {{"foo", ""}}, cluster::kNone, WithConstraints({tsc}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, p),
            (std::map<std::string, std::string>{{"node-a", ""}, {"node-b", ""}}));
}

}  // namespace
}  // namespace gputwin::scheduler::testing
