#include "controllers/job.h"

#include <algorithm>

#include "controllers/names.h"

namespace gputwin::controllers {

using cluster::OwnerKind;
using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

JobController::JobController(Store* store, EventQueue* queue)
    : Controller("job-controller", store, queue,
                 cluster::Watches({WatchKind::kJob, WatchKind::kPod})) {}

void JobController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kJob) {
    dirty_.Add(id);
  } else if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != OwnerKind::kJob) return;
    if (op == WatchOp::kAdded) return;
    dirty_.Add(p.owner.index);
  } else {
    return;
  }
  RequestReconcile();
}

void JobController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) Sync(id, now);
}

void JobController::OnTimer(Time, uint64_t arg) {
  if (arg & kTtlTimer) {
    DeleteExpired(static_cast<uint32_t>(arg));
    return;
  }
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void JobController::DeleteExpired(uint32_t id) {
  auto& job = store_.jobs()[id];
  if (job.deleted) return;
  // pkg/controller/ttlafterfinished deletes the Job with foreground propagation: the
  // garbage collector removes its pods (finished ones included), then the Job.
  for (PodId p = 0; p < store_.pod_count(); ++p) {
    const auto& pod = store_.pod(p);
    if (pod.owner.kind == OwnerKind::kJob && pod.owner.index == id && !pod.deleted) {
      store_.DeletePod(p);
    }
  }
  store_.jobs()[id].deleted = true;
  store_.UpdateWorkload(WatchKind::kJob, id);
}

void JobController::CreatePod(uint32_t id, int32_t index) {
  auto& job = store_.jobs()[id];
  const std::string& ns = job.obj.metadata.namespace_;
  cluster::PodRecord rec;
  rec.namespace_ = ns;
  std::string base = job.obj.metadata.name + "-";
  if (index >= 0) base += std::to_string(index) + "-";
  rec.name = base + NameSuffix(HashString(ns + "/" + job.obj.metadata.name), job.next_suffix++);
  rec.tmpl = job.tmpl;
  rec.owner = {OwnerKind::kJob, id};
  rec.completion_index = index;
  std::string error;
  PodId pid = store_.CreatePod(std::move(rec), &error);
  auto& j = store_.jobs()[id];
  if (pid == cluster::kNone) {
    store_.RecordEvent("Warning", "FailedCreate", "Job", ns, j.obj.metadata.name,
                       "Error creating: " + error, name_);
    After(Duration::Seconds(10), id);  // retried on the API backoff
    return;
  }
  j.pods.push_back(pid);
  store_.RecordEvent("Normal", "SuccessfulCreate", "Job", ns, j.obj.metadata.name,
                     "Created pod: " + store_.pod(pid).name, name_);
}

void JobController::Finish(uint32_t id, const std::string& condition, const std::string& reason,
                           const std::string& message, Time now) {
  auto& job = store_.jobs()[id];
  job.condition = condition;
  job.condition_reason = reason;
  job.condition_message = message;
  job.completion_time = now;
  std::vector<PodId> active = job.pods;
  for (PodId p : active) {
    if (!store_.pod(p).Terminal()) store_.DeletePod(p);
  }
  auto& j = store_.jobs()[id];
  store_.RecordEvent(condition == "Complete" ? "Normal" : "Warning",
                     condition == "Complete" ? "Completed" : reason, "Job",
                     j.obj.metadata.namespace_, j.obj.metadata.name, message, name_);
  store_.UpdateWorkload(WatchKind::kJob, id);
  if (j.obj.ttl_seconds_after_finished) {
    At(now + Duration::Seconds(*j.obj.ttl_seconds_after_finished), kTtlTimer | id);
  }
}

void JobController::Sync(uint32_t id, Time now) {
  auto& job = store_.jobs()[id];
  if (job.deleted || !job.condition.empty()) return;
  if (failures_since_success_.size() <= id) {
    failures_since_success_.resize(id + 1, 0);
    deadline_armed_.resize(id + 1, false);
  }
  if (job.obj.suspend && job.pods.empty()) {
    job.start_time = cluster::kNever;
    return;
  }
  const int32_t parallelism = job.obj.parallelism.value_or(1);
  const std::optional<int32_t> completions =
      job.obj.parallelism || job.obj.completions ? job.obj.completions : std::optional<int32_t>(1);
  const bool indexed = job.obj.completion_mode == "Indexed";
  if (indexed && job.succeeded_indexes.size() < static_cast<size_t>(*completions)) {
    job.succeeded_indexes.resize(static_cast<size_t>(*completions), false);
  }

  // Account for pods that finished or were deleted since the last sync.
  std::vector<PodId> active;
  int32_t restarts = 0;
  std::vector<bool> index_active(indexed ? static_cast<size_t>(*completions) : 0, false);
  for (PodId pid : job.pods) {
    const auto& p = store_.pod(pid);
    if (p.phase == PodPhase::kSucceeded) {
      ++job.succeeded;
      failures_since_success_[id] = 0;
      if (indexed && p.completion_index >= 0) {
        job.succeeded_indexes[static_cast<size_t>(p.completion_index)] = true;
      }
    } else if (p.phase == PodPhase::kFailed || p.deleted) {
      ++job.failed;
      ++failures_since_success_[id];
      job.last_failure = p.deleted && !p.Terminal() ? p.deleted_at : p.finished_at;
    } else {
      active.push_back(pid);
      restarts += p.restart_count;
      if (indexed && p.completion_index >= 0) {
        index_active[static_cast<size_t>(p.completion_index)] = true;
      }
    }
  }
  job.pods = active;

  // Suspended (by a user or Kueue): active pods are deleted, not counted as failures,
  // and startTime is cleared so activeDeadlineSeconds restarts when the Job resumes.
  if (job.obj.suspend) {
    for (PodId pid : active) store_.DeletePod(pid);
    auto& j = store_.jobs()[id];
    j.pods.clear();
    j.start_time = cluster::kNever;
    deadline_armed_[id] = false;
    return;
  }
  if (job.start_time == cluster::kNever) job.start_time = now;

  // Terminal conditions, in the order syncJob checks them.
  if (job.failed > job.obj.backoff_limit ||
      (job.obj.template_.spec.restart_policy == "OnFailure" &&
       (job.obj.backoff_limit == 0 ? restarts > 0 : restarts >= job.obj.backoff_limit))) {
    Finish(id, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
           now);
    return;
  }
  if (job.obj.active_deadline_seconds) {
    Time deadline = job.start_time + Duration::Seconds(*job.obj.active_deadline_seconds);
    if (now >= deadline) {
      Finish(id, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline",
             now);
      return;
    }
    if (!deadline_armed_[id]) {
      deadline_armed_[id] = true;
      At(deadline, id);
    }
  }
  bool complete = false;
  if (completions) {
    if (indexed) {
      complete = std::all_of(job.succeeded_indexes.begin(), job.succeeded_indexes.end(),
                             [](bool b) { return b; });
    } else {
      complete = job.succeeded >= *completions;
    }
  } else {
    complete = job.succeeded > 0 && active.empty();
  }
  if (complete) {
    Finish(id, "Complete", "", "Job completed", now);
    return;
  }

  // How many pods should run now.
  int32_t want = parallelism;
  if (completions) {
    want = std::min(parallelism, *completions - job.succeeded);
  } else if (job.succeeded > 0) {
    want = 0;  // work-queue Job: once one pod succeeded, no new pods
  }
  int32_t create = want - static_cast<int32_t>(active.size());
  if (create <= 0) return;
  // Pod failure backoff: 10s × 2^(failures since the last success − 1), at most 10m.
  if (failures_since_success_[id] > 0 && job.last_failure != cluster::kNever) {
    int32_t n = failures_since_success_[id] - 1;
    Duration backoff = kPodFailureBackoff * (int64_t{1} << std::min(n, 20));
    backoff = std::min(backoff, kMaxPodFailureBackoff);
    Time ready = job.last_failure + backoff;
    if (now < ready) {
      At(ready, id);
      return;
    }
  }
  if (indexed) {
    for (size_t i = 0; i < index_active.size() && create > 0; ++i) {
      if (store_.jobs()[id].succeeded_indexes[i] || index_active[i]) continue;
      CreatePod(id, static_cast<int32_t>(i));
      --create;
    }
  } else {
    for (int32_t i = 0; i < create; ++i) CreatePod(id, -1);
  }
}

}  // namespace gputwin::controllers
