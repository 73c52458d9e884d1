#include "kueue/kueue_controller.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/duration_cast.h"
#include "core/glob.h"
#include "kueue/ray_integration.h"

namespace gputwin::kueue {

using cluster::OwnerKind;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {

double Seconds(Duration d) {
  return static_cast<double>(d.ns) / 1e9;
}

}  // namespace

KueueController::KueueController(cluster::Store* store, EventQueue* queue, const api::Manifests& m,
                                 Diagnostics* diag, telemetry::Registry* metrics,
                                 Duration metrics_interval)
    : Controller(
          "kueue-controller-manager", store, queue,
          cluster::Watches({WatchKind::kJob, WatchKind::kPod, WatchKind::kJobSet,
                            WatchKind::kPyTorchJob, WatchKind::kTrainJob, WatchKind::kNode,
                            WatchKind::kRayCluster, WatchKind::kRayJob, WatchKind::kRayService})),
      cache_(m, diag),
      scheduler_(&cache_, this),
      metrics_interval_(metrics_interval),
      manifests_(m),
      metrics_(*metrics) {
  ray_ = std::make_shared<RayIntegration>(this);
  // The pod webhook is installed with any of the pod integrations.
  const auto& cfg = cache_.config();
  if (cfg.Manages("pod") || cfg.Manages("deployment") || cfg.Manages("statefulset") ||
      cfg.Manages("leaderworkerset.x-k8s.io/leaderworkerset")) {
    store_.AddPodAdmissionHook([this](cluster::PodRecord& rec) { DefaultPod(rec); });
  }
  // As pkg/metrics/metrics.go declares them in v0.13 (names, help, labels, buckets), except
  // kueue_finished_workloads_total (v0.16) and weighted_share's help and cohort label
  // (v0.15); later releases add priority_class, underlying_cause and replica_role labels.
  using telemetry::MetricType;
  auto declare = [&](const char* name, MetricType type, std::vector<std::string> labels,
                     const char* help, std::vector<double> buckets = {}) {
    return metrics_.Declare("kueue", {name, help, type, std::move(labels), std::move(buckets),
                                      std::string(name).ends_with("_seconds") ? "seconds" : ""});
  };
  pending_ = declare(
      "kueue_pending_workloads", MetricType::kGauge, {"cluster_queue", "status"},
      "The number of pending workloads, per 'cluster_queue' and 'status'.\n"
      "'status' can have the following values:\n"
      "- \"active\" means that the workloads are in the admission queue.\n"
      "- \"inadmissible\" means there was a failed admission attempt for these workloads and "
      "they won't be retried until cluster conditions, which could make this workload "
      "admissible, change");
  reserving_ = declare("kueue_reserving_active_workloads", MetricType::kGauge, {"cluster_queue"},
                       "The number of Workloads that are reserving quota, per 'cluster_queue'");
  admitted_total_ =
      declare("kueue_admitted_workloads_total", MetricType::kCounter, {"cluster_queue"},
              "The total number of admitted workloads per 'cluster_queue'");
  finished_total_ =
      declare("kueue_finished_workloads_total", MetricType::kCounter, {"cluster_queue"},
              "The total number of finished workloads per 'cluster_queue'");
  evicted_total_ = declare(
      "kueue_evicted_workloads_total", MetricType::kCounter, {"cluster_queue", "reason"},
      "The number of evicted workloads per 'cluster_queue',\n"
      "The label 'reason' can have the following values:\n"
      "- \"Preempted\" means that the workload was evicted in order to free resources for a "
      "workload with a higher priority or reclamation of nominal quota.\n"
      "- \"PodsReadyTimeout\" means that the eviction took place due to a PodsReady timeout.\n"
      "- \"AdmissionCheck\" means that the workload was evicted because at least one admission "
      "check transitioned to False.\n"
      "- \"ClusterQueueStopped\" means that the workload was evicted because the ClusterQueue "
      "is stopped.\n"
      "- \"Deactivated\" means that the workload was evicted because spec.active is set to "
      "false");
  preempted_total_ = declare(
      "kueue_preempted_workloads_total", MetricType::kCounter,
      {"preempting_cluster_queue", "reason"},
      "The number of preempted workloads per 'preempting_cluster_queue',\n"
      "The label 'reason' can have the following values:\n"
      "- \"InClusterQueue\" means that the workload was preempted by a workload in the same "
      "ClusterQueue.\n"
      "- \"InCohortReclamation\" means that the workload was preempted by a workload in the "
      "same cohort due to reclamation of nominal quota.\n"
      "- \"InCohortFairSharing\" means that the workload was preempted by a workload in the "
      "same cohort Fair Sharing.\n"
      "- \"InCohortReclaimWhileBorrowing\" means that the workload was preempted by a workload "
      "in the same cohort due to reclamation of nominal quota while borrowing.");
  resource_usage_ =
      declare("kueue_cluster_queue_resource_usage", MetricType::kGauge,
              {"cohort", "cluster_queue", "flavor", "resource"},
              "Reports the cluster_queue's total resource usage within all the flavors");
  nominal_quota_ =
      declare("kueue_cluster_queue_nominal_quota", MetricType::kGauge,
              {"cohort", "cluster_queue", "flavor", "resource"},
              "Reports the cluster_queue's resource nominal quota within all the flavors");
  weighted_share_ =
      declare("kueue_cluster_queue_weighted_share", MetricType::kGauge, {"cluster_queue", "cohort"},
              "Reports a value that representing the maximum of the ratios of usage above nominal\n"
              "quota to the lendable resources in the cohort, among all the resources provided by\n"
              "the ClusterQueue, and divided by the weight.\n"
              "If zero, it means that the usage of the ClusterQueue is below the nominal quota.\n"
              "If the ClusterQueue has a weight of zero and is borrowing, this will return NaN.");
  // generateExponentialBuckets(14): 1, then 2.5·2^k up to 10240 seconds.
  std::vector<double> wait_buckets{1};
  for (int k = 0; k < 13; ++k) wait_buckets.push_back(2.5 * std::pow(2.0, k));
  quota_reserved_wait_ =
      declare("kueue_quota_reserved_wait_time_seconds", MetricType::kHistogram, {"cluster_queue"},
              "The time between a workload was created or requeued until it got quota reservation, "
              "per 'cluster_queue'",
              wait_buckets);
  admission_wait_ =
      declare("kueue_admission_wait_time_seconds", MetricType::kHistogram, {"cluster_queue"},
              "The time between a workload was created or requeued until "
              "admission, per 'cluster_queue'",
              wait_buckets);
}

void KueueController::Start() {
  At(store_.now(), TimerArg(kSample, 0));
}

void KueueController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kNode) {
    // The TAS cache's nodes: a new or deleted Node rebuilds it; a changed one is checked
    // before the next placement (most changes are of usage, not of labels or readiness).
    if (op == WatchOp::kModified) {
      if (!tas_flavors_.empty()) tas_dirty_nodes_.Add(id);
    } else {
      tas_flavors_.clear();
    }
    return;
  }
  if (kind == WatchKind::kRayCluster || kind == WatchKind::kRayJob ||
      kind == WatchKind::kRayService) {
    ray_->OnWatch(kind, id);
    return;
  }
  if (kind == WatchKind::kPyTorchJob) {
    if (op == WatchOp::kAdded) {
      CreatePyTorchJobWorkload(id);
      return;
    }
    if (id >= workload_of_pytorch_job_.size() || workload_of_pytorch_job_[id] == kNoWorkload) {
      return;
    }
    dirty_pytorch_jobs_.Add(id);
    RequestReconcile();
    return;
  }
  if (kind == WatchKind::kTrainJob) {
    if (op == WatchOp::kAdded) {
      CreateTrainJobWorkload(id);
      return;
    }
    if (id >= workload_of_train_job_.size() || workload_of_train_job_[id] == kNoWorkload) return;
    dirty_train_jobs_.Add(id);
    RequestReconcile();
    return;
  }
  if (kind == WatchKind::kJobSet) {
    // A TrainJob's JobSet: its TrainJob's Workload covers it; Kueue only suspends it while
    // that Workload is not admitted (reconciler.go shouldSuspendChildJob).
    if (TrainJobChild(id, op == WatchOp::kAdded)) {
      dirty_child_job_sets_.Add(id);
      RequestReconcile();
      return;
    }
    if (op == WatchOp::kAdded) {
      CreateJobSetWorkload(id);
      return;
    }
    if (id >= workload_of_job_set_.size() || workload_of_job_set_[id] == kNoWorkload) return;
    dirty_job_sets_.Add(id);
    RequestReconcile();
    return;
  }
  if (kind == WatchKind::kJob) {
    if (op == WatchOp::kAdded) {
      CreateWorkload(id);
      return;
    }
    if (WorkloadOfJob(id) == kNoWorkload) return;
    dirty_jobs_.Add(id);
  } else if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    // The TopologyUngater watches pods gated by kueue.x-k8s.io/topology; a pod that ends
    // frees its domain for a replacement.
    if (op == WatchOp::kDeleted || p.Terminal()) {
      ReleaseTopologySlot(id);
    } else if (p.Bound() && id < tas_domain_of_pod_.size() && tas_domain_of_pod_[id] >= 0 &&
               (id >= tas_bound_.size() || !tas_bound_[id])) {
      ChargeBoundTasPod(id, 1);
    } else if (!tas_admitted_.empty() && p.IsGatedBy(kTopologySchedulingGate)) {
      dirty_tas_pods_.Add(id);
      RequestReconcile();
    }
    if (op == WatchOp::kAdded && p.IsGatedBy(kAdmissionGate)) {
      AttachPod(id);
    } else if (id < workload_of_pod_.size() && workload_of_pod_[id] != kNoWorkload) {
      dirty_pod_workloads_.Add(workload_of_pod_[id]);
    } else if (p.owner.kind != OwnerKind::kJob || WorkloadOfJob(p.owner.index) == kNoWorkload) {
      return;
    } else {
      dirty_jobs_.Add(p.owner.index);
    }
  } else {
    return;
  }
  RequestReconcile();
}

