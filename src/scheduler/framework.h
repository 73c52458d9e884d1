// kube-scheduler's scheduling framework (pkg/scheduler/framework/interface.go): plugins
// behind narrow interfaces, one per extension point, enabled and weighted by a profile.
// Every behaviour of the scheduler is a plugin in src/scheduler/plugins/, named as upstream.
//
// The twin adds one question upstream asks only from v1.35 (SignPod): what a plugin's
// verdict on a pod depends on (Scope). The scheduler's memos (group verdicts, score memo,
// FitError diagnosis) ask it instead of assuming, so a plugin that reads other pods
// (PodTopologySpread, InterPodAffinity) is evaluated afresh in every cycle.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "api/types.h"
#include "cluster/objects.h"

namespace gputwin::cluster {
class Store;
}

namespace gputwin::scheduler {

using cluster::NodeId;
using cluster::PodId;
using cluster::ResourceId;

class NodeGroups;
struct NodeGroup;
class NodeInfoCache;
class PodCounts;
class TopologyValues;

inline constexpr int64_t kMaxNodeScore = 100;

// Status codes (framework/interface.go; Error, Wait and Pending have no use in the twin).
enum class Code : uint8_t { kSuccess, kUnschedulable, kUnschedulableAndUnresolvable, kSkip };

// The reasons of FitError's histogram, interned: plugins keep ids, messages keep strings.
class ReasonTable {
 public:
  uint16_t Id(const std::string& reason);
  const std::string& Name(uint16_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::map<std::string, uint16_t> ids_;
};

// A plugin's answer about one node: success, or a rejection with its reason.
struct Status {
  Code code = Code::kSuccess;
  uint16_t reason = 0;  // ReasonTable id, when rejected
  bool ok() const { return code == Code::kSuccess; }
  static Status Unschedulable(uint16_t reason) { return {Code::kUnschedulable, reason}; }
  static Status Unresolvable(uint16_t reason) {
    return {Code::kUnschedulableAndUnresolvable, reason};
  }
};

// What a plugin's verdict on the pods of one template depends on (upstream's SignPod,
// asked per template). The memos widen with the scope:
enum class Scope : uint8_t {
  kSkip,     // nothing to say about these pods (PreFilter/PreScore would return Skip)
  kGroup,    // the node group only (labels but hostname, taints, allocatable, cordon):
             // evaluated once per group and template, for good
  kNode,     // the node itself (its name, hostname, requested resources): memoised per
             // node until its NodeInfo version or group changes
  kCluster,  // pods elsewhere in the cluster: evaluated in every scheduling cycle
};

// A node as Filter and Score plugins see it: a node of the scheduler's cache, a node group
// (no name: plugins of Scope kGroup read only what the group shares), or a node or
// NodeClaim of Karpenter's simulation.
struct NodeView {
  NodeId id = cluster::kNone;         // kNone for a group or a NodeClaim without a node yet
  const std::string* name = nullptr;  // nullptr for a group
  const api::Labels* labels = nullptr;
  const std::vector<api::Taint>* taints = nullptr;
  // Taints a Karpenter simulation ignores: the startup taints of a node not yet initialized.
  const std::vector<api::Taint>* ignored_taints = nullptr;
  bool unschedulable = false;
  std::span<const int64_t> allocatable, requested;  // by ResourceId; missing entries are 0
  // What the cycle adds to the node's free resources: what preemption victims free (+),
  // what nominated pods or a simulation's placements take (−). nullptr: nothing.
  const cluster::ResourceVec* delta = nullptr;

  int64_t Free(size_t r) const {
    int64_t a = r < allocatable.size() ? allocatable[r] : 0;
    int64_t u = r < requested.size() ? requested[r] : 0;
    int64_t d = delta && r < delta->size() ? (*delta)[r] : 0;
    return a - u + d;
  }
  const std::string& NodeName() const {
    static const std::string kNoName;
    return name ? *name : kNoName;
  }
  // A node's identity, labels, taints and cordon (resources are set by the caller).
  static NodeView Of(NodeId n, const cluster::NodeRecord& node) {
    NodeView v;
    v.id = n;
    v.name = &node.name();
    v.labels = &node.obj.metadata.labels;
    v.taints = &node.obj.taints;
    v.unschedulable = node.obj.unschedulable;
    return v;
  }
};

// Per-cycle state a plugin's PreFilter or PreScore computes for its Filter or Score
// (framework.CycleState); cloned when preemption or nominated pods change it.
class PluginState {
 public:
  virtual ~PluginState() = default;
  virtual std::unique_ptr<PluginState> Clone() const = 0;
};

class CycleState {
 public:
  explicit CycleState(size_t plugins = 0) : slots_(plugins) {}
  CycleState(const CycleState& other);
  CycleState& operator=(const CycleState& other);
  PluginState* Get(uint32_t plugin) const {
    return plugin < slots_.size() ? slots_[plugin].get() : nullptr;
  }
  void Set(uint32_t plugin, std::unique_ptr<PluginState> s) {
    if (slots_.size() <= plugin) slots_.resize(plugin + 1);
    slots_[plugin] = std::move(s);
  }

