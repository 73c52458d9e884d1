// Kueue's JobSet integration (kueue pkg/controller/jobs/jobset, through jobframework's
// reconciler): the webhook suspends a JobSet that names a LocalQueue; its Workload has a
// PodSet per replicatedJob; admission writes each PodSet's flavor (node labels,
// tolerations) into its replicatedJob's pod template and unsuspends the JobSet
// (RunWithPodSetsInfo); eviction suspends it and restores the templates; PodsReady when
// every Job is ready or succeeded; Finished with the JobSet's Completed or Failed.
#include <algorithm>

#include "kueue/kueue_controller.h"

namespace gputwin::kueue {

using cluster::WatchKind;

void KueueController::CreateJobSetWorkload(uint32_t id) {
  if (!cache_.config().Manages("jobset.x-k8s.io/jobset")) return;
  auto& rec = store_.job_sets()[id];
  api::JobSet obj = rec.obj;
  auto& labels = obj.metadata.labels;
  auto qn = labels.find(kQueueNameLabel);
  if (qn == labels.end() || qn->second.empty()) {
    if (!cache_.config().manage_jobs_without_queue_name) return;
    labels[kQueueNameLabel] = "default";
  }
  std::optional<Workload> spec = WorkloadForJobSet(obj, manifests_);
  if (!spec) return;
  rec.obj.suspend = true;  // ApplyDefaultForSuspend
  const WorkloadId wl =
      AddOperatorWorkload(std::move(*spec), WorkloadOwner::kJobSet, id, obj.metadata, "JobSet");
  if (workload_of_job_set_.size() <= id) workload_of_job_set_.resize(id + 1, kNoWorkload);
  workload_of_job_set_[id] = wl;
  if (original_job_sets_.size() <= wl) original_job_sets_.resize(wl + 1);
  obj.suspend = false;
  original_job_sets_[wl] = std::move(obj);
}

// RunWithPodSetsInfo (suspend false: each PodSet's flavor into its replicatedJob's pod
// template) or Suspend + RestorePodSetsInfo (the templates as submitted).
void KueueController::SetJobSetSuspended(uint32_t id, WorkloadId wl, bool suspend) {
  auto& rec = store_.job_sets()[id];
  api::JobSet js = original_job_sets_[wl];
  js.suspend = suspend;
  if (!suspend) {
    for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
      MergePodSetInfo(wl, i, &*js.replicated_jobs[i].template_.template_);
    }
  }
  RecordStartedOrStopped(wl, !suspend, "JobSet", js.metadata);
  rec.obj = std::move(js);
  store_.UpdateWorkload(WatchKind::kJobSet, id);
}

void KueueController::SyncJobSet(uint32_t id, Time now) {
  const WorkloadId wl = workload_of_job_set_[id];
  auto& w = cache_.wl(wl);
  const auto& rec = store_.job_sets()[id];
  if (w.phase == WorkloadPhase::kFinished) return;
  // Its pods: what eviction waits for and what lost work is counted on.
  w.pods.clear();
  for (uint32_t j : rec.jobs) {
    if (j == cluster::kNone) continue;
    for (cluster::PodId p : store_.jobs()[j].pods) w.pods.push_back(p);
  }
  if (!rec.terminal_state.empty() || rec.deleted) {
    std::string message;
    for (const auto& c : rec.history) {
      if (c.type == rec.terminal_state) message = c.message;
    }
    FinishWorkload(wl, now, rec.deleted ? "Deleted" : rec.terminal_state,
                   rec.terminal_state == "Completed" ? "Succeeded" : "Failed", message);
    return;
  }
  if (!SyncOperatorAdmission(wl, now, rec.obj.suspend,
                             [&](bool suspend) { SetJobSetSuspended(id, wl, suspend); })) {
    return;
  }
  // PodsReady: Σ replicas == Σ (ready + succeeded) over the replicatedJobs.
  if (!w.pods_ready) {
    int32_t want = 0, have = 0;
    for (const auto& rj : rec.obj.replicated_jobs) want += rj.replicas;
    for (const auto& st : rec.replicated) have += st.ready + st.succeeded;
    if (want > 0 && have >= want) {
      MarkPodsReady(wl, now);
    }
  }
}

}  // namespace gputwin::kueue
