// The object store: plays the API server. Typed objects with dense ids, the indexes the
// controllers need (pods by node and phase, nodes by label, pods by owner), admission
// (priority, LimitRange defaults, ResourceQuota), and watch notifications.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"

#include "api/types.h"
#include "cluster/objects.h"
#include "cluster/resources.h"

namespace gputwin::cluster {

enum class WatchKind : uint8_t {
  kPod,
  kNode,
  kDeployment,
  kReplicaSet,
  kJob,
  kDaemonSet,
  kStatefulSet,
  kJobSet,
  kPyTorchJob,
  kLeaderWorkerSet,
  kTrainJob,
  kRayCluster,
  kRayJob,
  kRayService
};
// A set of WatchKinds, as a watcher declares what it watches.
using WatchKinds = uint32_t;
constexpr WatchKinds Watches(std::initializer_list<WatchKind> kinds) {
  WatchKinds out = 0;
  for (WatchKind k : kinds) out |= WatchKinds{1} << static_cast<int>(k);
  return out;
}
inline constexpr WatchKinds kAllKinds = ~WatchKinds{0};
enum class WatchOp : uint8_t { kAdded, kModified, kDeleted };

// An informer's event handler: told of every change, after it happened.
class Watcher {
 public:
  virtual ~Watcher() = default;
  virtual void OnWatch(WatchKind kind, WatchOp op, uint32_t id) = 0;
};

struct RayStore;  // cluster/ray_objects.h

class Store {
 public:
  Store();
  // KubeRay's objects (cluster/ray_objects.h), kept apart so that their records change
  // without rebuilding everything that includes the Store.
  RayStore& ray() { return *ray_; }
  const RayStore& ray() const { return *ray_; }

  Time now() const { return now_; }
  void set_now(Time t) { now_ = t; }
  ResourceRegistry& resources() { return resources_; }
  const ResourceRegistry& resources() const { return resources_; }
  // Notifies `w` of changes to objects of `kinds`, after the watchers added before it.
  void AddWatcher(Watcher* w, WatchKinds kinds = kAllKinds) { watchers_.push_back({w, kinds}); }

  // Reference objects (read at start).
  void AddPriorityClass(const api::PriorityClass& pc);
  // The API server labels every namespace kubernetes.io/metadata.name=<name>.
  void AddNamespace(const std::string& name, const api::Labels& labels = {});
  bool HasNamespace(const std::string& name) const { return namespaces_.count(name) > 0; }
  const std::map<std::string, api::Labels>& namespaces() const { return namespaces_; }
  const api::Labels& NamespaceLabels(const std::string& name) const;
  // Image sizes in bytes by name, as nodes report them (status.images) or, failing that,
  // the gputwin.io/image-size of the first pod template that runs the image (split evenly
  // over its images). 0 when unknown.
  int64_t ImageSize(const std::string& image) const;
  void AddResourceQuota(const api::ResourceQuota& q);
  void AddLimitRange(const api::LimitRange& lr);
  void AddConfigMap(const api::ConfigMap& cm) { config_maps_.push_back(cm); }
  const std::vector<api::ConfigMap>& config_maps() const { return config_maps_; }

  // Builds the shared pod template: admission defaults (LimitRange, priority) applied,
  // requests computed, gputwin.io/ behaviour annotations parsed. Throws InputError.
  std::shared_ptr<const PodTemplateInfo> MakeTemplate(const api::ObjectMeta& meta,
                                                      const api::PodSpec& spec,
                                                      const std::string& namespace_);

  // A Job's pod template, with the labels the Job controller adds.
  std::shared_ptr<const PodTemplateInfo> MakeJobTemplate(const api::Job& j);