void KueueController::CreateWorkload(uint32_t job_id) {
  // Kueue's Job reconciler runs only with the batch/job integration.
  if (!cache_.config().Manages("batch/job")) return;
  auto& job = store_.jobs()[job_id];
  // A JobSet's Job: its JobSet's Workload covers it (jobframework skips Jobs whose owner
  // an integration manages).
  for (const auto& ref : job.obj.metadata.owner_references) {
    if (ref.kind == "JobSet") return;
    // A RayJob's submitter: the RayJob's Workload has its `submitter` PodSet.
    if (ref.kind == "RayJob" && cache_.config().Manages("ray.io/rayjob")) return;
  }
  const api::Job* obj = &job.obj;
  std::optional<api::Job> defaulted;  // a copy only when the queue name is defaulted
  const auto& labels = obj->metadata.labels;
  auto qn = labels.find(kQueueNameLabel);
  if (qn == labels.end() || qn->second.empty()) {
    if (!cache_.config().manage_jobs_without_queue_name) return;
    // manageJobsWithoutQueueName: the Job is suspended; the LocalQueue "default" of the
    // namespace picks it up when it exists (LocalQueueDefaulting).
    defaulted = job.obj;
    defaulted->metadata.labels[kQueueNameLabel] = "default";
    obj = &*defaulted;
  }
  std::optional<Workload> spec = WorkloadForJob(*obj, manifests_);
  if (!spec) return;
  // The Job webhook creates the Job suspended.
  job.obj.suspend = true;
  WorkloadState w;
  w.spec = std::move(*spec);
  w.job = job_id;
  w.uid = next_uid_++;
  w.created = store_.now();
  // A Job that existed before the run (a snapshot's, or one given a creationTimestamp to
  // fix the order of ties) has had its Workload, in the queue's order, since then.
  if (const auto& ts = job.obj.metadata.creation_timestamp; ts && *ts < w.created) w.created = *ts;
  w.queue_order = w.created;
  w.pending_since = w.created;
  api::Job original = job.obj;
  original.suspend = false;
  const std::string job_name = job.obj.metadata.name;
  WorkloadId id = AddNewWorkload(std::move(w), job.tmpl->id);
  if (workload_of_job_.size() <= job_id) workload_of_job_.resize(job_id + 1, kNoWorkload);
  workload_of_job_[job_id] = id;
  original_jobs_[id] = std::make_unique<api::Job>(std::move(original));
  RecordHistory(id, "Created", "", "Workload created for Job " + job_name);
  if (cache_.wl(id).cq >= 0) {
    cache_.Enqueue(id);
    schedule_requested_ = true;
    RequestReconcile();
  }
}