 private:
  std::vector<std::unique_ptr<PluginState>> slots_;
};

// Cluster events that can make a rejected pod schedulable (framework.ClusterEvent).
enum class EventResource : uint8_t { kNode, kPod };
enum ActionType : uint32_t {
  kAdd = 1 << 0,
  kDelete = 1 << 1,
  kUpdateNodeAllocatable = 1 << 2,
  kUpdateNodeLabel = 1 << 3,
  kUpdateNodeTaint = 1 << 4,
  kUpdateNodeSchedulable = 1 << 5,  // spec.unschedulable (cordon)
  kUpdatePodLabel = 1 << 6,
  kUpdatePodSchedulingGatesEliminated = 1 << 7,
  kAll = 0xFFFF'FFFF,
};
struct ClusterEvent {
  EventResource resource = EventResource::kNode;
  uint32_t actions = kAll;
};
enum class QueueingHint : uint8_t { kQueueSkip, kQueue };

// What a cluster event is about, for the plugins' queueing hints: the node as it is now
// (deleted or not) and, for an update, as it was (its former group's properties); or the
// pod that was bound or left its node.
struct EventObject {
  const cluster::NodeRecord* node = nullptr;
  const NodeGroup* old_node = nullptr;  // node updates only
  const cluster::PodRecord* pod = nullptr;
};

// What plugins may read: the cluster (the store plays the scheduler's informers), the
// scheduler's NodeInfo cache and node groups, and the reason table.
struct Handle {
  const cluster::Store* store = nullptr;
  const NodeInfoCache* node_info = nullptr;
  const NodeGroups* groups = nullptr;
  ReasonTable* reasons = nullptr;
  const std::vector<NodeId>* all_nodes = nullptr;       // live nodes, in NodeTree order
  const std::vector<int32_t>* node_position = nullptr;  // NodeId → index in all_nodes, or -1
  PodCounts* pod_counts = nullptr;                      // bound pods a selector matches, per node
  TopologyValues* topology = nullptr;                   // node label values per topology key
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual const char* Name() const = 0;
  // EnqueueExtensions.EventsToRegister: the events that may make a pod this plugin
  // rejected schedulable. Default: every event.
  virtual std::vector<ClusterEvent> EventsToRegister() const {
    return {{EventResource::kNode, kAll}, {EventResource::kPod, kAll}};
  }
  // The QueueingHintFn of the registered events: may `event` make `pod`, which this
  // plugin rejected, schedulable? (Queue: retry it; QueueSkip: it still would not fit.)
  virtual QueueingHint Hint(const ClusterEvent& /*event*/, const EventObject& /*obj*/,
                            const cluster::PodRecord& /*pod*/) const {
    return QueueingHint::kQueue;
  }
  uint32_t index = 0;  // the plugin's slot in CycleState
};

// PreEnqueue: a pod that fails waits outside the active queue (SchedulingGates).
class PreEnqueuePlugin {
 public:
  virtual ~PreEnqueuePlugin() = default;
  // Empty when the pod may enter the queue; else why it waits.
  virtual std::string PreEnqueue(const cluster::PodRecord& pod) const = 0;
};

// PreFilter, Filter and the PreFilterExtensions (AddPod, RemovePod).
class FilterPlugin {
 public:
  virtual ~FilterPlugin() = default;
  // What the verdict on the pods of this pod's template depends on.
  virtual Scope FilterScope(const cluster::PodRecord& pod) const = 0;
  // Called once per cycle when FilterScope is kCluster: builds the plugin's CycleState,
  // or returns kSkip when there is nothing to check this cycle (Filter is not called).
  virtual Code PreFilter(CycleState& /*state*/, const cluster::PodRecord& /*pod*/) {
    return Code::kSuccess;
  }
  virtual Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                        const NodeView& node) const = 0;
  // Filter without the reason (Karpenter's simulation asks often and never reports it).
  virtual bool Passes(const CycleState& state, const cluster::PodRecord& pod,
                      const NodeView& node) const {
    return Filter(state, pod, node).ok();
  }
  // Every reason of a rejection, for FitError's histogram (NodeResourcesFit has several).
  virtual void Diagnose(const CycleState& state, const cluster::PodRecord& pod,
                        const NodeView& node, std::vector<uint16_t>* reasons) const {
    Status s = Filter(state, pod, node);
    if (!s.ok()) reasons->push_back(s.reason);
  }
  // A pod `other` is added to (nominated) or removed from (preemption victim) `node` in
  // this cycle's view: plugins of Scope kCluster update their CycleState.
  virtual void AddPod(CycleState& /*state*/, const cluster::PodRecord& /*pod*/,
                      const cluster::PodRecord& /*other*/, NodeId /*node*/) const {}
  virtual void RemovePod(CycleState& /*state*/, const cluster::PodRecord& /*pod*/,
                         const cluster::PodRecord& /*other*/, NodeId /*node*/) const {}
};

// PreScore, Score and NormalizeScore. Scores of Scope kGroup are computed once per group;
// kNode ones are memoised per node version; kCluster ones go through PreScore every cycle.
class ScorePlugin {
 public:
  virtual ~ScorePlugin() = default;
  virtual Scope ScoreScope(const cluster::PodRecord& pod) const = 0;
  // Called once per cycle with the feasible nodes when ScoreScope is kCluster (or kNode
  // with NormalizeScore); kSkip: the plugin scores 0 everywhere this cycle.
  virtual Code PreScore(CycleState& /*state*/, const cluster::PodRecord& /*pod*/,
                        const std::vector<NodeId>& /*feasible*/) {
    return Code::kSuccess;
  }
  virtual int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                        const NodeView& node) const = 0;
  // The same scores for many nodes in one call, out[i] += weight × Score(nodes[i]), for
  // kNode plugins that read only NodeInfo (no NodeView to build, one virtual call a
  // cycle). false: not offered, the caller scores node by node.
  virtual bool AddNodeScores(const cluster::PodRecord& /*pod*/, std::span<const NodeId> /*nodes*/,
                             int64_t /*weight*/, std::span<int64_t> /*out*/) const {
    return false;
  }
  // ScoreExtensions.NormalizeScore over the feasible nodes' scores, in place.
  virtual void NormalizeScore(const CycleState& /*state*/, std::vector<int64_t>* /*scores*/) const {
  }
  virtual bool HasNormalizeScore() const { return false; }
  // A kNode score that reads of the pod only its requests (PodTemplateInfo's requests,
  // nonzero_cpu, nonzero_memory): templates alike in those may share memoised scores.
  virtual bool ScoresByRequests() const { return false; }
};