  // Pods. CreatePod runs quota admission; on rejection returns kNone and sets `error`
  // to the API server's message.
  PodId CreatePod(PodRecord rec, std::string* error);
  // The run's pod limit (spec.maxPods): the pod past it throws an InputError, which ends the
  // run (exit 2) instead of growing without bound.
  void set_max_pods(int64_t n) { max_pods_ = n; }
  void BindPod(PodId pod, NodeId node);
  // Removes one scheduling gate ("" for all of them), as a controller's update would; gates
  // can only be removed once a pod exists. False if nothing changed.
  bool RemoveSchedulingGates(PodId pod, const std::string& gate);
  // A mutating admission webhook for pods (Kueue's pod webhook): runs on every pod as it
  // is created, before anyone watching sees it.
  void AddPodAdmissionHook(std::function<void(PodRecord&)> hook) {
    pod_admission_hooks_.push_back(std::move(hook));
  }
  void SetPodPhase(PodId pod, PodPhase phase);
  void UpdatePod(PodId pod) { Notify(WatchKind::kPod, WatchOp::kModified, pod); }
  void DeletePod(PodId pod);
  PodRecord& pod(PodId id) { return pods_[id]; }
  const PodRecord& pod(PodId id) const { return pods_[id]; }
  size_t pod_count() const { return pods_.size(); }
  PodId FindPod(const std::string& namespace_, const std::string& name) const;
  // The pod's controller ownerReference as the API server holds it: kind and name ("" when
  // none). A LeaderWorkerSet's pods belong to its StatefulSets: the leader StatefulSet
  // <lws>, and each group's worker StatefulSet <lws>-<i>.
  std::pair<std::string, std::string> ControllerOf(const PodRecord& p) const;
  // Live (not deleted) pods in a phase.
  size_t CountPods(PodPhase phase) const { return phase_counts_[static_cast<int>(phase)]; }

  // Nodes.
  NodeId AddNode(const api::Node& node);
  void UpdateNode(NodeId id) { Notify(WatchKind::kNode, WatchOp::kModified, id); }
  void DeleteNode(NodeId id);
  NodeRecord& node(NodeId id) { return nodes_[id]; }
  const NodeRecord& node(NodeId id) const { return nodes_[id]; }
  size_t node_count() const { return nodes_.size(); }
  // The nodes not deleted, in id order: a walk over them skips the deleted ones without
  // touching their records (Karpenter's months delete tens of thousands).
  const std::vector<NodeId>& live_nodes() const { return live_nodes_; }
  // The lowest priority among the pods bound to the node (by_priority's first; INT32_MAX
  // when none), packed by NodeId: preemption rules most of thousands of nodes out on it
  // without reading their records.
  int32_t LowestPodPriority(NodeId id) const { return lowest_pod_priority_[id]; }
  // Bumped when the node's allocatable or requested change (caches compare it), packed by
  // NodeId: walks over thousands of nodes read it without their records.
  uint64_t UsageVersion(NodeId id) const { return usage_versions_[id]; }
  // The nodes whose UsageVersion moved, in order, for a reader that keeps lists of nodes
  // from pass to pass (Karpenter's) instead of reading every node's version each pass.
  // Recorded only once asked for. TakeUsageChanges appends those since its last call;
  // false if some were dropped (over kUsageLogLimit not taken): the reader lists afresh.
  void RecordUsageChanges() { usage_log_on_ = true; }
  bool TakeUsageChanges(std::vector<NodeId>* into) {
    into->insert(into->end(), usage_log_.begin(), usage_log_.end());
    usage_log_.clear();
    return !std::exchange(usage_log_dropped_, false);
  }
  static constexpr size_t kUsageLogLimit = size_t{1} << 20;
  // The Ready condition (NodeRecord::ready), set only here; and how many nodes ever made
  // are not Ready, so walks over every node (Karpenter's disruption budgets) read no
  // record while all are.
  void SetNodeReady(NodeId id, bool ready) {
    if (nodes_[id].ready == ready) return;
    nodes_[id].ready = ready;
    not_ready_nodes_ += ready ? -1 : 1;
  }
  size_t not_ready_nodes() const { return not_ready_nodes_; }
  // Moves whenever a node's labels enter or leave LabelIndex (caches of it compare).
  uint64_t label_index_version() const { return label_index_version_; }
  NodeId FindNode(const std::string& name) const;
  // A live Deployment by namespace and name, kNone when there is none.
  uint32_t FindDeployment(const std::string& namespace_, const std::string& name) const;
  // A live Job or StatefulSet by namespace and name, kNone when there is none.
  uint32_t FindJob(const std::string& namespace_, const std::string& name) const;
  uint32_t FindStatefulSet(const std::string& namespace_, const std::string& name) const;
  // Nodes with a label set to a value (live nodes only), in id order.
  std::vector<NodeId> NodesWithLabel(const std::string& key, const std::string& value) const;
  // The index entry behind it (no copy: for size checks and walks).
  const std::vector<NodeId>& LabelIndex(const std::string& key, const std::string& value) const;
  void SetNodeLabel(NodeId id, const std::string& key, const std::string& value);
  // The device plugin registered: its resources replace the node's nvidia.com/* ones,
  // GFD's labels are set, and the devices become allocatable.
  void SetNodeDevices(NodeId id, const std::map<std::string, int64_t>& resources,
                      const api::Labels& labels, std::vector<DeviceUnit> devices);