WorkloadId KueueController::AddNewWorkload(WorkloadState w, uint64_t template_id) {
  // SchedulingEquivalenceHashing: workloads of one shape, queue and priority.
  std::string key =
      w.spec.namespace_ + "/" + w.spec.queue_name + "/" + std::to_string(w.spec.priority);
  for (const auto& ps : w.spec.pod_sets) {
    key += "|" + std::to_string(ps.count) + "/" + std::to_string(ps.min_count.value_or(-1));
    for (const auto& [r, q] : ps.requests) key += "," + r + "=" + std::to_string(q.milli);
    for (const auto& [k, v] : ps.spec->node_selector) key += ";" + k + "=" + v;
    for (const auto& t : ps.spec->tolerations) key += ";t" + t.key + t.op + t.value + t.effect;
    if (ps.spec->node_affinity) key += ";affinity" + std::to_string(template_id);
  }
  w.equivalence = std::hash<std::string>{}(key);
  for (const auto& ps : w.spec.pod_sets) w.pod_requests.push_back(cache_.PodRequests(ps));
  w.local_queue = cache_.FindLocalQueue(w.spec.namespace_, w.spec.queue_name);
  if (w.local_queue < 0) {
    w.pending_reason = "Misconfigured";
    w.pending_message = "LocalQueue " + w.spec.queue_name + " doesn't exist";
  } else {
    const auto& lq = cache_.local_queues()[static_cast<size_t>(w.local_queue)];
    w.cq = lq.cq;
    if (w.cq < 0) {
      w.pending_reason = "Misconfigured";
      w.pending_message = "ClusterQueue " + lq.obj.cluster_queue + " doesn't exist";
    } else if (lq.obj.stop_policy != "None") {
      w.pending_reason = "Misconfigured";
      w.pending_message = "LocalQueue " + w.spec.queue_name + " is stopped";
      w.cq = -1;
    } else if (!cache_.cq(w.cq).active) {
      w.pending_reason = "Misconfigured";
      w.pending_message = "ClusterQueue " + lq.obj.cluster_queue + " is inactive";
    }
  }
  WorkloadId id = cache_.AddWorkload(std::move(w));
  if (original_jobs_.size() <= id) original_jobs_.resize(id + 1);
  return id;
}

