// Equivalence classes of nodes: nodes with the same allocatable, labels (but the hostname),
// taints and unschedulable flag give every pod the same answer from the static filters
// (NodeUnschedulable, TaintToleration, NodeAffinity) and the same static scores, so those
// are computed once per class and pod template, not once per node.
#pragma once

#include <cstdint>
#include <set>
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

  // A group as the static plugins see it (its view): NodeAffinity reads a node's labels
  // only through the keys a pod's nodeSelector or node affinity names, so groups that
  // agree on those keys, and on taints, cordon and allocatable, get the same verdicts
  // (EC2's network-topology labels alone make hundreds of groups of a Karpenter fleet).
  // The keys come with the pod templates (NoteKeys, before their first verdict); a key
  // not seen before gives every group a new view id, and the old ids keep the verdicts
  // of the templates that asked: no memo has to go.
  uint32_t ViewOf(NodeId id) const { return view_of_group_[node_group_[id]]; }
  const NodeGroup& view(uint32_t v) const { return groups_[view_source_[v]]; }
  size_t view_count() const { return view_source_.size(); }
  void NoteKeys(const api::PodSpec& spec);
  // Moves when NoteKeys gives every group a new view id (a copy of ViewOf by node, such
  // as the scheduler's by order position, is then stale).
  uint64_t views_version() const { return views_version_; }

  // Tests: every node hashes alike, so groups are told apart by Matches alone.
  bool one_hash = false;

 private:
  static uint64_t HashOf(const cluster::NodeRecord& n);
  static bool Matches(const cluster::NodeRecord& n, const NodeGroup& g);
  void KeyView(uint32_t g);
  std::set<std::string> keys_;  // label keys some template names
  uint64_t views_version_ = 0;
  std::vector<uint32_t> view_of_group_;  // by group; kNone: not keyed (no node in it)
  std::vector<uint32_t> view_source_;    // by view: the group whose labels it reads
  std::unordered_map<std::string, uint32_t> view_by_key_;  // this key set's views
  std::vector<uint32_t> node_group_;
  std::vector<NodeGroup> groups_;
  // Groups by HashOf: the first, then each one's next of the same hash.
  std::unordered_map<uint64_t, uint32_t> by_hash_;
  std::vector<uint32_t> same_hash_;  // by group
};

}  // namespace gputwin::scheduler