  // Workload objects.
  uint32_t AddDeployment(api::Deployment d);
  uint32_t AddReplicaSet(api::ReplicaSet rs, uint32_t deployment);
  uint32_t AddJob(api::Job j);
  // JobSets (jobset.x-k8s.io): their spec, as the JobSet controller and Kueue read and
  // write it (Kueue suspends them and sets their templates' flavors).
  uint32_t AddJobSet(api::JobSet js) {
    JobSetRecord rec;
    rec.obj = std::move(js);
    job_sets_.push_back(std::move(rec));
    const auto id = static_cast<uint32_t>(job_sets_.size() - 1);
    Notify(WatchKind::kJobSet, WatchOp::kAdded, id);
    return id;
  }
  std::vector<JobSetRecord>& job_sets() { return job_sets_; }
  const std::vector<JobSetRecord>& job_sets() const { return job_sets_; }
  uint32_t AddPyTorchJob(api::PyTorchJob job) {
    PyTorchJobRecord rec;
    rec.obj = std::move(job);
    pytorch_jobs_.push_back(std::move(rec));
    const auto id = static_cast<uint32_t>(pytorch_jobs_.size() - 1);
    Notify(WatchKind::kPyTorchJob, WatchOp::kAdded, id);
    return id;
  }
  std::vector<PyTorchJobRecord>& pytorch_jobs() { return pytorch_jobs_; }
  const std::vector<PyTorchJobRecord>& pytorch_jobs() const { return pytorch_jobs_; }
  uint32_t AddLeaderWorkerSet(api::LeaderWorkerSet lws) {
    LeaderWorkerSetRecord rec;
    rec.obj = std::move(lws);
    leader_worker_sets_.push_back(std::move(rec));
    const auto id = static_cast<uint32_t>(leader_worker_sets_.size() - 1);
    Notify(WatchKind::kLeaderWorkerSet, WatchOp::kAdded, id);
    return id;
  }
  std::vector<LeaderWorkerSetRecord>& leader_worker_sets() { return leader_worker_sets_; }
  const std::vector<LeaderWorkerSetRecord>& leader_worker_sets() const {
    return leader_worker_sets_;
  }
  // TrainJobs (trainer.kubeflow.org): their spec, as the TrainJob controller and Kueue read
  // and write it (Kueue suspends them and writes its runtime patch).
  uint32_t AddTrainJob(api::TrainJob tj) {
    TrainJobRecord rec;
    rec.obj = std::move(tj);
    rec.created_at = now_;
    if (const auto& ts = rec.obj.metadata.creation_timestamp; ts && *ts < now_) {
      rec.created_at = *ts;
    }
    train_jobs_.push_back(std::move(rec));
    const auto id = static_cast<uint32_t>(train_jobs_.size() - 1);
    Notify(WatchKind::kTrainJob, WatchOp::kAdded, id);
    return id;
  }
  std::vector<TrainJobRecord>& train_jobs() { return train_jobs_; }
  const std::vector<TrainJobRecord>& train_jobs() const { return train_jobs_; }
  // Deletes a JobSet as the garbage collector does (its Jobs, then their pods).
  void DeleteJobSet(uint32_t id) {
    if (job_sets_[id].deleted) return;
    const std::vector<uint32_t> jobs = job_sets_[id].jobs;
    for (uint32_t job : jobs) {
      if (job != kNone) DeleteJob(job);
    }
    job_sets_[id].jobs.assign(jobs.size(), kNone);
    job_sets_[id].deleted = true;
    Notify(WatchKind::kJobSet, WatchOp::kDeleted, id);
  }
  uint32_t AddGang(Gang g) {
    gangs_.push_back(std::move(g));
    return static_cast<uint32_t>(gangs_.size() - 1);
  }
  const Gang& gang(uint32_t id) const { return gangs_[id]; }
  Gang& gang(uint32_t id) { return gangs_[id]; }
  // The figures of several gangs (an object's attempts) added up; kNone ids are skipped.
  Gang GangFigures(const std::vector<uint32_t>& ids) const {
    Gang sum;
    for (uint32_t id : ids) {
      if (id == kNone) continue;
      const Gang& g = gangs_[id];
      sum.advancing_gpu_seconds += g.advancing_gpu_seconds;
      sum.waiting_gpu_seconds += g.waiting_gpu_seconds;
      sum.waiting_seconds += g.waiting_seconds;
      sum.lost_gpu_seconds += g.lost_gpu_seconds;
      sum.step_slowdown = std::max(sum.step_slowdown, g.step_slowdown);
    }
    return sum;
  }
  // Deletes a Job with foreground propagation: the garbage collector removes its pods
  // (finished ones included), then the Job.
  void DeleteJob(uint32_t id);
  uint32_t AddDaemonSet(api::DaemonSet ds);
  uint32_t AddStatefulSet(api::StatefulSet ss);
  // `kubectl delete` with background propagation: the garbage collector deletes what the
  // object owns (a Deployment's ReplicaSet and its pods; a StatefulSet's pods).
  void DeleteDeployment(uint32_t id);
  void DeleteStatefulSet(uint32_t id);
  std::vector<StatefulSetRecord>& stateful_sets() { return stateful_sets_; }
  const std::vector<StatefulSetRecord>& stateful_sets() const { return stateful_sets_; }
  std::vector<DeploymentRecord>& deployments() { return deployments_; }
  std::vector<ReplicaSetRecord>& replica_sets() { return replica_sets_; }
  std::deque<JobRecord>& jobs() { return jobs_; }
  std::vector<DaemonSetRecord>& daemon_sets() { return daemon_sets_; }
  const std::vector<DeploymentRecord>& deployments() const { return deployments_; }
  const std::deque<JobRecord>& jobs() const { return jobs_; }
  const std::vector<ReplicaSetRecord>& replica_sets() const { return replica_sets_; }
  const std::vector<DaemonSetRecord>& daemon_sets() const { return daemon_sets_; }
  void UpdateWorkload(WatchKind kind, uint32_t id) { Notify(kind, WatchOp::kModified, id); }