void KueueController::Reconcile(Time now) {
  for (int round = 0; round < 1000; ++round) {
    if (dirty_jobs_.empty() && dirty_pod_workloads_.empty() && dirty_job_sets_.empty() &&
        dirty_pytorch_jobs_.empty() && dirty_train_jobs_.empty() && dirty_child_job_sets_.empty() &&
        dirty_tas_pods_.empty() && !ray_->Dirty() && !schedule_requested_) {
      break;
    }
    for (uint32_t pod : dirty_tas_pods_.Drain()) UngateTopology(pod);
    for (uint32_t job : dirty_jobs_.Drain()) SyncJob(job, now);
    for (uint32_t js : dirty_job_sets_.Drain()) SyncJobSet(js, now);
    for (uint32_t pj : dirty_pytorch_jobs_.Drain()) SyncPyTorchJob(pj, now);
    for (uint32_t tj : dirty_train_jobs_.Drain()) SyncTrainJob(tj, now);
    ray_->Sync(now);
    for (uint32_t js : dirty_child_job_sets_.Drain()) SyncTrainJobChild(js);
    for (uint32_t wl : dirty_pod_workloads_.Drain()) SyncPodWorkload(wl, now);
    if (schedule_requested_) {
      schedule_requested_ = false;
      scheduler_.Schedule();
    }
  }
}

void KueueController::SyncJob(uint32_t job_id, Time now) {
  WorkloadId id = WorkloadOfJob(job_id);
  if (id == kNoWorkload) return;
  auto& w = cache_.wl(id);
  auto& job = store_.jobs()[job_id];
  if (w.phase == WorkloadPhase::kFinished) return;
  if (!job.condition.empty() || job.deleted) {
    FinishWorkload(id, now, job.condition.empty() ? "Deleted" : job.condition,
                   job.condition == "Complete" ? "Succeeded" : "Failed", job.condition_message);
    return;
  }
  if (w.phase != WorkloadPhase::kAdmitted) {
    // Unsuspended (by a user) without admission: the reconciler suspends it again.
    if (!job.obj.suspend) SuspendJob(job_id);
    return;
  }
  if (w.evicting) {
    if (!job.obj.suspend) SuspendJob(job_id);
    auto& j = store_.jobs()[job_id];
    bool active = std::any_of(j.pods.begin(), j.pods.end(), [&](cluster::PodId p) {
      return !store_.pod(p).deleted && !store_.pod(p).Terminal();
    });
    if (!active) {
      ReleaseQuota(id);
      Requeue(id, now);
    }
    return;
  }
  if (job.obj.suspend) ApplyAdmission(job_id, id);
  // PodsReady: every admitted pod running (or done).
  if (!w.pods_ready) {
    const auto& j = store_.jobs()[job_id];
    int64_t ready = j.succeeded;
    for (cluster::PodId p : j.pods) {
      const auto& pod = store_.pod(p);
      if (!pod.deleted && pod.phase == PodPhase::kRunning) ++ready;
    }
    int64_t want = 0;
    for (const auto& ps : w.assignment) want += ps.count;
    if (ready >= want) {
      MarkPodsReady(id, now);
    }
  }
}

