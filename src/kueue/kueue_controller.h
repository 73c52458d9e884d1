// kueue-controller-manager in the twin: the Job webhook and reconciler
// (pkg/controller/jobframework, jobs/job) that turn queue-name Jobs into Workloads,
// suspend them until admitted, inject the flavor's node labels and tolerations on
// admission and suspend them again on eviction; the pod integration (jobs/pod, with
// jobs/deployment and jobs/statefulset) that gates pods until their Workload (one per pod,
// or one per pod group) is admitted (pod_integration.cc); the workload controller's
// waitForPodsReady timeouts and requeue backoff; the queue manager's batched requeue of
// inadmissible workloads; and the scheduler loop. Metrics are sampled on the virtual clock.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/controller.h"
#include "kueue/cache.h"
#include "kueue/kueue_scheduler.h"
#include "telemetry/registry.h"

namespace gputwin::kueue {

class RayIntegration;  // ray_integration.cc

class KueueController : public cluster::Controller, public KueueSchedulerActions {
 public:
  // Kueue's metrics are declared in `metrics` and sampled every `metrics_interval`.
  KueueController(cluster::Store* store, EventQueue* queue, const api::Manifests& m,
                  Diagnostics* diag, telemetry::Registry* metrics, Duration metrics_interval);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;
  void Start();

  const Cache& cache() const { return cache_; }
  const KueueScheduler& scheduler() const { return scheduler_; }
  // A user's patch of spec.active on the Workloads whose name matches the glob: false
  // evicts an admitted one (reason Deactivated) or takes a pending one out of its queue;
  // true queues it again with its requeue state reset. Returns how many matched.
  int SetActive(const std::string& namespace_, const std::string& name_glob, bool active);
  // The Workload of a Job, or kNoWorkload.
  WorkloadId WorkloadOfJob(uint32_t job) const {
    return job < workload_of_job_.size() ? workload_of_job_[job] : kNoWorkload;
  }

  // KueueSchedulerActions.
  void Admit(WorkloadId wl) override;
  void Evict(WorkloadId victim, const std::string& reason, const std::string& preemption_reason,
             const std::string& message) override;
  bool AllAdmittedPodsReady() const override;
  std::vector<tas::PlacementResult> PlaceTopology(WorkloadId wl, int32_t flavor,
                                                  const std::vector<size_t>& pod_sets,
                                                  const std::vector<int32_t>& counts) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  enum Timer : uint64_t { kRequeueTree = 1, kBackoffDone, kPodsReadyTimeout, kSample };
  static uint64_t TimerArg(Timer t, uint64_t payload) { return (uint64_t{t} << 56) | payload; }

  // The pod webhook (pod_integration.cc): gates a pod Kueue manages as it is created.
  void DefaultPod(cluster::PodRecord& rec) const;
  struct PodQueueing {
    std::string queue, group, owner_name, workload_name;
    int32_t total = 1;
    bool fast = false, serving = false;
    api::Labels labels;  // where the priority-class label is read
    // A prebuilt Workload's pod sets (LeaderWorkerSet: made with its first pod), and the
    // one this pod belongs to (-1: the pod set of its shape).
    std::vector<PodSet> prebuilt;
    int32_t pod_set = -1;
  };
  // Whether Kueue's pod integrations manage this pod, and how; nullopt when they do not.
  std::optional<PodQueueing> PodQueueingOf(const cluster::PodRecord& p) const;
  void AttachPod(cluster::PodId pod);
  WorkloadId CreatePodWorkload(const PodQueueing& q, std::vector<cluster::PodId> pods);
  void SyncPodWorkload(WorkloadId id, Time now);
  void UngatePods(WorkloadId id);
  // Finished: quota released or taken out of the queue; `state` is kept for the report
  // (Complete, Failed, Deleted, OwnerNotFound...), `reason` is the Finished condition's.
  void FinishWorkload(WorkloadId id, Time now, const std::string& state, const std::string& reason,
                      const std::string& message);
  // Out of its ClusterQueue's heap, and out of backoff.
  void LeaveQueue(WorkloadId id);
  // The workload's reconciler runs: its Job's, or its pods'.
  void MarkDirty(WorkloadId id);
  const std::vector<cluster::PodId>& PodsOf(const WorkloadState& w) const;