  // Events.
  void RecordEvent(const std::string& type, const std::string& reason, const std::string& kind,
                   const std::string& namespace_, const std::string& name,
                   const std::string& message, const std::string& source);
  const std::vector<KubeEvent>& events() const { return events_; }
  void set_record_events(bool on) { record_events_ = on; }
  // At most this many distinct events are kept (repeats still count); the rest are
  // counted in dropped_events(), so a million-pod run does not keep millions of events.
  void set_max_events(size_t n) { max_events_ = n; }
  uint64_t dropped_events() const { return dropped_events_; }

  std::string NewUid();

 private:
  struct QuotaState {
    api::ResourceQuota obj;
  };
  struct NamespaceUsage {
    ResourceVec requests, limits;
    int64_t pods = 0;
  };
  void Notify(WatchKind kind, WatchOp op, uint32_t id);
  void Release(PodRecord& p, PodId id);
  // Keeps NodeRecord::by_priority in step with a pod bound (+1) or released (-1).
  void ChargePriority(NodeId n, const PodTemplateInfo& t, int64_t sign);
  void ChargeNamespace(const PodRecord& p, int64_t sign);
  bool AdmitQuota(const PodRecord& p, std::string* error);

  Time now_{0};
  ResourceRegistry resources_;
  std::vector<std::pair<Watcher*, WatchKinds>> watchers_;
  std::map<std::string, api::PriorityClass> priority_classes_;
  std::map<std::string, api::Labels> namespaces_;
  std::unordered_map<std::string, int64_t> image_sizes_;
  std::vector<QuotaState> quotas_;
  std::vector<api::LimitRange> limit_ranges_;
  std::vector<api::ConfigMap> config_maps_;
  std::unordered_map<std::string, NamespaceUsage> usage_;

