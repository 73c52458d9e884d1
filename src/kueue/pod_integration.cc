// Kueue's pod integrations (v0.19: pkg/controller/jobs/pod, jobs/deployment,
// jobs/statefulset). The webhook gates a managed pod with kueue.x-k8s.io/admission as it is
// created; the pod controller makes its Workload (one per pod, or one per pod group) and,
// on admission, adds the flavor's node labels and tolerations and removes the gate. An
// evicted pod is deleted; a single pod's Workload then finishes (its owner is gone), a
// group's waits for replacement pods and is queued again.
#include <algorithm>

#include "controllers/names.h"
#include "kueue/kueue_controller.h"
#include "kueue/ray_integration.h"

namespace gputwin::kueue {

using cluster::OwnerKind;
using cluster::PodPhase;

namespace {

std::string Hex5(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t h = controllers::HashString(s);
  std::string out;
  for (int i = 0; i < 5; ++i) {
    out.push_back(kHex[h & 15]);
    h >>= 4;
  }
  return out;
}

const std::string* Find(const api::Labels& l, const char* key) {
  auto it = l.find(key);
  return it == l.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<KueueController::PodQueueing> KueueController::PodQueueingOf(
    const cluster::PodRecord& p) const {
  const auto& cfg = cache_.config();
  // A Job's pods belong to the Job's Workload; DaemonSets are no integration.
  if (p.owner.kind == OwnerKind::kJob || p.owner.kind == OwnerKind::kDaemonSet) {
    return std::nullopt;
  }
  // managedJobsNamespaceSelector (default: not kube-system, not kueue-system).
  if (const auto& sel = cfg.managed_jobs_namespace_selector) {
    api::Labels ns_labels = store_.NamespaceLabels(p.namespace_);
    ns_labels["kubernetes.io/metadata.name"] = p.namespace_;
    if (!sel->Matches(ns_labels)) return std::nullopt;
  } else if (p.namespace_ == "kube-system" || p.namespace_ == "kueue-system") {
    return std::nullopt;
  }
  const auto& meta = p.tmpl->metadata;
  PodQueueing q;
  q.labels = meta.labels;
  const std::string* queue = Find(meta.labels, kQueueNameLabel);
  const api::ObjectMeta* parent = nullptr;
  if (p.owner.kind == OwnerKind::kReplicaSet) {
    // jobs/deployment's webhook copies the Deployment's queue-name to its pod template.
    const auto& rs = store_.replica_sets()[p.owner.index];
    if (rs.deployment != cluster::kNone && cfg.Manages("deployment")) {
      parent = &store_.deployments()[rs.deployment].obj.metadata;
    } else if (!cfg.Manages("pod")) {
      return std::nullopt;
    }
  } else if (p.owner.kind == OwnerKind::kStatefulSet) {
    const auto& ss = store_.stateful_sets()[p.owner.index].obj;
    if (cfg.Manages("statefulset")) {
      // statefulset_pod_reconciler.go: the pods are one serving group of `replicas`, admitted
      // as soon as the first exists (fast admission), named after the StatefulSet.
      parent = &ss.metadata;
      q.group = "statefulset-" + ss.metadata.name + "-" +
                Hex5("StatefulSet\napps\n" + ss.metadata.name + "\n" + ss.metadata.uid);
      q.workload_name = q.group;
      q.owner_name = "StatefulSet " + ss.metadata.name;
      q.total = ss.replicas;
      q.fast = true;
      q.serving = true;
    } else if (!cfg.Manages("pod")) {
      return std::nullopt;
    }
  } else if (p.owner.kind == OwnerKind::kLeaderWorkerSet) {
    const auto& lws = store_.leader_worker_sets()[p.owner.index].obj;
    if (!cfg.Manages("leaderworkerset.x-k8s.io/leaderworkerset")) {
      if (!cfg.Manages("pod")) return std::nullopt;
    } else {
      // jobs/leaderworkerset: a prebuilt serving Workload per group, its pods a pod group.
      parent = &lws.metadata;
      const std::string* index = Find(meta.labels, "leaderworkerset.sigs.k8s.io/group-index");
      const std::string group = index ? *index : "0";
      q.group = "leaderworkerset-" + lws.metadata.name + "-" + group + "-" +
                Hex5("LeaderWorkerSet\nleaderworkerset.x-k8s.io\n" + lws.metadata.name + "-" +
                     group + "\n" + lws.metadata.uid);
      q.workload_name = q.group;
      q.owner_name = "LeaderWorkerSet " + lws.metadata.name + "-" + group;
      q.total = lws.size;
      q.serving = true;
      q.prebuilt = LeaderWorkerSetPodSets(lws);
      const std::string* worker = Find(meta.labels, "leaderworkerset.sigs.k8s.io/worker-index");
      const bool leader = !worker || *worker == "0";
      q.pod_set = lws.leader_template && !leader ? 1 : 0;
    }
  } else if (!cfg.Manages("pod")) {
    return std::nullopt;
  }
  if (!queue && parent) {
    queue = Find(parent->labels, kQueueNameLabel);
    if (const std::string* pc = Find(parent->labels, kPriorityClassLabel)) {
      q.labels[kPriorityClassLabel] = *pc;
    }
  }
  if (queue && !queue->empty()) {
    q.queue = *queue;
  } else if (cfg.manage_jobs_without_queue_name) {
    q.queue = "default";  // LocalQueueDefaulting
  } else {
    return std::nullopt;
  }
  if (q.group.empty()) {
    // A plain pod group: the name (annotation or label) and its total count.
    const std::string* group = Find(meta.annotations, kPodGroupNameKey);
    if (!group) group = Find(meta.labels, kPodGroupNameKey);
    if (group && !group->empty()) {
      q.group = *group;
      q.workload_name = *group;
      q.owner_name = "pod group " + *group;
      const std::string* total = Find(meta.annotations, kPodGroupTotalCountAnnotation);
      q.total = total ? std::max(1, std::atoi(total->c_str())) : 1;
      const std::string* fast = Find(meta.annotations, kPodGroupFastAdmissionAnnotation);
      q.fast = fast && *fast == "true";
      const std::string* serving = Find(meta.annotations, kPodGroupServingAnnotation);
      q.serving = serving && *serving == "true";
    } else {
      // GetWorkloadNameForOwnerWithGVK: pod-<name>-<hash of kind, group, name, uid>.
      q.workload_name = "pod-" + p.name + "-" + Hex5("Pod\n\n" + p.name + "\n" + p.uid);
      q.owner_name = "Pod " + p.name;
    }
  }
  return q;
}

void KueueController::DefaultPod(cluster::PodRecord& rec) const {
  if (rec.Bound() || !PodQueueingOf(rec)) return;
  if (!rec.IsGatedBy(kAdmissionGate)) rec.scheduling_gates.push_back(kAdmissionGate);
}

const std::vector<cluster::PodId>& KueueController::PodsOf(const WorkloadState& w) const {
  return w.owner == WorkloadOwner::kJob ? store_.jobs()[w.job].pods : w.pods;
}

void KueueController::MarkDirty(WorkloadId id) {
  const auto& w = cache_.wl(id);
  if (w.owner == WorkloadOwner::kJobSet) {
    dirty_job_sets_.Add(w.job);
  } else if (w.owner == WorkloadOwner::kPyTorchJob) {
    dirty_pytorch_jobs_.Add(w.job);
  } else if (w.owner == WorkloadOwner::kTrainJob) {
    dirty_train_jobs_.Add(w.job);
  } else if (w.owner == WorkloadOwner::kRayCluster || w.owner == WorkloadOwner::kRayJob ||
             w.owner == WorkloadOwner::kRayService) {
    ray_->MarkDirty(w.owner, w.job);
  } else if (w.owner == WorkloadOwner::kJob) {
    dirty_jobs_.Add(w.job);
  } else {
    dirty_pod_workloads_.Add(id);
  }
}

void KueueController::AttachPod(cluster::PodId pod) {
  auto q = PodQueueingOf(store_.pod(pod));
  if (!q) return;
  if (workload_of_pod_.size() <= pod) workload_of_pod_.resize(pod + 1, kNoWorkload);
  if (q->group.empty()) {
    workload_of_pod_[pod] = CreatePodWorkload(*q, {pod});
    return;
  }
  const std::string key = store_.pod(pod).namespace_ + "/" + q->group;
  if (auto it = group_workload_.find(key); it != group_workload_.end()) {
    // A replacement (or a later) pod joins its group's Workload; once admitted, it is
    // ungated at once.
    WorkloadId id = it->second;
    auto& w = cache_.wl(id);
    workload_of_pod_[pod] = id;
    w.pods.push_back(pod);
    // Its pod set: its role's, or the one of its shape (pod sets keep their per-pod requests).
    const api::ResourceList req = PodRequests(*store_.pod(pod).tmpl->spec);
    w.pod_set_of_pod.push_back(std::max(0, q->pod_set));
    for (size_t k = 0; k < w.spec.pod_sets.size() && q->pod_set < 0; ++k) {
      if (w.spec.pod_sets[k].requests == req) {
        w.pod_set_of_pod.back() = static_cast<int32_t>(k);
        break;
      }
    }
    MarkDirty(id);
    RequestReconcile();
    return;
  }
  if (!q->prebuilt.empty()) {
    // The Workload exists before its pods (made by the owner's reconciler); the first pod
    // to appear stands for it here.
    WorkloadId id = CreatePodWorkload(*q, {pod});
    group_workload_[key] = id;
    workload_of_pod_[pod] = id;
    return;
  }
  auto& waiting = waiting_group_pods_[key];
  waiting.push_back(pod);
  // Without fast admission the Workload is made only once pod-group-total-count pods exist
  // (ConstructComposableWorkload: fewer is an unretryable error, retried on each new pod).
  if (!q->fast && static_cast<int32_t>(waiting.size()) < q->total) return;
  std::vector<cluster::PodId> pods = std::move(waiting);
  waiting_group_pods_.erase(key);
  WorkloadId id = CreatePodWorkload(*q, pods);
  group_workload_[key] = id;
  for (cluster::PodId p : pods) workload_of_pod_[p] = id;
}

WorkloadId KueueController::CreatePodWorkload(const PodQueueing& q,
                                              std::vector<cluster::PodId> pods) {
  const auto& first = store_.pod(pods.front());
  // Pod sets by role: pods of one shape (their requests) share one; fast admission makes
  // one pod set of total-count from the first pod.
  std::vector<PodSet> sets;
  std::vector<int32_t> set_of_pod;
  std::vector<cluster::PodId> first_of_set;
  for (cluster::PodId pid : pods) {
    const auto& spec = *store_.pod(pid).tmpl->spec;
    const api::ResourceList req = PodRequests(spec);
    int32_t k = 0;
    while (k < static_cast<int32_t>(sets.size()) && sets[static_cast<size_t>(k)].requests != req)
      ++k;
    if (k == static_cast<int32_t>(sets.size())) {
      PodSet ps;
      ps.name = q.group.empty() ? "main" : "role-" + std::to_string(k);
      ps.requests = req;
      ps.spec = spec;
      sets.push_back(std::move(ps));
      first_of_set.push_back(pid);
    }
    sets[static_cast<size_t>(k)].count++;
    set_of_pod.push_back(k);
  }
  if (!q.prebuilt.empty()) {
    sets = q.prebuilt;
    for (auto& k : set_of_pod) k = std::max(0, q.pod_set);
  } else if (q.fast || q.group.empty()) {
    sets.resize(1);
    sets.front().name = "main";
    sets.front().count = q.group.empty() ? 1 : q.total;
    std::fill(set_of_pod.begin(), set_of_pod.end(), 0);
  }
  if (q.prebuilt.empty()) {
    // The pods' TAS annotations (jobframework.NewPodSetTopologyRequest on the pod's metadata).
    for (size_t k = 0; k < sets.size(); ++k) {
      const auto& meta = store_.pod(first_of_set[k]).tmpl->metadata;
      sets[k].topology = TopologyRequestOf(meta, sets[k].count, meta.source, "");
    }
  }
  WorkloadState w;
  w.spec = WorkloadForPods(first.namespace_, q.workload_name, q.queue, q.labels, std::move(sets),
                           manifests_, first.tmpl->metadata.source);
  w.owner = q.group.empty() ? WorkloadOwner::kPod : WorkloadOwner::kPodGroup;
  w.pods = std::move(pods);
  w.pod_set_of_pod = std::move(set_of_pod);
  w.owner_name = q.owner_name;
  w.group_total = q.total;
  w.serving = q.serving;
  w.uid = next_uid_++;
  w.created = store_.now();
  // A pod of a snapshot (creationTimestamp before the run) has had its Workload since then.
  if (const auto& ts = first.tmpl->metadata.creation_timestamp; ts && *ts < w.created) {
    w.created = *ts;
  }
  w.queue_order = w.created;
  w.pending_since = w.created;
  WorkloadId id = AddNewWorkload(std::move(w), first.tmpl->id);
  RecordHistory(id, "Created", "", "Workload created for " + cache_.wl(id).owner_name);
  if (cache_.wl(id).cq >= 0) {
    cache_.Enqueue(id);
    schedule_requested_ = true;
    RequestReconcile();
  }
  return id;
}

void KueueController::UngatePods(WorkloadId id) {
  const auto& w = cache_.wl(id);
  for (size_t i = 0; i < w.pods.size(); ++i) {
    const cluster::PodId pid = w.pods[i];
    const auto& pod = store_.pod(pid);
    if (pod.deleted || !pod.IsGatedBy(kAdmissionGate)) continue;
    // podset.Merge: the flavor's node labels and tolerations join the pod's spec (mutable
    // while the pod is gated), then the gate goes.
    const auto set = static_cast<size_t>(std::max(0, w.pod_set_of_pod[i]));
    const auto& psa = w.assignment[std::min(set, w.assignment.size() - 1)];
    api::PodSpec spec = *pod.tmpl->spec;
    for (int32_t f : psa.flavor_per_group) {
      if (f < 0) continue;
      const api::ResourceFlavor* rf = cache_.Flavor(f);
      if (!rf) continue;
      for (const auto& [k, v] : rf->node_labels) spec.node_selector[k] = v;
      for (const auto& t : rf->tolerations) spec.tolerations.push_back(t);
    }
    // The webhook gated every managed pod with kueue.x-k8s.io/topology too; prepare() keeps
    // that gate only when the PodSet has a topology assignment, for the TopologyUngater.
    // (Here it is added at this point: before admission the pod is gated either way.)
    if (psa.topology && !pod.IsGatedBy(kTopologySchedulingGate)) {
      spec.scheduling_gates.push_back(kTopologySchedulingGate);
      store_.pod(pid).scheduling_gates.push_back(kTopologySchedulingGate);
    }
    auto tmpl = store_.MakeTemplate(pod.tmpl->metadata, spec, pod.namespace_);
    store_.pod(pid).tmpl = std::move(tmpl);
    store_.RemoveSchedulingGates(pid, kAdmissionGate);
  }
}

void KueueController::SyncPodWorkload(WorkloadId id, Time now) {
  auto& w = cache_.wl(id);
  if (w.phase == WorkloadPhase::kFinished) return;
  int32_t succeeded = 0, running = 0, active = 0, gated = 0;
  for (cluster::PodId pid : w.pods) {
    const auto& p = store_.pod(pid);
    if (p.phase == PodPhase::kSucceeded) ++succeeded;
    if (p.deleted || p.Terminal()) continue;
    ++active;
    if (p.phase == PodPhase::kRunning) ++running;
    if (p.IsGatedBy(kAdmissionGate)) ++gated;
  }
  if (w.owner == WorkloadOwner::kPod) {
    const auto& p = store_.pod(w.pods.front());
    if (p.Terminal()) {
      const bool ok = p.phase == PodPhase::kSucceeded;
      FinishWorkload(id, now, ok ? "Succeeded" : "Failed", ok ? "Succeeded" : "Failed", p.message);
      return;
    }
    if (p.deleted) {
      // FinalizeOrphanedWorkload (FinishOrphanedWorkloads): the owner is gone.
      FinishWorkload(id, now, "OwnerNotFound", "OwnerNotFound",
                     "The workload's owner no longer exists");
      return;
    }
  } else if (!w.serving && succeeded >= w.group_total) {
    FinishWorkload(
        id, now, "Succeeded", "Succeeded",
        "Pods succeeded: " + std::to_string(succeeded) + "/" + std::to_string(w.group_total) + ".");
    return;
  }
  if (w.phase != WorkloadPhase::kAdmitted) return;
  if (w.evicting) {
    // Stop: every pod that runs (not gated, not finished) is deleted with a
    // TerminationTarget condition; the quota goes once none is left running.
    for (cluster::PodId pid : std::vector<cluster::PodId>(w.pods)) {
      const auto& p = store_.pod(pid);
      if (p.deleted || p.Terminal() || p.IsGatedBy(kAdmissionGate)) continue;
      store_.pod(pid).reason = "Evicted";
      store_.pod(pid).message = "WorkloadEvictedDueTo" + w.evicted_reason;
      store_.DeletePod(pid);
    }
    if (active - gated > 0 && w.owner == WorkloadOwner::kPod) return;  // deleted just now
    ReleaseQuota(id);
    if (w.owner == WorkloadOwner::kPod && store_.pod(w.pods.front()).deleted) {
      FinishWorkload(id, now, "OwnerNotFound", "OwnerNotFound",
                     "The workload's owner no longer exists");
      return;
    }
    Requeue(id, now);
    return;
  }
  if (gated > 0) UngatePods(id);
  if (!w.pods_ready) {
    const int32_t want = w.owner == WorkloadOwner::kPod ? 1 : w.group_total;
    if (running + succeeded >= want) {
      MarkPodsReady(id, now);
    }
  }
}

}  // namespace gputwin::kueue