// PostFilter: what to do when no node fits (DefaultPreemption).
class PostFilterPlugin {
 public:
  virtual ~PostFilterPlugin() = default;
  struct Result {
    NodeId nominated = cluster::kNone;
    std::string message;  // FitError's PostFilterMsg when nothing was nominated
  };
  // `unschedulable[n]`: node n rejected the pod as Unschedulable (not Unresolvable), so
  // evicting pods may help there; `count` of them are in the node order. `version`, when
  // not 0, names those bits: a later call with the same version has the same bits.
  virtual Result PostFilter(CycleState& state, PodId pod, const std::vector<bool>& unschedulable,
                            int64_t count, uint64_t version) = 0;
};

// Reserve (and Unreserve when the pod leaves): device choice for GPU-sharing pods.
class ReservePlugin {
 public:
  virtual ~ReservePlugin() = default;
  virtual void Reserve(cluster::PodRecord* pod, NodeId node) = 0;
  virtual void Unreserve(cluster::PodRecord* pod) = 0;
};

// DefaultNormalizeScore (plugins/helper/normalize_score.go): scales to [0, 100] by the
// highest score; `reverse` turns the best into the lowest.
void DefaultNormalizeScore(bool reverse, std::vector<int64_t>* scores);

}  // namespace gputwin::scheduler