void KueueController::ApplyAdmission(uint32_t job_id, WorkloadId id) {
  auto& w = cache_.wl(id);
  if (!original_jobs_[id]) return;  // finished: nothing to admit
  api::Job j = *original_jobs_[id];
  const auto& psa = w.assignment.front();
  const int32_t count = psa.count;
  if (count != w.spec.pod_sets.front().count) {
    // Partial admission: parallelism (and completions when they were equal) shrink.
    const int32_t old_parallelism = j.parallelism.value_or(1);
    if (j.completions && *j.completions == old_parallelism) j.completions = count;
    j.parallelism = count;
  }
  // The flavors' node labels and tolerations go into the pod template (and the topology
  // gate, with a topology assignment).
  MergePodSetInfo(id, 0, &*j.template_);
  j.suspend = false;
  auto& job = store_.jobs()[job_id];
  job.tmpl = store_.MakeJobTemplate(j);
  job.obj = std::move(j);
  RecordStartedOrStopped(id, true, "Job", job.obj.metadata);
  store_.UpdateWorkload(WatchKind::kJob, job_id);
  if (cache_.config().wait_for_pods_ready) {
    At(store_.now() + cache_.config().pods_ready_timeout,
       TimerArg(kPodsReadyTimeout, (uint64_t{static_cast<uint32_t>(w.admissions)} << 32) | id));
  }
}

void KueueController::SuspendJob(uint32_t job_id) {
  WorkloadId id = WorkloadOfJob(job_id);
  if (!original_jobs_[id]) return;  // finished: its Job is done
  api::Job j = *original_jobs_[id];
  j.suspend = true;
  auto& job = store_.jobs()[job_id];
  job.tmpl = store_.MakeJobTemplate(j);
  job.obj = std::move(j);
  store_.RecordEvent("Normal", "Stopped", "Job", job.obj.metadata.namespace_, job.obj.metadata.name,
                     std::string(cache_.wl(id).history.back().message), name_);
  store_.UpdateWorkload(WatchKind::kJob, job_id);
}

void KueueController::Admit(WorkloadId id) {
  auto& w = cache_.wl(id);
  const Time now = store_.now();
  auto& q = cache_.cq(w.cq);
  w.phase = WorkloadPhase::kAdmitted;
  w.quota_reserved_at = now;
  w.quota_reserved_seq = ++admission_seq_;
  if (!w.ever_admitted) w.first_admitted_at = now;
  w.ever_admitted = true;
  ++w.admissions;
  w.pods_ready = false;
  w.total_wait = w.total_wait + (now - w.pending_since);
  metrics_.Observe(WaitSeries(admission_wait_, w.cq), Seconds(now - w.pending_since));
  metrics_.Observe(WaitSeries(quota_reserved_wait_, w.cq), Seconds(now - w.pending_since));
  q.admitted.insert(id);
  w.admitted_priority = w.spec.priority;
  ++q.admitted_priorities[w.admitted_priority];
  q.admitted_total++;
  w.pending_reason.clear();
  w.pending_message.clear();
  std::string flavors;
  for (const auto& ps : w.assignment) {
    for (const auto& [r, f] : ps.flavors) flavors += (flavors.empty() ? "" : ", ") + r + "=" + f;
  }
  RecordHistory(id, "QuotaReserved", "QuotaReserved",
                "Quota reserved in ClusterQueue " + q.obj.metadata.name + " (" + flavors +
                    ", count " + std::to_string(w.assignment.front().count) + ")");
  RecordHistory(id, "Admitted", "Admitted",
                "The workload is admitted (" + std::to_string(Seconds(now - w.pending_since)) +
                    "s after it was queued)");
  if (std::any_of(w.assignment.begin(), w.assignment.end(),
                  [](const PodSetAssignment& a) { return a.topology.has_value(); }) &&
      std::find(tas_admitted_.begin(), tas_admitted_.end(), id) == tas_admitted_.end()) {
    tas_admitted_.push_back(id);
    ChargeTas(id);
  }
  MarkDirty(id);
  RequestReconcile();
}

void KueueController::Evict(WorkloadId id, const std::string& reason,
                            const std::string& preemption_reason, const std::string& message) {
  auto& w = cache_.wl(id);
  if (w.evicting) return;
  const Time now = store_.now();
  w.evicting = true;
  w.evicted_reason = reason;
  ++w.evictions;
  if (!preemption_reason.empty()) ++w.preemptions;
  auto& q = cache_.cq(w.cq);
  q.evicted_total++;
  q.evicted_by_reason[reason]++;
  // The work lost: GPU time of the pods that were running.
  const auto gpu = store_.resources().Find("nvidia.com/gpu");
  for (cluster::PodId p : PodsOf(w)) {
    const auto& pod = store_.pod(p);
    if (pod.deleted || pod.phase != PodPhase::kRunning || pod.started_at == cluster::kNever) {
      continue;
    }
    w.lost_gpu_seconds +=
        Seconds(now - pod.started_at) * static_cast<double>(cluster::At(pod.tmpl->requests, gpu));
  }
  RecordHistory(id, "Evicted", reason, message);
  if (!preemption_reason.empty()) RecordHistory(id, "Preempted", preemption_reason, message);
  MarkDirty(id);
  RequestReconcile();
}

