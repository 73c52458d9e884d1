// Kueue's TrainJob integration (kueue pkg/controller/jobs/trainjob, framework
// "trainer.kubeflow.org/trainjob", through jobframework's reconciler):
// - the webhook appends Kueue's runtime patch (manager kueue.x-k8s.io/manager, empty) to
//   every TrainJob and suspends one that names a LocalQueue;
// - its Workload has the PodSets of the JobSet the trainer would build: one per
//   replicatedJob, replicas × min(parallelism, completions) pods;
// - admission (RunWithPodSetsInfo) writes each PodSet's labels, node selector and
//   tolerations into that patch's replicatedJobs and unsuspends the TrainJob: the trainer
//   rebuilds the suspended JobSet with them and resumes it;
// - eviction (Stop) suspends it, and once no Job is active clears the patch;
// - PodsReady when Σ replicas == Σ (ready + succeeded) Jobs of its jobsStatus; Finished with
//   its Complete or Failed condition;
// - the JobSet it owns gets no Workload: Kueue's JobSet reconciler sees a child of a
//   managed TrainJob and only suspends it while that Workload is not admitted.
#include <algorithm>

#include "kueue/kueue_controller.h"

namespace gputwin::kueue {

using cluster::WatchKind;

namespace {

constexpr const char* kFramework = "trainer.kubeflow.org/trainjob";
constexpr const char* kPatchManager = "kueue.x-k8s.io/manager";

api::RuntimePatch* KueuePatch(api::TrainJob& tj) {
  for (auto& p : tj.runtime_patches) {
    if (p.manager == kPatchManager) return &p;
  }
  return nullptr;
}

// TrainJob.IsActive: a Job of its JobSet with a pod running or pending.
bool Active(const cluster::TrainJobRecord& r) {
  return std::any_of(r.jobs_status.begin(), r.jobs_status.end(),
                     [](const auto& s) { return s.second.active > 0; });
}

}  // namespace

bool KueueController::TrainJobChild(uint32_t job_set, bool added) {
  if (added) {
    // The JobSet's controller owner, once: owner references and queue names do not change.
    if (child_of_.size() <= job_set) child_of_.resize(job_set + 1, 0);
    const auto& js = store_.job_sets()[job_set].obj;
    for (const auto& ref : js.metadata.owner_references) {
      if (ref.kind != "TrainJob" || !ref.controller || !cache_.config().Manages(kFramework)) {
        continue;
      }
      for (uint32_t t = 0; t < store_.train_jobs().size(); ++t) {
        const auto& tj = store_.train_jobs()[t].obj;
        if (tj.metadata.name != ref.name || tj.metadata.namespace_ != js.metadata.namespace_) {
          continue;
        }
        // FindAncestorJobManagedByKueue: an ancestor is Kueue's with a queue name, or any
        // with manageJobsWithoutQueueName.
        auto q = tj.metadata.labels.find(kQueueNameLabel);
        if (cache_.config().manage_jobs_without_queue_name ||
            (q != tj.metadata.labels.end() && !q->second.empty())) {
          child_of_[job_set] = t + 1;
        }
      }
    }
  }
  return job_set < child_of_.size() && child_of_[job_set] != 0;
}

void KueueController::SyncTrainJobChild(uint32_t job_set) {
  auto& js = store_.job_sets()[job_set];
  if (js.deleted || !js.terminal_state.empty() || js.obj.suspend) return;
  // shouldSuspendChildJob: suspended while its ancestor's latest unfinished Workload is
  // missing or not admitted.
  const uint32_t t = child_of_[job_set] - 1;
  const WorkloadId wl = t < workload_of_train_job_.size() ? workload_of_train_job_[t] : kNoWorkload;
  if (wl != kNoWorkload && cache_.wl(wl).phase == WorkloadPhase::kAdmitted) return;
  js.obj.suspend = true;
  store_.RecordEvent("Normal", "Suspended", "JobSet", js.obj.metadata.namespace_,
                     js.obj.metadata.name, "Kueue managed child job suspended", name_);
  store_.UpdateWorkload(WatchKind::kJobSet, job_set);
}

void KueueController::CreateTrainJobWorkload(uint32_t id) {
  if (!cache_.config().Manages(kFramework)) return;
  auto& rec = store_.train_jobs()[id];
  // The webhook's Default: Kueue's runtime patch on every TrainJob, empty until admission.
  if (!KueuePatch(rec.obj)) {
    api::RuntimePatch p;
    p.manager = kPatchManager;
    rec.obj.runtime_patches.push_back(std::move(p));
  }
  // MultiKueue's TrainJobs are dispatched elsewhere (not modelled; warned when read).
  if (rec.obj.managed_by != "trainer.kubeflow.org/trainjob-controller") return;
  api::TrainJob obj = rec.obj;
  auto& labels = obj.metadata.labels;
  auto qn = labels.find(kQueueNameLabel);
  if (qn == labels.end() || qn->second.empty()) {
    if (!cache_.config().manage_jobs_without_queue_name) return;
    labels[kQueueNameLabel] = "default";
  }
  std::optional<Workload> spec = WorkloadForTrainJob(obj, manifests_);
  if (!spec) return;
  rec.obj.suspend = true;  // WorkloadShouldBeSuspended
  const WorkloadId wl =
      AddOperatorWorkload(std::move(*spec), WorkloadOwner::kTrainJob, id, obj.metadata, "TrainJob");
  if (workload_of_train_job_.size() <= id) workload_of_train_job_.resize(id + 1, kNoWorkload);
  workload_of_train_job_[id] = wl;
}

// RunWithPodSetsInfo (each PodSet's info into Kueue's runtime patch, then unsuspend) or
// Stop (suspend; the patch is cleared once nothing is active, RestorePodSetsInfo).
void KueueController::SetTrainJobSuspended(uint32_t id, WorkloadId wl, bool suspend) {
  auto& rec = store_.train_jobs()[id];
  api::RuntimePatch* patch = KueuePatch(rec.obj);
  const auto& w = cache_.wl(wl);
  if (!suspend) {
    patch->replicated_jobs.clear();
    for (size_t i = 0; i < w.spec.pod_sets.size(); ++i) {
      api::PodTemplateSpec info;
      MergePodSetInfo(wl, i, &info);
      api::ReplicatedJobPatch rj;
      rj.name = w.spec.pod_sets[i].name;
      rj.labels = info.metadata.labels;
      rj.annotations = info.metadata.annotations;
      rj.node_selector = info.spec.node_selector;
      if (!info.spec.tolerations.empty()) rj.tolerations = info.spec.tolerations;
      patch->replicated_jobs.push_back(std::move(rj));
    }
  } else if (!Active(rec)) {
    patch->replicated_jobs.clear();
  }
  RecordStartedOrStopped(wl, !suspend, "TrainJob", rec.obj.metadata);
  rec.obj.suspend = suspend;
  ++rec.generation;
  store_.UpdateWorkload(WatchKind::kTrainJob, id);
}

void KueueController::SyncTrainJob(uint32_t id, Time now) {
  const WorkloadId wl = workload_of_train_job_[id];
  auto& w = cache_.wl(wl);
  auto& rec = store_.train_jobs()[id];
  if (w.phase == WorkloadPhase::kFinished) return;
  // Its pods, through its JobSet's Jobs: what eviction waits for.
  w.pods.clear();
  if (rec.job_set != cluster::kNone) {
    for (uint32_t j : store_.job_sets()[rec.job_set].jobs) {
      if (j == cluster::kNone) continue;
      for (cluster::PodId p : store_.jobs()[j].pods) w.pods.push_back(p);
    }
  }
  if (rec.Finished() || rec.deleted) {
    const auto* c = rec.Find(rec.IsTrue("Complete") ? "Complete" : "Failed");
    FinishWorkload(wl, now, rec.deleted ? "Deleted" : c->type,
                   c && c->type == "Complete" ? "Succeeded" : "Failed", c ? c->message : "");
    return;
  }
  const bool running = SyncOperatorAdmission(
      wl, now, rec.obj.suspend, [&](bool suspend) { SetTrainJobSuspended(id, wl, suspend); });
  // Stop's second half: once the suspended TrainJob's Jobs are inactive, the patch goes.
  auto& r = store_.train_jobs()[id];
  if (api::RuntimePatch* patch = KueuePatch(r.obj);
      !running && r.obj.suspend && patch && !patch->replicated_jobs.empty() && !Active(r)) {
    patch->replicated_jobs.clear();
    ++r.generation;
    store_.UpdateWorkload(WatchKind::kTrainJob, id);
  }
  if (!running) return;
  // PodsReady: Σ replicas of the JobSet's replicatedJobs == Σ (ready + succeeded) Jobs.
  if (!w.pods_ready && r.job_set != cluster::kNone) {
    int32_t want = 0, have = 0;
    for (const auto& rj : store_.job_sets()[r.job_set].obj.replicated_jobs) want += rj.replicas;
    for (const auto& [name, st] : r.jobs_status) have += st.ready + st.succeeded;
    if (want > 0 && have == want) {
      MarkPodsReady(wl, now);
    }
  }
}

}  // namespace gputwin::kueue
