// Kueue's PyTorchJob integration (kueue pkg/controller/jobs/kubeflow/jobs/pytorchjob and
// kubeflowjob): the webhook suspends a PyTorchJob that names a LocalQueue
// (runPolicy.suspend); its Workload has PodSets "master" and "worker"; admission merges each
// PodSet's flavor into its replica template and unsuspends it (RunWithPodSetsInfo);
// eviction suspends it (the operator deletes the pods) and restores the templates;
// PodsReady once the job has a Running condition; Finished with Succeeded or Failed.
#include <algorithm>

#include "kueue/kueue_controller.h"

namespace gputwin::kueue {

using cluster::WatchKind;

void KueueController::CreatePyTorchJobWorkload(uint32_t id) {
  if (!cache_.config().Manages("kubeflow.org/pytorchjob")) return;
  auto& rec = store_.pytorch_jobs()[id];
  api::PyTorchJob obj = rec.obj;
  auto& labels = obj.metadata.labels;
  auto qn = labels.find(kQueueNameLabel);
  if (qn == labels.end() || qn->second.empty()) {
    if (!cache_.config().manage_jobs_without_queue_name) return;
    labels[kQueueNameLabel] = "default";
  }
  std::optional<Workload> spec = WorkloadForPyTorchJob(obj, manifests_);
  if (!spec) return;
  rec.obj.suspend = true;  // ApplyDefaultForSuspend
  const WorkloadId wl = AddOperatorWorkload(std::move(*spec), WorkloadOwner::kPyTorchJob, id,
                                            obj.metadata, "PyTorchJob");
  if (workload_of_pytorch_job_.size() <= id) workload_of_pytorch_job_.resize(id + 1, kNoWorkload);
  workload_of_pytorch_job_[id] = wl;
  if (original_pytorch_jobs_.size() <= wl) original_pytorch_jobs_.resize(wl + 1);
  obj.suspend = false;
  original_pytorch_jobs_[wl] = std::move(obj);
}

void KueueController::SetPyTorchJobSuspended(uint32_t id, WorkloadId wl, bool suspend) {
  auto& rec = store_.pytorch_jobs()[id];
  api::PyTorchJob job = original_pytorch_jobs_[wl];
  job.suspend = suspend;
  if (!suspend) {
    for (size_t i = 0; i < job.replica_specs.size(); ++i) {
      MergePodSetInfo(wl, i, &job.replica_specs[i].template_);
    }
  }
  RecordStartedOrStopped(wl, !suspend, "PyTorchJob", job.metadata);
  rec.obj = std::move(job);
  rec.tmpl.clear();  // the operator builds its pods' templates again
  store_.UpdateWorkload(WatchKind::kPyTorchJob, id);
}

void KueueController::SyncPyTorchJob(uint32_t id, Time now) {
  const WorkloadId wl = workload_of_pytorch_job_[id];
  auto& w = cache_.wl(wl);
  const auto& rec = store_.pytorch_jobs()[id];
  if (w.phase == WorkloadPhase::kFinished) return;
  w.pods.clear();
  for (const auto& slots : rec.pods) {
    for (cluster::PodId p : slots) {
      if (p != cluster::kNone) w.pods.push_back(p);
    }
  }
  if (rec.Finished() || rec.deleted) {
    FinishWorkload(wl, now, rec.deleted ? "Deleted" : rec.condition,
                   rec.condition == "Succeeded" ? "Succeeded" : "Failed",
                   rec.history.empty() ? "" : rec.history.back().message);
    return;
  }
  if (!SyncOperatorAdmission(wl, now, rec.obj.suspend,
                             [&](bool suspend) { SetPyTorchJobSuspended(id, wl, suspend); })) {
    return;
  }
  // PodsReady: the job has a Running condition (with a Master: the master pod runs).
  if (!w.pods_ready && rec.condition == "Running") {
    MarkPodsReady(wl, now);
  }
}

}  // namespace gputwin::kueue