  std::vector<std::function<void(PodRecord&)>> pod_admission_hooks_;
  // Deques: a million records grow without a copy of them all (a vector's doubling held
  // both at once), and references stay valid.
  std::deque<PodRecord> pods_;
  std::unordered_map<std::string, PodId> pod_by_key_;
  size_t phase_counts_[4] = {0, 0, 0, 0};
  int64_t max_pods_ = std::numeric_limits<int64_t>::max();
  std::vector<NodeRecord> nodes_;
  std::vector<NodeId> live_nodes_;
  std::vector<uint64_t> usage_versions_;  // by NodeId (UsageVersion)
  void BumpUsage(NodeId n) {
    ++usage_versions_[n];
    if (!usage_log_on_) return;
    if (usage_log_.size() < kUsageLogLimit) {
      usage_log_.push_back(n);
    } else {
      usage_log_.clear();
      usage_log_dropped_ = true;
    }
  }
  bool usage_log_on_ = false, usage_log_dropped_ = false;
  std::vector<NodeId> usage_log_;
  std::vector<int32_t> lowest_pod_priority_;  // by NodeId
  size_t not_ready_nodes_ = 0;                // deleted ones included (SetNodeReady)
  std::unordered_map<std::string, NodeId> node_by_name_;
  // Label (key, value) → the live nodes that have it, ascending, looked up by string views: a
  // node's registration asks it for each of its ~65 labels, and a pair of strings built per
  // lookup cost an allocation. Hashed: the keys share long prefixes (karpenter.k8s.aws/...),
  // which a tree compares at every level. Node-based: a list stays put while others are
  // added. A deleted node leaves it (a month of Karpenter nodes would keep every hostname).
  struct LabelPairHash {
    using is_transparent = void;
    template <class A>
    size_t operator()(const A& a) const {
      return absl::HashOf(std::string_view(a.first), std::string_view(a.second));
    }
  };
  struct LabelPairEq {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::string_view(a.first) == std::string_view(b.first) &&
             std::string_view(a.second) == std::string_view(b.second);
    }
  };
  using LabelPair = std::pair<std::string_view, std::string_view>;
  std::vector<NodeId>& NodesByLabel(std::string_view key, std::string_view value);
  void LeaveLabelIndex(NodeId id, std::string_view key, std::string_view value);
  std::unordered_map<std::pair<std::string, std::string>, std::vector<NodeId>, LabelPairHash,
                     LabelPairEq>
      nodes_by_label_;
  uint64_t label_index_version_ = 0;  // moves with every change of nodes_by_label_
  std::vector<DeploymentRecord> deployments_;
  std::vector<ReplicaSetRecord> replica_sets_;
  std::vector<PyTorchJobRecord> pytorch_jobs_;
  std::vector<JobSetRecord> job_sets_;
  std::vector<LeaderWorkerSetRecord> leader_worker_sets_;
  std::vector<TrainJobRecord> train_jobs_;
  std::vector<Gang> gangs_;
  std::shared_ptr<RayStore> ray_;
  std::deque<JobRecord> jobs_;
  std::vector<DaemonSetRecord> daemon_sets_;
  std::vector<StatefulSetRecord> stateful_sets_;
  uint32_t next_template_id_ = 0;
  // Admitted pod specs by a hash of their main fields; equal specs are shared (weak: a spec
  // no template holds any more is dropped when its bucket is next visited).
  std::unordered_multimap<size_t, std::weak_ptr<const api::PodSpec>> spec_intern_;
  std::shared_ptr<const api::PodSpec> InternSpec(api::PodSpec spec);
  uint64_t next_uid_ = 0;

  std::vector<KubeEvent> events_;
  // Events by a hash of what the event recorder aggregates on (involved object, reason,
  // message): hashing the parts in place of a joined key saves a string per event sent.
  // The first event of a hash, then the next of the same hash by event (kNoEvent ends):
  // a flat table, where a node-based multimap cost a cache miss or two per event sent.
  static constexpr uint32_t kNoEvent = ~uint32_t{0};
  absl::flat_hash_map<uint64_t, uint32_t> event_first_;
  std::vector<uint32_t> event_next_;
  bool record_events_ = true;
  size_t max_events_ = 100'000;
  uint64_t dropped_events_ = 0;
};

}  // namespace gputwin::cluster
