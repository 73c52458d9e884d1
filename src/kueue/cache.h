// Kueue's view of the cluster (pkg/cache/scheduler and pkg/cache/queue): ResourceFlavors,
// ClusterQueues and Cohorts over the quota tree, LocalQueues, and every Workload with its
// queue position, admission and history. The scheduler (scheduler.cc) and the Job
// integration (controller.cc) share it, as they share one cache in kueue-controller-manager.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/manifests.h"
#include "core/text_arena.h"
#include "core/time.h"
#include "kueue/quota_tree.h"
#include "kueue/tas_placement.h"
#include "kueue/workload.h"

namespace gputwin::kueue {

using WorkloadId = uint32_t;
inline constexpr WorkloadId kNoWorkload = ~WorkloadId{0};

struct FlavorResourceKey {
  int32_t flavor, resource;
  auto operator<=>(const FlavorResourceKey&) const = default;
};

struct ResourceGroupInfo {
  std::vector<int32_t> resources;  // covered resources
  std::vector<int32_t> flavors;    // in preference order
};

// Workloads of one ClusterQueue that look alike to the scheduler (same LocalQueue,
// shape, priority): SchedulingEquivalenceHashing moves them between active and
// inadmissible together.
struct EquivalenceGroup {
  // Ordered as the CQ heap: priority, queue-order timestamp, UID.
  std::set<std::tuple<int64_t, int64_t, uint64_t, WorkloadId>> members;
  bool inadmissible = false;
};

struct ClusterQueueState {
  api::ClusterQueue obj;
  int32_t node = -1;  // in the quota tree
  std::vector<ResourceGroupInfo> groups;
  std::vector<int32_t> group_of_resource;  // resource → group, -1: not covered
  bool covers_pods = false;
  bool strict_fifo = false;
  bool tas_only = false;  // every flavor has a topologyName: TAS is implied for every PodSet
  bool active = true;
  std::string inactive_reason, inactive_message;
  std::set<WorkloadId> admitted;  // holding quota (incl. being evicted)
  // Priority → admitted workloads: preemption passes over a ClusterQueue where no
  // workload has a priority its policy could preempt.
  std::map<int32_t, int32_t> admitted_priorities;
  std::vector<EquivalenceGroup> eq_groups;
  std::unordered_map<uint64_t, size_t> eq_group_of_hash;
  WorkloadId sticky = kNoWorkload;  // BestEffortFIFO: a preemptor waiting for its victims
  int64_t backing_off = 0;          // pending workloads waiting for requeueAt
  // Metrics counters.
  int64_t admitted_total = 0, evicted_total = 0, finished_total = 0;
  std::map<std::string, int64_t> preempted_total;  // by reason
  std::map<std::string, int64_t> evicted_by_reason;
};

struct LocalQueueState {
  api::LocalQueue obj;
  int32_t cq = -1;  // -1: the ClusterQueue does not exist
};

enum class WorkloadPhase : uint8_t { kPending, kAdmitted, kFinished };

struct PodSetAssignment {
  std::string name;
  int32_t count = 0;
  std::map<std::string, std::string> flavors;  // resource → flavor
  std::vector<int32_t> flavor_per_group;       // chosen flavor index per resource group
  // Topology-Aware Scheduling: where its pods go (v1beta1 topologyAssignment).
  std::optional<tas::TopologyAssignment> topology;
  int32_t topology_flavor = -1;  // the flavor whose nodes the assignment is over
};

// (Views into the Cache's history_text(): a month has millions of these.)
struct WorkloadEvent {
  Time at;
  std::string_view type;  // QuotaReserved, Evicted, Preempted, Requeued, PodsReady, Finished, ...
  std::string_view reason, message;
};

// What a Workload stands for: a Job (batch/job), one plain pod or a pod group (the pod
// integration, which Deployments and StatefulSets use too).
enum class WorkloadOwner : uint8_t {
  kJob,
  kPod,
  kPodGroup,
  kJobSet,
  kPyTorchJob,
  kTrainJob,
  kRayCluster,
  kRayJob,
  kRayService
};

struct WorkloadState {
  Workload spec;
  WorkloadOwner owner = WorkloadOwner::kJob;
  uint32_t job = 0;  // kJob: the Job it belongs to; kJobSet, kPyTorchJob, kTrainJob: that object
  // kPod / kPodGroup: its pods (a group's replacements join), per pod its pod set; the
  // owner's name for the report (the pod, the group, the StatefulSet).
  std::vector<uint32_t> pods;
  std::vector<int32_t> pod_set_of_pod;
  std::string owner_name;
  int32_t group_total = 0;  // kPodGroup: pod-group-total-count
  bool serving = false;     // kPodGroup: pod-group-serving (never finishes)
  int32_t local_queue = -1, cq = -1;
  uint64_t uid = 0;
  Time created, queue_order;  // queue_order: the queue-order timestamp
  uint64_t equivalence = 0;
  WorkloadPhase phase = WorkloadPhase::kPending;
  bool queued = false;       // in an equivalence group of its CQ
  bool backing_off = false;  // requeueState.requeueAt in the future
  Time requeue_at;
  int32_t requeue_count = 0;
  bool deactivated = false;  // spec.active=false
  std::string deactivated_message;
  // QuotaReserved=False condition while pending: Kueue's reason and message.
  std::string pending_reason = "Pending", pending_message;
  // Admission.
  // Per pod set: per-pod requests in Kueue units (Cache::PodRequests), computed once.
  std::vector<std::vector<std::pair<int32_t, int64_t>>> pod_requests;
  std::vector<PodSetAssignment> assignment;
  FrUsage usage;
  Time quota_reserved_at;
  uint64_t quota_reserved_seq = 0;  // admission order: ties of quota_reserved_at
  int32_t admitted_priority = 0;    // spec.priority when admitted (admitted_priorities)
  Time first_admitted_at;
  bool ever_admitted = false;
  bool evicting = false;  // Evicted=True, quota still held until its pods are gone
  std::string evicted_reason;
  bool pods_ready = false;
  Time pods_ready_at;
  Time finished_at;
  std::string finished_reason;
  int32_t admissions = 0, evictions = 0, preemptions = 0;
  double lost_gpu_seconds = 0;  // GPU time of running pods killed by evictions
  Duration total_wait{0};       // time pending, across requeues
  Time pending_since;
  std::vector<WorkloadEvent> history;
};

class Cache {
 public:
  // Builds flavors, queues and the cohort tree from the manifests; records inactive
  // ClusterQueues (missing flavor, cohort cycle, stopPolicy) with Kueue's reasons and
  // warns about them.
  Cache(const api::Manifests& m, Diagnostics* diag);

