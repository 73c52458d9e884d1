// How many of the pods bound to each node a matcher selects (namespace and labels), kept
// up to date as pods bind and leave: the counts PodTopologySpread and InterPodAffinity take
// from the scheduler cache's NodeInfo.Pods upstream, without scanning every pod each cycle.
// Also the bound pods that carry pod (anti-)affinity terms of their own, by template, which
// InterPodAffinity checks the incoming pod against.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/types.h"
#include "cluster/objects.h"

namespace gputwin::cluster {
class Store;
}

namespace gputwin::scheduler {

using cluster::NodeId;

// Which pods count: in one of `namespaces` (or any namespace), matching every selector.
struct PodMatcher {
  bool nothing = false;        // matches no pod
  bool any_namespace = false;  // else one of `namespaces`
  std::vector<std::string> namespaces;
  std::vector<api::LabelSelector> selectors;  // all must match
  std::string Key() const;
  bool Matches(const std::string& ns, const api::Labels& labels) const;
};

class PodCounts {
 public:
  explicit PodCounts(const cluster::Store* store) : store_(*store) {}

  // Registers a matcher (the same matcher twice gives the same id) and counts the bound
  // pods it selects.
  uint32_t Register(const PodMatcher& m);
  int64_t Count(uint32_t matcher, NodeId n) const {
    const auto& v = entries_[matcher].per_node;
    return n < v.size() ? v[n] : 0;
  }
  // Nodes with at least one pod the matcher selects (ascending ids, may hold stale ones
  // whose count fell back to 0).
  const std::vector<NodeId>& NodesWithPods(uint32_t matcher) const {
    return entries_[matcher].nodes;
  }

  // Bound pods with pod affinity or anti-affinity terms, one entry per template.
  struct AffinityTemplate {
    std::shared_ptr<const cluster::PodTemplateInfo> tmpl;
    std::string namespace_;
    std::vector<int64_t> per_node;  // its bound pods per node
    std::vector<NodeId> nodes;      // nodes that held some (ascending)
    int64_t total = 0;
  };
  const std::vector<AffinityTemplate>& affinity_templates() const { return affinity_; }

  // A pod was bound to `n` (+1) or left it (−1): terminated, deleted, evicted.
  void Update(const cluster::PodRecord& p, NodeId n, int64_t delta);

 private:
  struct Entry {
    PodMatcher m;
    std::vector<int64_t> per_node;
    std::vector<NodeId> nodes;
    std::vector<uint8_t> listed;  // per node: whether it is in `nodes`
  };
  // Per template id, the matchers that select its pods (all pods of a template share its
  // namespace and labels), decided for the first `known` matchers: a bind visits only
  // those, not every matcher registered.
  struct TemplateMatches {
    uint32_t known = 0;
    std::vector<uint32_t> entries;
  };
  const std::vector<uint32_t>& MatchersOf(const cluster::PodRecord& p);
  // Matchers by a label every pod they select carries (its anchor): a key=value pair, or a
  // key alone (Exists, In with several values); the rest (no anchor) are tried on every
  // new template. A Job's pods make a template each: scanning every matcher for each made
  // the binds of a million-pod run grow with pods × Deployments.
  void Index(uint32_t entry);
  void Add(Entry& e, NodeId n, int64_t delta);

  const cluster::Store& store_;
  std::vector<Entry> entries_;
  std::vector<TemplateMatches> by_template_;
  std::unordered_map<std::string, uint32_t> by_key_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_label_;  // "key\0value"
  std::unordered_map<std::string, std::vector<uint32_t>> by_label_key_;
  std::vector<uint32_t> unanchored_;
  std::vector<AffinityTemplate> affinity_;
  std::unordered_map<uint32_t, size_t> affinity_index_;  // template id → affinity_
};

}  // namespace gputwin::scheduler
