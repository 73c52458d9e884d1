// NodeResourcesFit's Filter status against upstream's fit.go (fitsRequest): a node without
// room is Unschedulable, so preemption may help, unless some request is more than the
// node's allocatable: then even an empty node could not take the pod, and the status is
// UnschedulableAndUnresolvable (InsufficientResource.Unresolvable, kubernetes v1.34).
#include <gtest/gtest.h>

#include "scheduler/plugins/node_resources_fit.h"
#include "tests/scheduler/plugin_harness.h"

namespace gputwin::scheduler::testing {
namespace {

api::PodSpec Requesting(const std::string& resource, int64_t milli) {
  api::PodSpec spec;
  spec.containers.push_back(api::Container::Named("c", ""));
  spec.containers.back().resources.requests[resource] = Quantity{milli};
  return spec;
}

// The view kube-scheduler's cycle gives the plugin: the node's NodeInfo rows.
NodeView FitView(const PluginHarness& h, NodeId n) {
  NodeView v = h.View(n);
  v.allocatable = {h.info.alloc(n), h.info.stride()};
  v.requested = {h.info.used(n), h.info.stride()};
  return v;
}

std::string Verdict(PluginHarness& h, const NodeResourcesFit& fit, cluster::PodId pod, NodeId n) {
  CycleState state(8);
  const Status s = fit.Filter(state, h.store.pod(pod), FitView(h, n));
  if (s.ok()) return "";
  return (s.code == Code::kUnschedulableAndUnresolvable ? "U&U: " : "U: ") +
         h.reasons.Name(s.reason);
}

TEST(NodeResourcesFit, RequestOverAllocatableIsUnresolvable) {
  PluginHarness h;
  NodeResourcesFit fit(h.handle(), {}, &h.store.resources());
  // Both nodes have 64 CPUs allocatable (the harness's); busy runs a pod of 60.
  const NodeId empty = h.AddNode("empty", {});
  const NodeId busy = h.AddNode("busy", {});
  h.AddPod("sixty", {}, busy, Requesting("cpu", 60'000));

  const auto two = h.AddPod("two", {}, cluster::kNone, Requesting("cpu", 2'000));
  EXPECT_EQ(Verdict(h, fit, two, empty), "");
  // 10 CPUs: 4 free on busy, but 10 ≤ 64: evicting pods could make room.
  const auto ten = h.AddPod("ten", {}, cluster::kNone, Requesting("cpu", 10'000));
  EXPECT_EQ(Verdict(h, fit, ten, empty), "");
  EXPECT_EQ(Verdict(h, fit, ten, busy), "U: Insufficient cpu");
  // 100 CPUs: more than either node has at all.
  const auto hundred = h.AddPod("hundred", {}, cluster::kNone, Requesting("cpu", 100'000));
  EXPECT_EQ(Verdict(h, fit, hundred, empty), "U&U: Insufficient cpu");
  EXPECT_EQ(Verdict(h, fit, hundred, busy), "U&U: Insufficient cpu");
  // An extended resource the node does not have: its allocatable is 0.
  const auto gpu = h.AddPod("gpu", {}, cluster::kNone, Requesting("nvidia.com/gpu", 1'000));
  EXPECT_EQ(Verdict(h, fit, gpu, empty), "U&U: Insufficient nvidia.com/gpu");
}

}  // namespace
}  // namespace gputwin::scheduler::testing
