// The invariant checker finds a broken store: node accounting off (in total or by priority),
// a pod listed on a node it does not run on, the clock going back. (That it stays quiet on correct
// runs is checked by every scenario test, which runs with it on.)
#include "sim/invariants.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gputwin::sim {
namespace {

using ::testing::HasSubstr;

struct Fixture {
  cluster::Store store;
  cluster::NodeId node = 0;
  cluster::PodId pod = 0;
  Fixture() {
    api::Node n;
    n.metadata.name = "n1";
    n.allocatable["cpu"] = Quantity{4000};
    n.allocatable["pods"] = Quantity{110'000};
    node = store.AddNode(n);
    api::PodSpec spec;
    api::Container c;
    c.name = "c";
    c.resources.requests["cpu"] = Quantity{1000};
    spec.containers.push_back(c);
    cluster::PodRecord rec;
    rec.namespace_ = "default";
    rec.name = "p";
    rec.tmpl = store.MakeTemplate(api::ObjectMeta{}, spec, "default");
    std::string err;
    pod = store.CreatePod(std::move(rec), &err);
    store.BindPod(pod, node);
  }
};

std::string Violation(InvariantChecker& c, Time at) {
  try {
    c.Check(at);
  } catch (const InvariantViolation& e) {
    return e.what();
  }
  return "";
}

TEST(Invariants, HoldOnAConsistentStore) {
  Fixture f;
  InvariantChecker c(f.store);
  EXPECT_EQ(Violation(c, Time{0}), "");
  EXPECT_EQ(c.checks(), 1u);
}

TEST(Invariants, NodeAccountingThatDisagreesWithItsPods) {
  Fixture f;
  f.store.node(f.node).requested[cluster::kCpu] += 500;  // a double charge
  InvariantChecker c(f.store);
  EXPECT_THAT(Violation(c, Time{0}),
              HasSubstr("node n1 has 1500 of cpu requested, its pods ask 1000"));
}

TEST(Invariants, PreemptionSumsThatDisagreeWithThePods) {
  Fixture f;
  f.store.node(f.node).by_priority.front().requests[cluster::kCpu] += 500;  // a missed release
  InvariantChecker c(f.store);
  EXPECT_THAT(Violation(c, Time{0}), HasSubstr("node n1's requests by priority differ"));
}

TEST(Invariants, APodListedOnANodeItDoesNotRunOn) {
  Fixture f;
  f.store.pod(f.pod).node = cluster::kNone;  // unbound, still listed
  InvariantChecker c(f.store);
  EXPECT_THAT(Violation(c, Time{0}), HasSubstr("node n1 lists pod p, which does not run there"));
}

TEST(Invariants, TheClockGoingBack) {
  Fixture f;
  InvariantChecker c(f.store);
  EXPECT_EQ(Violation(c, Time{2'000'000'000}), "");
  EXPECT_THAT(Violation(c, Time{1'000'000'000}), HasSubstr("the clock went back"));
}

}  // namespace
}  // namespace gputwin::sim
