// InterPodAffinity against the cases of upstream's filtering_test.go and scoring_test.go
// (pkg/scheduler/framework/plugins/interpodaffinity), restated.
#include <gtest/gtest.h>

#include "scheduler/plugins/inter_pod_affinity.h"
#include "tests/scheduler/plugin_harness.h"

namespace gputwin::scheduler::testing {
namespace {

const char* const kAffinity = "U&U: node(s) didn't match pod affinity rules";
const char* const kAnti = "node(s) didn't match pod anti-affinity rules";
const char* const kExisting = "node(s) didn't satisfy existing pods anti-affinity rules";

api::PodAffinityTerm Term(const std::string& key, const std::string& op,
                          std::vector<std::string> values, const std::string& topology) {
  api::PodAffinityTerm t;
  api::LabelSelector s;
  s.match_expressions.push_back({key, op, std::move(values)});
  t.label_selector = s;
  t.topology_key = topology;
  return t;
}

api::PodSpec Affinity(std::vector<api::PodAffinityTerm> required,
                      std::vector<api::PodAffinityTerm> anti = {}) {
  api::PodSpec spec;
  if (!required.empty()) spec.pod_affinity = api::PodAffinity{std::move(required), {}};
  if (!anti.empty()) spec.pod_anti_affinity = api::PodAffinity{std::move(anti), {}};
  return spec;
}

struct AffinityFixture {
  PluginHarness h;
  InterPodAffinity plugin{h.handle(), InterPodAffinityArgs{}};
};

// "Affinity with a region topology key: node2 is in the same region as the matching pod".
TEST(InterPodAffinityFilter, RequiredAffinityPerDomain) {
  AffinityFixture f;
  auto n1 = f.h.AddNode("node1", {{"region", "China"}});
  f.h.AddNode("node2", {{"region", "China"}, {"az", "az1"}});
  f.h.AddNode("node3", {{"region", "India"}});
  f.h.AddPod("p1", {{"foo", "bar"}}, n1);
  auto pod = f.h.AddPod("p", {}, cluster::kNone, Affinity({Term("foo", "In", {"bar"}, "region")}));
  EXPECT_EQ(
      FilterAll(f.h, f.plugin, pod),
      (std::map<std::string, std::string>{{"node1", ""}, {"node2", ""}, {"node3", kAffinity}}));
}

// "The first pod of a group": no pod matches both terms anywhere, and the pod matches
// them itself; every node carrying the key passes, none without it does.
TEST(InterPodAffinityFilter, FirstPodOfASelfAffineGroup) {
  AffinityFixture f;
  auto a = f.h.AddNode("nodeA", {{"zone", "az1"}});
  f.h.AddNode("nodeB", {{"zone", "az2"}});
  f.h.AddPod("p1", {{"foo", "bar"}}, a);
  auto spec = Affinity(
      {Term("foo", "In", {"bar"}, "zone"), Term("service", "In", {"securityscan"}, "zone")});
  auto pod = f.h.AddPod("p", {{"foo", "bar"}, {"service", "securityscan"}}, cluster::kNone, spec);
  EXPECT_EQ(FilterAll(f.h, f.plugin, pod),
            (std::map<std::string, std::string>{{"nodeA", ""}, {"nodeB", ""}}));

  AffinityFixture g;
  auto c = g.h.AddNode("nodeA", {{"zoneLabel", "az1"}});
  g.h.AddNode("nodeB", {{"zoneLabel", "az2"}});
  g.h.AddPod("p1", {{"foo", "bar"}}, c);
  auto pod2 = g.h.AddPod("p", {{"foo", "bar"}, {"service", "securityscan"}}, cluster::kNone, spec);
  EXPECT_EQ(FilterAll(g.h, g.plugin, pod2),
            (std::map<std::string, std::string>{{"nodeA", kAffinity}, {"nodeB", kAffinity}}));
}

// Anti-affinity against a pod in the region; an existing pod's anti-affinity term in
// another namespace does not apply (its namespaces default to its own).
TEST(InterPodAffinityFilter, AntiAffinityAndTermNamespaces) {
  AffinityFixture f;
  f.h.store.AddNamespace("NS1");
  f.h.store.AddNamespace("NS2");
  auto a = f.h.AddNode("nodeA", {{"region", "China"}});
  f.h.AddNode("nodeB", {{"region", "China"}, {"az", "az1"}});
  auto c = f.h.AddNode("nodeC", {{"region", "India"}});
  f.h.AddPod("e1", {{"foo", "bar"}}, a, {}, "NS1");
  f.h.AddPod("e2", {}, c, Affinity({}, {Term("foo", "In", {"123"}, "region")}), "NS2");
  auto pod = f.h.AddPod("p", {{"foo", "123"}}, cluster::kNone,
                        Affinity({}, {Term("foo", "In", {"bar"}, "region")}), "NS1");
  EXPECT_EQ(FilterAll(f.h, f.plugin, pod), (std::map<std::string, std::string>{
                                               {"nodeA", kAnti}, {"nodeB", kAnti}, {"nodeC", ""}}));
}

// Symmetry: the existing pod's required anti-affinity rejects the incoming pod in its zone,
// whatever the incoming pod's own terms say (its anti term on a key the node lacks does
// not apply).
TEST(InterPodAffinityFilter, ExistingPodsAntiAffinity) {
  AffinityFixture f;
  auto n1 = f.h.AddNode("node1", {{"region", "r1"}, {"zone", "z11"}});
  f.h.AddPod("e", {{"service", "securityscan"}}, n1,
             Affinity({}, {Term("service", "In", {"securityscan", "value2"}, "zone")}));
  auto pod = f.h.AddPod("p", {{"service", "securityscan"}}, cluster::kNone,
                        Affinity({Term("service", "In", {"securityscan", "value2"}, "region")},
                                 {Term("service", "In", {"antivirusscan", "value2"}, "node")}));
  EXPECT_EQ(FilterAll(f.h, f.plugin, pod),
            (std::map<std::string, std::string>{{"node1", kExisting}}));
  auto plain = f.h.AddPod("plain", {{"service", "securityscan"}}, cluster::kNone);
  EXPECT_EQ(FilterAll(f.h, f.plugin, plain),
            (std::map<std::string, std::string>{{"node1", kExisting}}));
}

// An existing anti-affinity term whose key no node has counts nothing: PreFilter skips.
TEST(InterPodAffinityFilter, ExistingTermWithAnAbsentKey) {
  AffinityFixture f;
  auto a = f.h.AddNode("nodeA", {{"zone", "az1"}});
  f.h.AddNode("nodeB", {{"zone", "az2"}});
  f.h.AddPod("e", {}, a, Affinity({}, {Term("foo", "Exists", {}, "invalid-node-label")}));
  auto pod = f.h.AddPod("p", {{"foo", ""}}, cluster::kNone);
  CycleState state(8);
  EXPECT_EQ(f.plugin.PreFilter(state, f.h.store.pod(pod)), Code::kSkip);
}

// namespaceSelector: the namespaces whose labels it matches; {} matches every namespace.
TEST(InterPodAffinityFilter, NamespaceSelector) {
  AffinityFixture f;
  f.h.store.AddNamespace("subteam1.team1", {{"team", "team1"}});
  f.h.store.AddNamespace("subteam2.team1", {{"team", "team1"}});
  f.h.store.AddNamespace("subteam1.team2", {{"team", "team2"}});
  auto n = f.h.AddNode("node1", {{"zone", "z1"}});
  f.h.AddPod("e1", {{"service", "securityscan"}}, n, {}, "subteam2.team1");
  auto term = Term("service", "In", {"securityscan"}, "zone");
  api::LabelSelector team1;
  team1.match_expressions.push_back({"team", "In", {"team1"}});
  term.namespace_selector = team1;
  auto p1 = f.h.AddPod("p1", {}, cluster::kNone, Affinity({}, {term}), "subteam1.team1");
  EXPECT_EQ(FilterAll(f.h, f.plugin, p1), (std::map<std::string, std::string>{{"node1", kAnti}}));

  AffinityFixture g;
  g.h.store.AddNamespace("subteam1.team1", {{"team", "team1"}});
  g.h.store.AddNamespace("subteam1.team2", {{"team", "team2"}});
  auto m = g.h.AddNode("node1", {{"zone", "z1"}});
  g.h.AddPod("e1", {{"service", "securityscan"}}, m, {}, "subteam1.team2");
  auto p2 = g.h.AddPod("p2", {}, cluster::kNone, Affinity({}, {term}), "subteam1.team1");
  EXPECT_EQ(FilterAll(g.h, g.plugin, p2), (std::map<std::string, std::string>{{"node1", ""}}));
  auto all = term;
  all.namespace_selector = api::LabelSelector{};
  auto p3 = g.h.AddPod("p3", {}, cluster::kNone, Affinity({}, {all}), "subteam1.team1");
  EXPECT_EQ(FilterAll(g.h, g.plugin, p3), (std::map<std::string, std::string>{{"node1", kAnti}}));
}

api::PodSpec Preferred(std::vector<api::WeightedPodAffinityTerm> affinity,
                       std::vector<api::WeightedPodAffinityTerm> anti = {}) {
  api::PodSpec spec;
  if (!affinity.empty()) spec.pod_affinity = api::PodAffinity{{}, std::move(affinity)};
  if (!anti.empty()) spec.pod_anti_affinity = api::PodAffinity{{}, std::move(anti)};
  return spec;
}

// Preferred affinity weight 6 to security=S2 by region: China 4 pods (24), India 2 (12).
TEST(InterPodAffinityScore, PreferredAffinityNormalisedByMinAndMax) {
  AffinityFixture f;
  std::vector<NodeId> nodes;
  const char* regions[] = {"China", "India", "China", "China", "India"};
  for (int i = 0; i < 5; ++i) {
    nodes.push_back(f.h.AddNode("node" + std::to_string(i + 1), {{"region", regions[i]}}));
  }
  f.h.AddPod("s1", {{"security", "S2"}}, nodes[0]);
  f.h.AddPod("s2", {{"security", "S2"}}, nodes[0]);
  f.h.AddPod("s3", {{"security", "S2"}}, nodes[2]);
  f.h.AddPod("s4", {{"security", "S2"}}, nodes[3]);
  f.h.AddPod("s5", {{"security", "S2"}}, nodes[1]);
  f.h.AddPod("s6", {{"security", "S2"}}, nodes[4]);
  auto pod = f.h.AddPod("p", {}, cluster::kNone,
                        Preferred({{6, Term("security", "In", {"S2"}, "region")}}));
  EXPECT_EQ(ScoreAll(f.h, f.plugin, pod, nodes),
            (std::map<std::string, int64_t>{
                {"node1", 100}, {"node2", 0}, {"node3", 100}, {"node4", 100}, {"node5", 0}}));
}

// Two weighted terms (8 and 2); a node without the region key scores 0 raw.
TEST(InterPodAffinityScore, WeightsAddAcrossTerms) {
  AffinityFixture f;
  auto n1 = f.h.AddNode("node1", {{"region", "China"}});
  auto n2 = f.h.AddNode("node2", {{"region", "India"}});
  auto n3 = f.h.AddNode("node3", {{"az", "az1"}});
  f.h.AddPod("a", {{"security", "S1"}}, n1);
  f.h.AddPod("b", {{"security", "S2"}}, n2);
  f.h.AddPod("c", {{"security", "S1"}}, n3);
  api::PodAffinityTerm t8 = Term("security", "NotIn", {"S1"}, "region");
  t8.label_selector->match_expressions.push_back({"security", "In", {"S2"}});
  api::PodAffinityTerm t2 = Term("security", "Exists", {}, "region");
  t2.label_selector->match_expressions.push_back({"wrongkey", "DoesNotExist", {}});
  auto pod = f.h.AddPod("p", {}, cluster::kNone, Preferred({{8, t8}, {2, t2}}));
  EXPECT_EQ(ScoreAll(f.h, f.plugin, pod, {n1, n2, n3}),
            (std::map<std::string, int64_t>{{"node1", 20}, {"node2", 100}, {"node3", 0}}));
}

// Preferred anti-affinity (weight 5) subtracts: raw −10 and 0 normalise to 0 and 100.
TEST(InterPodAffinityScore, PreferredAntiAffinitySubtracts) {
  AffinityFixture f;
  auto n1 = f.h.AddNode("node1", {{"az", "az1"}});
  auto n2 = f.h.AddNode("node2", {{"region", "India"}});
  f.h.AddPod("a", {{"security", "S1"}}, n1);
  f.h.AddPod("b", {{"security", "S1"}}, n1);
  f.h.AddPod("c", {{"security", "S2"}}, n2);
  auto pod = f.h.AddPod("p", {}, cluster::kNone,
                        Preferred({}, {{5, Term("security", "In", {"S1"}, "az")}}));
  EXPECT_EQ(ScoreAll(f.h, f.plugin, pod, {n1, n2}),
            (std::map<std::string, int64_t>{{"node1", 0}, {"node2", 100}}));
}

// Existing pods' required affinity terms that match the incoming pod score at
// hardPodAffinityWeight (1) per term.
TEST(InterPodAffinityScore, HardAffinityOfExistingPodsIsSymmetric) {
  AffinityFixture f;
  auto n1 = f.h.AddNode("node1", {{"region", "China"}});
  auto n2 = f.h.AddNode("node2", {{"region", "India"}});
  auto n3 = f.h.AddNode("node3", {{"az", "az1"}});
  api::PodAffinityTerm t1 = Term("security", "In", {"S1", "value2"}, "region");
  api::PodAffinityTerm t2 = Term("security", "Exists", {}, "region");
  t2.label_selector->match_expressions.push_back({"wrongkey", "DoesNotExist", {}});
  f.h.AddPod("a", {{"security", "S1"}}, n1, Affinity({t1, t2}));
  f.h.AddPod("b", {{"security", "S2"}}, n2, Affinity({t1, t2}));
  auto pod = f.h.AddPod("p", {{"security", "S1"}}, cluster::kNone);
  EXPECT_EQ(ScoreAll(f.h, f.plugin, pod, {n1, n2, n3}),
            (std::map<std::string, int64_t>{{"node1", 100}, {"node2", 100}, {"node3", 0}}));
}

}  // namespace
}  // namespace gputwin::scheduler::testing