  void CreateWorkload(uint32_t job);
  // Queue, CQ and equivalence class of a new workload; adds and queues it.
  WorkloadId AddNewWorkload(WorkloadState w, uint64_t template_id);
  void SyncJob(uint32_t job, Time now);
  void ApplyAdmission(uint32_t job, WorkloadId id);
  void SuspendJob(uint32_t job);
  // What every operator integration shares (operator_integration.cc): a new Workload
  // for an object (queued, with its Created history), a PodSet's flavor merged into its
  // pod template (RunWithPodSetsInfo's podset.Merge), and the reconciler's admission
  // steps: suspend while not admitted, release the quota once an evicted object's pods
  // are gone, unsuspend when admitted. `set_suspended` writes the object's suspend.
  WorkloadId AddOperatorWorkload(Workload spec, WorkloadOwner owner, uint32_t object,
                                 const api::ObjectMeta& meta, const std::string& kind);
  void MergePodSetInfo(WorkloadId id, size_t pod_set, api::PodTemplateSpec* t) const;
  // Returns whether the workload is admitted and running (the caller checks PodsReady).
  bool SyncOperatorAdmission(WorkloadId id, Time now, bool suspended,
                             const std::function<void(bool)>& set_suspended);
  // The JobSet integration (jobset_integration.cc).
  void CreateJobSetWorkload(uint32_t job_set);
  void SyncJobSet(uint32_t job_set, Time now);
  void SetJobSetSuspended(uint32_t job_set, WorkloadId id, bool suspend);
  std::vector<WorkloadId> workload_of_job_set_;
  std::vector<api::JobSet> original_job_sets_;  // per workload: the JobSet as submitted
  cluster::WorkQueue dirty_job_sets_;
  // The PyTorchJob integration (pytorchjob_integration.cc).
  void CreatePyTorchJobWorkload(uint32_t job);
  void SyncPyTorchJob(uint32_t job, Time now);
  void SetPyTorchJobSuspended(uint32_t job, WorkloadId id, bool suspend);
  std::vector<WorkloadId> workload_of_pytorch_job_;
  std::vector<api::PyTorchJob> original_pytorch_jobs_;
  cluster::WorkQueue dirty_pytorch_jobs_;
  // Topology-Aware Scheduling (tas_integration.cc): one pod's requests as the TAS cache
  // counts them (pods: 1 included), the PodSet a gated pod belongs to, the TopologyUngater,
  // and a finished pod's domain freed for its replacement.
  cluster::ResourceVec TasPodRequests(WorkloadId id, size_t pod_set);
  std::optional<std::pair<WorkloadId, size_t>> TasPodSetOf(cluster::PodId pid) const;
  void UngateTopology(cluster::PodId pod);
  void ReleaseTopologySlot(cluster::PodId pod);
  struct TasSlots {
    int32_t admission = -1;     // of the workload's admission they belong to
    std::vector<int32_t> used;  // pods ungated into each domain
  };
  std::map<std::pair<WorkloadId, size_t>, TasSlots> tas_used_;
  std::vector<int32_t> tas_domain_of_pod_;  // -1: not a TAS pod
  std::vector<std::pair<WorkloadId, size_t>> tas_workload_of_pod_;
  std::vector<WorkloadId> tas_admitted_;  // admitted with a topology assignment
  cluster::WorkQueue dirty_tas_pods_;
  // The TAS cache per flavor: its nodes (built once; dropped when any Node changes), and
  // the admitted TAS workloads' usage per node, kept up to date as they come and go.
  struct TasFlavorCache {
    std::vector<cluster::NodeId> ids;
    std::vector<tas::TopologyNode> nodes;                // free is filled per placement
    std::map<std::vector<std::string>, size_t> leaf_of;  // an assignment's values → node
    std::vector<cluster::ResourceVec> tas_usage;         // per node
    std::vector<int32_t> index_of;                       // NodeId → node, -1 when not in it
    // The node's Store::UsageVersion when its `free` was worked out; kStale after a change of
    // TAS usage.
    std::vector<uint64_t> free_version;
    static constexpr uint64_t kStale = ~uint64_t{0};
    void MarkStale(cluster::NodeId n) {
      if (n < index_of.size() && index_of[n] >= 0)
        free_version[static_cast<size_t>(index_of[n])] = kStale;
    }
    tas::TopologyTree tree;  // over `nodes`, built with them
    // FindFeasibleNodes' verdicts per node for the PodSet constraints seen so far (PodSets of
    // one template share them); dropped when a node changes.
    struct Verdicts {
      std::vector<api::Toleration> tolerations;
      api::Labels node_selector;
      std::optional<api::NodeAffinity> node_affinity;
      std::vector<std::string> excluded;
    };
    std::vector<Verdicts> verdicts;
  };
  cluster::WorkQueue tas_dirty_nodes_;  // changed since the caches were checked
  // A node as the flavor's TAS cache would hold it: false when it is not in it.
  bool TasNodeView(int32_t flavor, cluster::NodeId n, tas::TopologyNode* out) const;
  std::map<int32_t, TasFlavorCache> tas_flavors_;
  struct TasCharge {
    int32_t flavor;
    size_t node;
    cluster::ResourceVec usage;
  };
  std::map<WorkloadId, std::vector<TasCharge>> tas_charges_;
  TasFlavorCache& TasFlavor(int32_t flavor);
  const std::vector<std::string>& TasVerdicts(TasFlavorCache& c, const api::ResourceFlavor& rf,
                                              const api::PodSpec& spec);
  void ChargeTas(WorkloadId id);  // an admitted workload's domains, into the caches
  // Requests of bound TAS pods per node (they are in the workloads' usage, not non-TAS).
  std::vector<cluster::ResourceVec> tas_bound_requests_;
  std::vector<bool> tas_bound_;  // per pod: counted in tas_bound_requests_
  void ChargeBoundTasPod(cluster::PodId pod, int sign);
  // The TrainJob integration (trainjob_integration.cc), and the JobSets TrainJobs own
  // (child jobs: no Workload of their own).
  void CreateTrainJobWorkload(uint32_t train_job);
  void SyncTrainJob(uint32_t train_job, Time now);
  void SetTrainJobSuspended(uint32_t train_job, WorkloadId id, bool suspend);
  // Whether a JobSet is the child of a TrainJob Kueue manages (FindAncestorJobManagedByKueue),
  // worked out when it is `added`.
  bool TrainJobChild(uint32_t job_set, bool added);
  void SyncTrainJobChild(uint32_t job_set);
  std::vector<WorkloadId> workload_of_train_job_;
  std::vector<uint32_t> child_of_;  // JobSet id → its managed TrainJob's id + 1 (0: none)
  cluster::WorkQueue dirty_train_jobs_, dirty_child_job_sets_;
  // The Ray integrations (ray_integration.cc): RayCluster, RayJob and RayService.
  friend class RayIntegration;
  std::shared_ptr<RayIntegration> ray_;
  void ReleaseQuota(WorkloadId id);
  void Requeue(WorkloadId id, Time now);
  void QueueInadmissibleAfter(int32_t cq);
  void RecordHistory(WorkloadId id, const std::string& type, const std::string& reason,
                     const std::string& message);
  // The job framework's PodsReady condition, set once (a waiting blockAdmission head may go).
  void MarkPodsReady(WorkloadId id, Time now);
  // The job reconciler's event when it unsuspends (Started, "Admitted by clusterQueue ...")
  // or suspends (Stopped, the Workload's last message) a job of `kind`.
  void RecordStartedOrStopped(WorkloadId id, bool started, const char* kind,
                              const api::ObjectMeta& meta);
  void Sample(Time now);
  // The wait histogram of a ClusterQueue (the family's series for every ClusterQueue
  // appear together, on first use).
  telemetry::Registry::SeriesId WaitSeries(telemetry::Registry::MetricId family, int32_t cq);

  Cache cache_;
  KueueScheduler scheduler_;
  Duration metrics_interval_;
  const api::Manifests& manifests_;
  std::vector<WorkloadId> workload_of_job_;
  // Per workload: the Job as submitted (null for other kinds, and once finished).
  std::vector<std::unique_ptr<api::Job>> original_jobs_;
  std::vector<WorkloadId> workload_of_pod_;
  std::map<std::string, WorkloadId> group_workload_;  // namespace/group
  std::map<std::string, std::vector<cluster::PodId>> waiting_group_pods_;
  cluster::WorkQueue dirty_pod_workloads_;
  cluster::WorkQueue dirty_jobs_;
  bool schedule_requested_ = false;
  std::set<int32_t> requeue_pending_roots_;  // cohort trees with a batched requeue queued
  uint64_t next_uid_ = 1;
  uint64_t admission_seq_ = 0;
  telemetry::Registry& metrics_;
  // Kueue's metric families (pkg/metrics/metrics.go).
  telemetry::Registry::MetricId pending_, reserving_, admitted_total_, finished_total_,
      evicted_total_, preempted_total_, resource_usage_, nominal_quota_, weighted_share_,
      quota_reserved_wait_, admission_wait_;
};

}  // namespace gputwin::kueue
