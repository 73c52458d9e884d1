// PodCounts: the pods each matcher selects per node, as PodTopologySpread and
// InterPodAffinity count them from NodeInfo.Pods upstream. Matchers are found for a new
// template through the label they require (an index); the counts below are worked out by
// hand from the selectors' semantics (metav1.LabelSelector: matchLabels and every
// expression must hold) for each kind of selector the index treats differently.
#include <gtest/gtest.h>

#include "tests/scheduler/plugin_harness.h"

namespace gputwin::scheduler::testing {
namespace {

PodMatcher Matcher(std::vector<api::LabelSelector> selectors,
                   std::vector<std::string> namespaces = {"default"}) {
  PodMatcher m;
  m.any_namespace = namespaces.empty();
  m.namespaces = std::move(namespaces);
  m.selectors = std::move(selectors);
  return m;
}

api::LabelSelector Labels(api::Labels labels) {
  api::LabelSelector s;
  s.match_labels = std::move(labels);
  return s;
}

api::LabelSelector Expression(const std::string& key, const std::string& op,
                              std::vector<std::string> values = {}) {
  api::LabelSelector s;
  s.match_expressions.push_back({key, op, std::move(values)});
  return s;
}

TEST(PodCounts, EachKindOfSelectorCountsThePodsItSelects) {
  PluginHarness h;
  const NodeId n = h.AddNode("node-a", {});
  PodCounts& c = h.counts;
  // Registered before any pod binds: each pod's template is matched through the index.
  const uint32_t web = c.Register(Matcher({Labels({{"app", "web"}})}));
  const uint32_t in_one = c.Register(Matcher({Expression("app", "In", {"web"})}, {}));
  const uint32_t in_two = c.Register(Matcher({Expression("app", "In", {"web", "api"})}));
  const uint32_t tier = c.Register(Matcher({Expression("tier", "Exists")}));
  const uint32_t not_web = c.Register(Matcher({Expression("app", "NotIn", {"web"})}));
  const uint32_t no_tier = c.Register(Matcher({Expression("tier", "DoesNotExist")}));
  const uint32_t every = c.Register(Matcher({api::LabelSelector{}}, {}));
  const uint32_t web_ns1 = c.Register(Matcher({Labels({{"app", "web"}})}, {"ns1"}));
  const uint32_t web_and_tier =
      c.Register(Matcher({Labels({{"app", "web"}}), Expression("tier", "Exists")}));
  PodMatcher nothing;
  nothing.nothing = true;
  const uint32_t none = c.Register(nothing);

  h.AddPod("p1", {{"app", "web"}, {"tier", "fe"}}, n);
  h.AddPod("p2", {{"app", "api"}}, n);
  h.AddPod("p3", {{"app", "db"}, {"tier", "be"}}, n);
  h.AddPod("p4", {{"app", "web"}}, n, {}, "ns1");

  EXPECT_EQ(c.Count(web, n), 1);           // p1 (p4 is in ns1)
  EXPECT_EQ(c.Count(in_one, n), 2);        // p1, p4: any namespace
  EXPECT_EQ(c.Count(in_two, n), 2);        // p1, p2
  EXPECT_EQ(c.Count(tier, n), 2);          // p1, p3
  EXPECT_EQ(c.Count(not_web, n), 2);       // p2, p3
  EXPECT_EQ(c.Count(no_tier, n), 1);       // p2
  EXPECT_EQ(c.Count(every, n), 4);         // an empty selector selects every pod
  EXPECT_EQ(c.Count(web_ns1, n), 1);       // p4
  EXPECT_EQ(c.Count(web_and_tier, n), 1);  // p1: both selectors hold
  EXPECT_EQ(c.Count(none, n), 0);
}

TEST(PodCounts, MatcherRegisteredLaterCountsBoundPodsAndLaterPodsOfTheirTemplate) {
  PluginHarness h;
  const NodeId n = h.AddNode("node-a", {});
  PodCounts& c = h.counts;
  const uint32_t web = c.Register(Matcher({Labels({{"app", "web"}})}));
  const cluster::PodId p1 = h.AddPod("p1", {{"app", "web"}}, n);
  // A matcher made after p1's template was matched: it counts p1 when registered...
  const uint32_t app = c.Register(Matcher({Expression("app", "Exists")}));
  EXPECT_EQ(c.Count(app, n), 1);
  // ...and a second pod of the same template, bound afterwards, through the template's
  // matchers known so far plus the new one.
  cluster::PodRecord rec;
  rec.namespace_ = "default";
  rec.name = "p1-again";
  rec.tmpl = h.store.pod(p1).tmpl;
  std::string error;
  const cluster::PodId again = h.store.CreatePod(std::move(rec), &error);
  ASSERT_NE(again, cluster::kNone) << error;
  h.store.BindPod(again, n);
  c.Update(h.store.pod(again), n, +1);
  EXPECT_EQ(c.Count(web, n), 2);
  EXPECT_EQ(c.Count(app, n), 2);
  c.Update(h.store.pod(again), n, -1);
  EXPECT_EQ(c.Count(web, n), 1);
  EXPECT_EQ(c.Count(app, n), 1);
}

}  // namespace
}  // namespace gputwin::scheduler::testing