  const api::KueueConfiguration& config() const { return config_; }
  QuotaTree& tree() { return tree_; }
  const QuotaTree& tree() const { return tree_; }

  int32_t ResourceIndex(const std::string& name);  // registers
  int32_t FindResource(const std::string& name) const;
  const std::string& ResourceName(int32_t r) const { return resource_names_[r]; }
  int32_t resource_count() const { return static_cast<int32_t>(resource_names_.size()); }
  FrId Fr(int32_t flavor, int32_t resource) const;  // -1 when no quota names it
  const FlavorResourceKey& FrKey(FrId fr) const { return fr_keys_[static_cast<size_t>(fr)]; }
  const std::vector<int32_t>& fr_resource() const { return fr_resource_; }
  const std::string& FlavorName(int32_t f) const { return flavor_names_[static_cast<size_t>(f)]; }
  // nullptr when a ClusterQueue names a flavor that does not exist.
  const api::ResourceFlavor* Flavor(int32_t f) const {
    const auto& o = flavor_objs_[static_cast<size_t>(f)];
    return o ? &*o : nullptr;
  }
  // The levels of a flavor's Topology (nullptr: none, or the Topology does not exist).
  const std::vector<std::string>* TopologyLevels(int32_t f) const;
  // Quantity in Kueue's units (milli for cpu, whole units otherwise) as Kueue prints it.
  std::string FormatAmount(int32_t resource, int64_t v) const;

