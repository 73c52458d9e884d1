// A small cluster for testing one scheduler plugin on its own, as upstream's plugin tests
// do with a snapshot: nodes with labels and taints, pods bound to them, and the handle the
// plugin reads (the store, the scheduler cache's NodeInfo, pod counts, topology values).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/store.h"
#include "scheduler/framework.h"
#include "scheduler/node_groups.h"
#include "scheduler/node_info.h"
#include "scheduler/pod_counts.h"
#include "scheduler/topology_values.h"

namespace gputwin::scheduler::testing {

class PluginHarness {
 public:
  PluginHarness() { store.AddNamespace("ns1"); }

  Handle handle() {
    return Handle{&store, &info, &groups, &reasons, &nodes, &positions, &counts, &topology};
  }

  NodeId AddNode(const std::string& name, const api::Labels& labels,
                 std::vector<api::Taint> taints = {},
                 std::vector<api::ContainerImage> images = {}) {
    api::Node n;
    n.metadata.name = name;
    n.metadata.labels = labels;
    n.taints = std::move(taints);
    n.images = std::move(images);
    n.allocatable["cpu"] = Quantity{64'000};
    n.allocatable["memory"] = Quantity{int64_t{256} * 1024 * 1024 * 1024 * 1000};
    n.allocatable["pods"] = Quantity{110'000};
    NodeId id = store.AddNode(n);
    info.Sync(store, id);
    groups.Assign(store, id);
    nodes.push_back(id);
    if (positions.size() <= id) positions.resize(id + 1, -1);
    positions[id] = static_cast<int32_t>(nodes.size() - 1);
    return id;
  }

  // A pod (not scheduled when `node` is kNone) with its labels and spec.
  cluster::PodId AddPod(const std::string& name, const api::Labels& labels, NodeId node,
                        api::PodSpec spec = {}, const std::string& ns = "default",
                        cluster::Owner owner = {}) {
    api::ObjectMeta meta;
    meta.name = name;
    meta.namespace_ = ns;
    meta.labels = labels;
    if (spec.containers.empty()) spec.containers.push_back(api::Container::Named("c", ""));
    cluster::PodRecord rec;
    rec.namespace_ = ns;
    rec.name = name;
    rec.tmpl = store.MakeTemplate(meta, spec, ns);
    rec.owner = owner;
    std::string error;
    cluster::PodId id = store.CreatePod(std::move(rec), &error);
    if (node != cluster::kNone) {
      store.BindPod(id, node);
      counts.Update(store.pod(id), node, +1);
      info.Sync(store, node);
    }
    return id;
  }

  NodeView View(NodeId n) const { return NodeView::Of(n, store.node(n)); }

  cluster::Store store;
  NodeInfoCache info;
  NodeGroups groups;
  ReasonTable reasons;
  std::vector<NodeId> nodes;
  std::vector<int32_t> positions;  // NodeId → index in nodes
  PodCounts counts{&store};
  TopologyValues topology{&store};
};

// Runs PreFilter and Filter on every node: node name → "" when it passes, else the
// reason ("U&U: " prefix when UnschedulableAndUnresolvable).
template <typename P>
std::map<std::string, std::string> FilterAll(PluginHarness& h, P& plugin, cluster::PodId pod) {
  const auto& p = h.store.pod(pod);
  CycleState state(8);
  std::map<std::string, std::string> out;
  bool skipped = plugin.PreFilter(state, p) == Code::kSkip;
  for (NodeId n : h.nodes) {
    Status s = skipped ? Status{} : plugin.Filter(state, p, h.View(n));
    std::string v;
    if (!s.ok()) {
      v = (s.code == Code::kUnschedulableAndUnresolvable ? "U&U: " : "") + h.reasons.Name(s.reason);
    }
    out[h.store.node(n).name()] = v;
  }
  return out;
}

// PreScore, Score and NormalizeScore over `feasible`: node name → normalised score.
template <typename P>
std::map<std::string, int64_t> ScoreAll(PluginHarness& h, P& plugin, cluster::PodId pod,
                                        const std::vector<NodeId>& feasible) {
  const auto& p = h.store.pod(pod);
  CycleState state(8);
  std::map<std::string, int64_t> out;
  std::vector<int64_t> scores(feasible.size(), 0);
  if (plugin.PreScore(state, p, feasible) != Code::kSkip) {
    for (size_t i = 0; i < feasible.size(); ++i)
      scores[i] = plugin.Score(state, p, h.View(feasible[i]));
    plugin.NormalizeScore(state, &scores);
  }
  for (size_t i = 0; i < feasible.size(); ++i) out[h.store.node(feasible[i]).name()] = scores[i];
  return out;
}

}  // namespace gputwin::scheduler::testing