bool KueueController::AllAdmittedPodsReady() const {
  for (const auto& q : cache_.cluster_queues()) {
    for (WorkloadId a : q.admitted) {
      if (!cache_.wl(a).pods_ready) return false;
    }
  }
  return true;
}

void KueueController::ReleaseQuota(WorkloadId id) {
  auto& w = cache_.wl(id);
  auto& q = cache_.cq(w.cq);
  cache_.tree().RemoveUsage(q.node, w.usage);
  w.usage.clear();
  if (q.admitted.erase(id) != 0) {
    auto it = q.admitted_priorities.find(w.admitted_priority);
    if (it != q.admitted_priorities.end() && --it->second == 0) q.admitted_priorities.erase(it);
  }
  QueueInadmissibleAfter(w.cq);
  schedule_requested_ = true;
  RequestReconcile();
}

void KueueController::Requeue(WorkloadId id, Time now) {
  auto& w = cache_.wl(id);
  const auto& cfg = cache_.config();
  w.phase = WorkloadPhase::kPending;
  w.evicting = false;
  w.pods_ready = false;
  w.pending_since = now;
  w.pending_reason = "Pending";
  w.pending_message = "The workload was evicted (" + w.evicted_reason + ") and requeued";
  if (w.deactivated) {
    // Inactive (spec.active=false): not queued again.
    w.pending_reason = "Deactivated";
    w.pending_message = w.deactivated_message;
    return;
  }
  if (w.evicted_reason == "PodsReadyTimeout") {
    if (cfg.requeuing_timestamp == "Eviction") w.queue_order = now;
    if (w.requeue_at <= now) {
      RecordHistory(id, "Requeued", w.evicted_reason, "Requeued after eviction");
      cache_.Enqueue(id);
      schedule_requested_ = true;
      RequestReconcile();
      return;
    }
    w.backing_off = true;
    cache_.cq(w.cq).backing_off++;
    RecordHistory(id, "Requeued", "BackoffStarted",
                  "Requeued after " + FormatDuration(w.requeue_at - now) + " backoff");
    At(w.requeue_at, TimerArg(kBackoffDone, id));
    return;
  }
  RecordHistory(id, "Requeued", w.evicted_reason, "Requeued after eviction");
  cache_.Enqueue(id);
  schedule_requested_ = true;
  RequestReconcile();
}

void KueueController::LeaveQueue(WorkloadId id) {
  auto& w = cache_.wl(id);
  cache_.Dequeue(id);
  if (w.backing_off && w.cq >= 0) {
    w.backing_off = false;
    cache_.cq(w.cq).backing_off--;
  }
}

void KueueController::FinishWorkload(WorkloadId id, Time now, const std::string& state,
                                     const std::string& reason, const std::string& message) {
  auto& w = cache_.wl(id);
  if (w.phase == WorkloadPhase::kAdmitted) {
    ReleaseQuota(id);
  } else {
    LeaveQueue(id);
  }
  w.phase = WorkloadPhase::kFinished;
  w.finished_at = now;
  w.finished_reason = state;
  if (w.cq >= 0) cache_.cq(w.cq).finished_total++;
  RecordHistory(id, "Finished", reason, message);
  // Finished is final: the Job as submitted is needed no more (a month's Jobs would keep
  // a copy each).
  if (id < original_jobs_.size()) original_jobs_[id].reset();
  // So are its pod templates (flavor matching, TAS): counts and requests stay for the
  // outputs.
  for (auto& ps : w.spec.pod_sets) ps.spec.reset();
}

