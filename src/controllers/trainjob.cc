#include "controllers/trainjob.h"

#include <algorithm>

#include "controllers/trainjob_builder.h"

namespace gputwin::controllers {

using cluster::WatchKind;
using cluster::WatchOp;

TrainJobController::TrainJobController(cluster::Store* store, EventQueue* queue,
                                       const std::vector<api::TrainingRuntime>* runtimes)
    : Controller("trainjob-controller", store, queue,
                 cluster::Watches({WatchKind::kTrainJob, WatchKind::kJobSet})),
      runtimes_(*runtimes) {}

void TrainJobController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  if (kind == WatchKind::kJobSet) {
    // Owns(&JobSet{}): a JobSet's change reaches the TrainJob that controls it.
    if (id >= owner_of_job_set_.size() || owner_of_job_set_[id] == 0) return;
    id = owner_of_job_set_[id] - 1;
  }
  dirty_.Add(id);
  RequestReconcile();
}

void TrainJobController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void TrainJobController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) {
    auto& r = store_.train_jobs()[id];
    const auto before = std::make_tuple(r.conditions, r.jobs_status, r.job_set);
    Sync(id, now);
    // The status is patched only when it changed; Kueue reads it.
    if (std::make_tuple(r.conditions, r.jobs_status, r.job_set) != before) {
      store_.UpdateWorkload(WatchKind::kTrainJob, id);
    }
  }
}

void TrainJobController::SetCondition(Record& r, Record::Condition c) {
  // meta.SetStatusCondition: a new type is appended; an existing one keeps its
  // lastTransitionTime unless its status changes.
  for (auto& old : r.conditions) {
    if (old.type != c.type) continue;
    if (old.status == c.status) c.last_transition = old.last_transition;
    old = std::move(c);
    return;
  }
  r.conditions.push_back(std::move(c));
}

void TrainJobController::Sync(uint32_t id, Time now) {
  Record& r = store_.train_jobs()[id];
  if (r.deleted) return;
  // IsManagedByExternalController: MultiKueue runs it elsewhere (warned when read).
  if (r.obj.managed_by != kTrainJobController) return;
  // removeFailedCondition: a Failed condition is recomputed, but DeadlineExceeded stays.
  r.conditions.erase(std::remove_if(r.conditions.begin(), r.conditions.end(),
                                    [](const Record::Condition& c) {
                                      return c.type == "Failed" && c.reason != "DeadlineExceeded";
                                    }),
                     r.conditions.end());
  if (!r.Finished()) ReconcileObjects(id);
  Record& rec = store_.train_jobs()[id];
  // setSuspendedCondition.
  if (rec.obj.suspend) {
    SetCondition(rec, {"Suspended", "True", "Suspended", "TrainJob is suspended", now});
  } else if (rec.IsTrue("Suspended")) {
    SetCondition(rec, {"Suspended", "False", "Resumed", "TrainJob is resumed", now});
  }
  SetStatus(rec);
  ReconcileDeadline(id, now);
}

