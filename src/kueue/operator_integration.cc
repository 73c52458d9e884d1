// jobframework's reconciler steps shared by the operator integrations (JobSet, PyTorchJob):
// kueue pkg/controller/jobframework/reconciler.go and pkg/podset (Merge).
#include <algorithm>

#include "kueue/kueue_controller.h"

namespace gputwin::kueue {

WorkloadId KueueController::AddOperatorWorkload(Workload spec, WorkloadOwner owner, uint32_t object,
                                                const api::ObjectMeta& meta,
                                                const std::string& kind) {
  WorkloadState w;
  w.spec = std::move(spec);
  w.owner = owner;
  w.job = object;
  w.owner_name = kind + " " + meta.name;
  w.uid = next_uid_++;
  w.created = store_.now();
  if (const auto& ts = meta.creation_timestamp; ts && *ts < w.created) w.created = *ts;
  w.queue_order = w.created;
  w.pending_since = w.created;
  const WorkloadId id = AddNewWorkload(std::move(w), object);
  RecordHistory(id, "Created", "", "Workload created for " + kind + " " + meta.name);
  if (cache_.wl(id).cq >= 0) {
    cache_.Enqueue(id);
    schedule_requested_ = true;
    RequestReconcile();
  }
  return id;
}

void KueueController::MergePodSetInfo(WorkloadId id, size_t pod_set,
                                      api::PodTemplateSpec* t) const {
  const auto& w = cache_.wl(id);
  if (pod_set >= w.assignment.size()) return;
  t->metadata.labels["kueue.x-k8s.io/podset"] = w.spec.pod_sets[pod_set].name;
  // podset.FromAssignment: with a topology assignment the pods wait for the
  // TopologyUngater.
  if (w.assignment[pod_set].topology &&
      std::find(t->spec.scheduling_gates.begin(), t->spec.scheduling_gates.end(),
                kTopologySchedulingGate) == t->spec.scheduling_gates.end()) {
    t->spec.scheduling_gates.push_back(kTopologySchedulingGate);
  }
  for (int32_t f : w.assignment[pod_set].flavor_per_group) {
    if (f < 0) continue;
    const api::ResourceFlavor* rf = cache_.Flavor(f);
    if (!rf) continue;
    for (const auto& [k, v] : rf->node_labels) t->spec.node_selector[k] = v;
    for (const auto& tol : rf->tolerations) {
      if (std::find(t->spec.tolerations.begin(), t->spec.tolerations.end(), tol) ==
          t->spec.tolerations.end()) {
        t->spec.tolerations.push_back(tol);
      }
    }
  }
}

bool KueueController::SyncOperatorAdmission(WorkloadId id, Time now, bool suspended,
                                            const std::function<void(bool)>& set_suspended) {
  auto& w = cache_.wl(id);
  if (w.phase != WorkloadPhase::kAdmitted) {
    if (!suspended) set_suspended(true);  // unsuspended without admission
    return false;
  }
  if (w.evicting) {
    if (!suspended) set_suspended(true);
    const bool active = std::any_of(w.pods.begin(), w.pods.end(), [&](cluster::PodId p) {
      return !store_.pod(p).deleted && !store_.pod(p).Terminal();
    });
    if (!active) {
      ReleaseQuota(id);
      Requeue(id, now);
    }
    return false;
  }
  if (suspended) {
    set_suspended(false);
    if (cache_.config().wait_for_pods_ready) {
      At(store_.now() + cache_.config().pods_ready_timeout,
         TimerArg(kPodsReadyTimeout, (uint64_t{static_cast<uint32_t>(w.admissions)} << 32) | id));
    }
  }
  return true;
}

}  // namespace gputwin::kueue