int KueueController::SetActive(const std::string& ns, const std::string& name_glob, bool active) {
  int matched = 0;
  for (WorkloadId id = 0; id < static_cast<WorkloadId>(cache_.workloads().size()); ++id) {
    auto& w = cache_.wl(id);
    if (w.spec.namespace_ != ns || !Glob(name_glob.c_str(), w.spec.name.c_str())) continue;
    ++matched;
    if (w.phase == WorkloadPhase::kFinished || w.deactivated == !active) continue;
    if (!active) {
      // workload_controller.go: an inactive workload that holds quota is evicted with
      // reason Deactivated; a pending one leaves the queue (the queue manager skips it).
      w.deactivated = true;
      w.deactivated_message = "The workload is deactivated";
      RecordHistory(id, "Deactivated", "Deactivated", w.deactivated_message);
      if (w.phase == WorkloadPhase::kAdmitted) {
        Evict(id, "Deactivated", "", w.deactivated_message);
      } else {
        LeaveQueue(id);
        w.pending_reason = "Deactivated";
        w.pending_message = w.deactivated_message;
      }
      continue;
    }
    // Reactivated: the requeue state is reset and the workload queued again.
    w.deactivated = false;
    w.requeue_count = 0;
    RecordHistory(id, "Activated", "", "spec.active set to true");
    if (w.phase == WorkloadPhase::kPending && !w.evicting && w.cq >= 0) {
      w.pending_reason = "Pending";
      w.pending_message = "The workload was reactivated and requeued";
      cache_.Enqueue(id);
      schedule_requested_ = true;
      RequestReconcile();
    }
  }
  return matched;
}

void KueueController::QueueInadmissibleAfter(int32_t cq) {
  const int32_t root = cache_.tree().Root(cache_.cq(cq).node);
  if (!requeue_pending_roots_.insert(root).second) return;
  // requeueBatchPeriod: inadmissible workloads of the cohort tree are retried 1 s later.
  After(Duration::Seconds(1), TimerArg(kRequeueTree, static_cast<uint64_t>(cq)));
}

void KueueController::OnTimer(Time now, uint64_t arg) {
  const auto timer = static_cast<Timer>(arg >> 56);
  const uint64_t payload = arg & ((uint64_t{1} << 56) - 1);
  switch (timer) {
    case kRequeueTree: {
      const auto cq = static_cast<int32_t>(payload);
      requeue_pending_roots_.erase(cache_.tree().Root(cache_.cq(cq).node));
      if (cache_.RequeueInadmissible(cache_.CqsInTree(cq))) {
        schedule_requested_ = true;
        RequestReconcile();
      }
      break;
    }
    case kBackoffDone: {
      const auto id = static_cast<WorkloadId>(payload);
      auto& w = cache_.wl(id);
      if (!w.backing_off) break;
      w.backing_off = false;
      cache_.cq(w.cq).backing_off--;
      cache_.Enqueue(id);
      schedule_requested_ = true;
      RequestReconcile();
      break;
    }
    case kPodsReadyTimeout: {
      const auto id = static_cast<WorkloadId>(payload & 0xffffffffu);
      const auto generation = static_cast<int32_t>(payload >> 32);
      const auto& w = cache_.wl(id);
      if (w.phase != WorkloadPhase::kAdmitted || w.evicting || w.pods_ready ||
          w.admissions != generation) {
        break;
      }
      // workload_controller.go reconcileNotReadyTimeout: triggerDeactivationOrBackoffRequeue
      // first. Past backoffLimitCount the workload is deactivated (and then evicted as
      // Deactivated, RequeuingLimitExceeded); otherwise its requeue state is advanced from
      // now (UpdateRequeueState) and it is evicted for PodsReadyTimeout.
      auto& wm = cache_.wl(id);
      const auto& cfg = cache_.config();
      if (cfg.backoff_limit_count && wm.requeue_count + 1 > *cfg.backoff_limit_count) {
        wm.deactivated = true;
        wm.deactivated_message =
            "The workload is deactivated due to exceeding the maximum number of re-queuing "
            "retries";
        Evict(id, "Deactivated", "", wm.deactivated_message);
        break;
      }
      ++wm.requeue_count;
      // requeueAt = now + base·2^(n−1), at most max (Kueue adds ~0.01% jitter; none here).
      const double delay = std::min<double>(
          cfg.backoff_max_seconds, cfg.backoff_base_seconds * std::pow(2.0, wm.requeue_count - 1));
      wm.requeue_at = now + SaturatingNs(delay * 1e9);
      Evict(id, "PodsReadyTimeout", "",
            "Exceeded the PodsReady timeout " + wm.spec.namespace_ + "/" + wm.spec.name);
      break;
    }
    case kSample:
      Sample(now);
      After(metrics_interval_, TimerArg(kSample, 0));
      break;
  }
}

void KueueController::MarkPodsReady(WorkloadId id, Time now) {
  auto& w = cache_.wl(id);
  if (w.pods_ready) return;
  w.pods_ready = true;
  w.pods_ready_at = now;
  RecordHistory(id, "PodsReady", "PodsReady", "All pods reached readiness");
  if (cache_.config().block_admission) schedule_requested_ = true;
}