void TrainJobController::ReconcileObjects(uint32_t id) {
  Record& r = store_.train_jobs()[id];
  const api::TrainingRuntime* rt = FindTrainingRuntime(runtimes_, r.obj);
  if (!rt) return;  // the webhook refused it: checked before the run
  // The jobset plugin's Build: the JobSet is applied when it does not exist yet, or while
  // the TrainJob or the JobSet is suspended; a running JobSet is left as it is.
  const bool exists = r.job_set != cluster::kNone && !store_.job_sets()[r.job_set].deleted;
  if (exists) {
    const auto& js = store_.job_sets()[r.job_set].obj;
    if (!r.obj.suspend && !js.suspend) return;
    // Server-side apply of what it built last: nothing changed, nothing written. Another
    // writer of the JobSet's suspend (Kueue, were the JobSet queued on its own) loses to the
    // apply upstream and writes again; the twin lets the apply win once per instant.
    if (r.built_generation == r.generation &&
        (js.suspend == r.obj.suspend || r.built_at == store_.now())) {
      return;
    }
  }
  TrainJobBuild build = BuildTrainJobJobSet(r.obj, *rt);
  r.trainer_nodes = build.trainer_nodes;
  r.built_generation = r.generation;
  r.built_at = store_.now();
  if (exists) {
    store_.job_sets()[r.job_set].obj = std::move(build.job_set);
    store_.UpdateWorkload(WatchKind::kJobSet, r.job_set);
    return;
  }
  // The JobSet webhook (jobset_webhook.go ValidateCreate) refuses names its Jobs and pods
  // could not carry (DNS-1035 labels of at most 63 characters); the apply fails and the
  // controller says so in an event, on every reconcile.
  std::vector<std::string> errors;
  for (size_t i = 0; i < build.job_set.replicated_jobs.size(); ++i) {
    const auto& rj = build.job_set.replicated_jobs[i];
    const std::string prefix =
        build.job_set.metadata.name + "-" + rj.name + "-" + std::to_string(rj.replicas - 1);
    const std::string path = "spec.replicatedJobs[" + std::to_string(i) + "].name";
    if (prefix.size() > 63) {
      errors.push_back(path + ": Invalid value: \"" + prefix +
                       "\": JobSet name is too long, job names generated for this JobSet will "
                       "exceed 63 characters");
    }
    // GenPodName plus the 5 characters of a generated suffix.
    if (rj.template_.completion_mode == "Indexed" && rj.template_.completions &&
        prefix.size() + 1 + std::to_string(*rj.template_.completions - 1).size() + 6 > 63) {
      errors.push_back(path + ": Invalid value: \"" + prefix +
                       "\": JobSet name is too long, pod names generated for this JobSet will "
                       "exceed 63 characters");
    }
  }
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : ", ") + e;
    if (errors.size() > 1) joined = "[" + joined + "]";
    store_.RecordEvent("Warning", "TrainJobResourcesCreationFailed", "TrainJob",
                       r.obj.metadata.namespace_, r.obj.metadata.name,
                       "TrainJob resources reconciliation failed: admission webhook "
                       "\"vjobset.kb.io\" denied the request: " +
                           joined,
                       name_);
    r.built_generation = 0;  // nothing was applied
    return;
  }
  // Created, owned by the TrainJob (controller reference): the garbage collector deletes it
  // with the TrainJob, and its changes reach this controller.
  const uint32_t js = store_.AddJobSet(std::move(build.job_set));
  if (owner_of_job_set_.size() <= js) owner_of_job_set_.resize(js + 1, 0);
  owner_of_job_set_[js] = id + 1;
  store_.train_jobs()[id].job_set = js;
}

void TrainJobController::SetStatus(Record& r) {
  // The jobset plugin's Status: nothing while the JobSet does not exist (deleted by its TTL
  // or the deadline).
  if (r.job_set == cluster::kNone) return;
  const auto& js = store_.job_sets()[r.job_set];
  if (js.deleted) return;
  // The JobSet's Completed and Failed conditions, whole, under the TrainJob's type names.
  for (const auto& [from, to] : {std::pair<const char*, const char*>{"Completed", "Complete"},
                                 std::pair<const char*, const char*>{"Failed", "Failed"}}) {
    if (js.terminal_state != from) continue;
    for (auto it = js.history.rbegin(); it != js.history.rend(); ++it) {
      if (it->type != from) continue;
      if (to == std::string("Failed") && r.IsTrue("Failed")) break;  // DeadlineExceeded kept
      SetCondition(r, {to, "True", it->reason, it->message, it->at});
      break;
    }
  }
  r.jobs_status.clear();
  for (size_t i = 0; i < js.obj.replicated_jobs.size(); ++i) {
    r.jobs_status.emplace_back(
        js.obj.replicated_jobs[i].name,
        i < js.replicated.size() ? js.replicated[i] : cluster::JobSetRecord::ReplicatedJobStatus{});
  }
}

void TrainJobController::ReconcileDeadline(uint32_t id, Time now) {
  Record& r = store_.train_jobs()[id];
  if (r.obj.active_deadline_seconds == 0 || r.Finished() || r.obj.suspend) return;
  // From creation, or from the resume (Suspended False's lastTransitionTime).
  Time start = r.created_at;
  if (const auto* s = r.Find("Suspended"); s && s->status == "False") start = s->last_transition;
  const Time deadline = start + Duration::Seconds(r.obj.active_deadline_seconds);
  // Upstream requeues for the remaining time and fails the job when a reconcile finds the
  // deadline passed: at the deadline, give or take the work queue's latency.
  if (now >= deadline) {
    SetCondition(
        r, {"Failed", "True", "DeadlineExceeded", "TrainJob exceeded its active deadline", now});
    if (r.job_set != cluster::kNone) store_.DeleteJobSet(r.job_set);
    return;
  }
  if (deadline_timer_.size() <= id) deadline_timer_.resize(id + 1, cluster::kNever);
  if (deadline_timer_[id] != deadline) {
    deadline_timer_[id] = deadline;
    At(deadline, id);
  }
}

}  // namespace gputwin::controllers