  std::vector<ClusterQueueState>& cluster_queues() { return cqs_; }
  const std::vector<ClusterQueueState>& cluster_queues() const { return cqs_; }
  ClusterQueueState& cq(int32_t i) { return cqs_[static_cast<size_t>(i)]; }
  const ClusterQueueState& cq(int32_t i) const { return cqs_[static_cast<size_t>(i)]; }
  int32_t CqOfNode(int32_t node) const { return cq_of_node_[static_cast<size_t>(node)]; }
  std::vector<LocalQueueState>& local_queues() { return lqs_; }
  const std::vector<LocalQueueState>& local_queues() const { return lqs_; }
  int32_t FindLocalQueue(const std::string& ns, const std::string& name) const;
  const api::Labels& NamespaceLabels(const std::string& ns);

  std::deque<WorkloadState>& workloads() { return workloads_; }
  const std::deque<WorkloadState>& workloads() const { return workloads_; }
  WorkloadState& wl(WorkloadId id) { return workloads_[id]; }
  const WorkloadState& wl(WorkloadId id) const { return workloads_[id]; }
  WorkloadId AddWorkload(WorkloadState w);
  // Where WorkloadEvent's text lives (for as long as the Cache).
  TextArena& history_text() { return history_text_; }
  // ClusterQueues in the same cohort tree (itself only when it has no cohort).
  std::vector<int32_t> CqsInTree(int32_t cq) const;

  // Per-pod requests in Kueue units, by resource index (excluded prefixes dropped).
  std::vector<std::pair<int32_t, int64_t>> PodRequests(const PodSet& ps);
  int32_t pods_resource() const { return pods_resource_; }

  // The queue: an equivalence group per workload shape, each ordered as the CQ heap.
  void Enqueue(WorkloadId id);
  void Dequeue(WorkloadId id);
  // The head of the CQ's active heap (the sticky preemptor first), or kNoWorkload.
  WorkloadId Head(int32_t cq) const;
  void MarkInadmissible(WorkloadId id);  // its whole equivalence group (BestEffortFIFO)
  // Moves every inadmissible group of these CQs back to active; returns whether any moved.
  bool RequeueInadmissible(const std::vector<int32_t>& cqs);
  int64_t PendingCount(int32_t cq, bool inadmissible) const;

 private:
  api::KueueConfiguration config_;
  QuotaTree tree_;
  std::vector<std::string> resource_names_;
  std::unordered_map<std::string, int32_t> resource_index_;
  std::vector<std::string> flavor_names_;
  std::vector<std::optional<api::ResourceFlavor>> flavor_objs_;
  std::map<std::string, std::vector<std::string>> topology_levels_;  // Topology name → levels
  std::map<FlavorResourceKey, FrId> fr_ids_;
  std::vector<FlavorResourceKey> fr_keys_;
  std::vector<int32_t> fr_resource_;
  std::vector<ClusterQueueState> cqs_;
  std::vector<int32_t> cq_of_node_;
  std::vector<LocalQueueState> lqs_;
  std::map<std::string, api::Labels> namespace_labels_;
  std::deque<WorkloadState> workloads_;  // (a deque: no copy of them all as they grow)
  TextArena history_text_;               // the text of the workloads' history
  std::map<std::string, int32_t> lq_index_;
  int32_t pods_resource_ = -1;
};

// Kueue's QuotaReserved=False message of a pending workload.
inline std::string PendingMessage(const WorkloadState& w) {
  if (!w.pending_message.empty()) return w.pending_message;
  return "Waiting to be considered by the scheduler";
}

}  // namespace gputwin::kueue
