// Equivalence classes of nodes: nodes with the same allocatable, labels (but the hostname),
// taints and unschedulable flag give every pod the same answer from the static filters
// (NodeUnschedulable, TaintToleration, NodeAffinity) and the same static scores, so those
// are computed once per class and pod template, not once per node.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/store.h"

namespace gputwin::scheduler {

using cluster::NodeId;

// What every node of a group shares (a copy: nodes may later move to another group).
struct NodeGroup {
  api::Labels labels;  // without kubernetes.io/hostname
  std::vector<api::Taint> taints;
  bool unschedulable = false;
  cluster::ResourceVec allocatable;
  uint32_t size = 0;
};

class NodeGroups {
 public:
  // (Re)computes the node's group; returns true if it changed.
  bool Assign(const cluster::Store& store, NodeId id);
  void Remove(NodeId id);
  uint32_t GroupOf(NodeId id) const { return node_group_[id]; }
  bool Has(NodeId id) const { return id < node_group_.size() && node_group_[id] != cluster::kNone; }
  const NodeGroup& group(uint32_t g) const { return groups_[g]; }
  size_t group_count() const { return groups_.size(); }

 private:
  static std::string Key(const cluster::NodeRecord& n);
  std::vector<uint32_t> node_group_;
  std::vector<NodeGroup> groups_;
  std::unordered_map<std::string, uint32_t> by_key_;
};

}  // namespace gputwin::scheduler