void KueueController::RecordStartedOrStopped(WorkloadId id, bool started, const char* kind,
                                             const api::ObjectMeta& meta) {
  const auto& w = cache_.wl(id);
  if (started) {
    store_.RecordEvent("Normal", "Started", kind, meta.namespace_, meta.name,
                       "Admitted by clusterQueue " + cache_.cq(w.cq).obj.metadata.name, name_);
  } else {
    store_.RecordEvent("Normal", "Stopped", kind, meta.namespace_, meta.name,
                       std::string(w.history.back().message), name_);
  }
}

void KueueController::RecordHistory(WorkloadId id, const std::string& type,
                                    const std::string& reason, const std::string& message) {
  auto& text = cache_.history_text();
  cache_.wl(id).history.push_back(
      {store_.now(), text.Word(type), text.Word(reason), text.Keep(message)});
}

telemetry::Registry::SeriesId KueueController::WaitSeries(telemetry::Registry::MetricId family,
                                                          int32_t cq) {
  const auto& queues = cache_.cluster_queues();
  if (metrics_.family(family).series.empty()) {
    for (const auto& q : queues) metrics_.At(family, {{"cluster_queue", q.obj.metadata.name}});
  }
  return metrics_.At(family,
                     {{"cluster_queue", queues[static_cast<size_t>(cq)].obj.metadata.name}});
}

void KueueController::Sample(Time now) {
  auto put = [&](telemetry::Registry::MetricId family, const telemetry::Labels& labels, double v) {
    metrics_.Set(metrics_.At(family, labels), v);
  };
  const auto& tree = cache_.tree();
  for (int32_t c = 0; c < static_cast<int32_t>(cache_.cluster_queues().size()); ++c) {
    const auto& q = cache_.cq(c);
    const std::string& name = q.obj.metadata.name;
    put(pending_, {{"cluster_queue", name}, {"status", "active"}},
        static_cast<double>(cache_.PendingCount(c, false)));
    put(pending_, {{"cluster_queue", name}, {"status", "inadmissible"}},
        static_cast<double>(cache_.PendingCount(c, true)));
    put(reserving_, {{"cluster_queue", name}}, static_cast<double>(q.admitted.size()));
    put(admitted_total_, {{"cluster_queue", name}}, static_cast<double>(q.admitted_total));
    put(finished_total_, {{"cluster_queue", name}}, static_cast<double>(q.finished_total));
    for (const auto& [reason, n] : q.evicted_by_reason) {
      put(evicted_total_, {{"cluster_queue", name}, {"reason", reason}}, static_cast<double>(n));
    }
    for (const auto& [reason, n] : q.preempted_total) {
      put(preempted_total_, {{"preempting_cluster_queue", name}, {"reason", reason}},
          static_cast<double>(n));
    }
    const auto& node = tree.node(q.node);
    for (FrId fr = 0; fr < tree.fr_count(); ++fr) {
      if (!node.has_quota[fr]) continue;
      const auto& key = cache_.FrKey(fr);
      const std::string& rname = cache_.ResourceName(key.resource);
      const double scale = rname == "cpu" ? 1000.0 : 1.0;
      std::map<std::string, std::string> labels{{"cohort", q.obj.cohort},
                                                {"cluster_queue", name},
                                                {"flavor", cache_.FlavorName(key.flavor)},
                                                {"resource", rname}};
      put(resource_usage_, labels, static_cast<double>(node.usage[fr]) / scale);
      put(nominal_quota_, labels, static_cast<double>(node.nominal[fr]) / scale);
    }
    // Upstream reports it only with fair sharing enabled (clusterqueue_controller.go
    // updateCqStatusIfChanged, the cache's reportWeightedShare).
    if (!q.obj.cohort.empty() && cache_.config().fair_sharing) {
      double share =
          tree.DominantResourceShare(q.node, cache_.fr_resource(), cache_.resource_count());
      // The exact share since v0.15; only status.fairSharing.weightedShare is rounded up.
      put(weighted_share_, {{"cluster_queue", name}, {"cohort", q.obj.cohort}},
          std::isinf(share) ? std::numeric_limits<double>::quiet_NaN() : share);
    }
  }
  // Prometheus scrapes the controller manager through its metrics Service.
  metrics_.Up("kueue", "kueue-controller-manager-metrics-service",
              "kueue-controller-manager-metrics-service:8443");
  metrics_.Sample("kueue", now);
}

}  // namespace gputwin::kueue
