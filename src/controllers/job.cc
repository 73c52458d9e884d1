#include "controllers/job.h"

#include <algorithm>

#include "controllers/job_policies.h"
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
  // pkg/controller/ttlafterfinished deletes the Job with foreground propagation.
  store_.DeleteJob(id);
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
  rec.gang = job.gang;
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
  j.all_pods.push_back(pid);
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
  int32_t killed = 0;
  for (PodId p : active) {
    if (store_.pod(p).Terminal() || store_.pod(p).deleted) continue;
    store_.DeletePod(p);
    ++killed;
  }
  auto& j = store_.jobs()[id];
  // A failed Job's active pods are deleted and end Failed: status.failed counts them
  // (trackJobStatusAndRemoveFinalizers counts deleted pods as failed).
  if (condition == "Failed") j.failed += killed;
  store_.RecordEvent(condition == "Complete" ? "Normal" : "Warning",
                     condition == "Complete" ? "Completed" : reason, "Job",
                     j.obj.metadata.namespace_, j.obj.metadata.name,
                     condition == "Complete" ? "Job completed" : message, name_);
  store_.UpdateWorkload(WatchKind::kJob, id);
  auto& done = store_.jobs()[id];
  if (done.obj.ttl_seconds_after_finished) {
    At(now + Duration::Seconds(*done.obj.ttl_seconds_after_finished), kTtlTimer | id);
  }
  // A finished Job's pod template is read by no one any more (Sync stops at the condition;
  // its pods keep their own): a month of Jobs keeps only what the outputs show. A JobSet's
  // Jobs keep theirs (the JobSet controller reads and recreates them).
  if (done.obj.metadata.owner_references.empty()) done.obj.template_.reset();
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
  const bool per_index = indexed && job.obj.backoff_limit_per_index.has_value();
  if (indexed && job.succeeded_indexes.size() < static_cast<size_t>(*completions)) {
    const auto n = static_cast<size_t>(*completions);
    job.succeeded_indexes.resize(n, false);
    job.failed_indexes.resize(n, false);
    job.index_failures.resize(n, 0);
    job.index_ignored_failures.resize(n, 0);
    job.index_last_failure.resize(n, cluster::kNever);
  }

  // Account for pods that finished or were deleted since the last sync.
  std::vector<PodId> active;
  int32_t restarts = 0;
  std::string fail_job_message;  // the first pod that matched a FailJob rule
  std::vector<bool> index_active(indexed ? static_cast<size_t>(*completions) : 0, false);
  for (PodId pid : job.pods) {
    const auto& p = store_.pod(pid);
    const auto ix = static_cast<size_t>(p.completion_index);
    if (p.phase == PodPhase::kSucceeded) {
      ++job.succeeded;
      failures_since_success_[id] = 0;
      if (indexed && p.completion_index >= 0) job.succeeded_indexes[ix] = true;
    } else if (p.phase == PodPhase::kFailed || p.deleted) {
      // A deleted pod ends Failed (its containers are killed); with a podFailurePolicy the
      // controller matches how it ended before counting it.
      PodFailureMatch match;
      if (job.obj.pod_failure_policy) match = MatchPodFailurePolicy(*job.obj.pod_failure_policy, p);
      if (match.count_failed) ++job.failed;
      if (!match.fail_job_message.empty() && fail_job_message.empty()) {
        fail_job_message = match.fail_job_message;
      }
      ++failures_since_success_[id];
      job.last_failure = p.deleted && !p.Terminal() ? p.deleted_at : p.finished_at;
      if (per_index && p.completion_index >= 0) {
        // indexed_job_utils.go isIndexFailed: FailIndex, or a counted failure of an index
        // that already failed backoffLimitPerIndex times.
        if (match.action == "FailIndex" ||
            (match.count_failed && job.index_failures[ix] >= *job.obj.backoff_limit_per_index)) {
          job.failed_indexes[ix] = true;
        }
        ++(match.count_failed ? job.index_failures[ix] : job.index_ignored_failures[ix]);
        job.index_last_failure[ix] = job.last_failure;
      }
    } else {
      active.push_back(pid);
      restarts += p.restart_count;
      if (indexed && p.completion_index >= 0) index_active[ix] = true;
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

  // Terminal conditions, in the order syncJob evaluates them: a FailJob rule, the backoff
  // limit, the active deadline, then (Indexed) failed indexes and the success policy.
  if (!fail_job_message.empty()) {
    Finish(id, "Failed", "PodFailurePolicy", fail_job_message, now);
    return;
  }
  if (job.failed > job.obj.backoff_limit ||
      (job.obj.template_->spec.restart_policy == "OnFailure" &&
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
  if (per_index) {
    const auto failed = std::count(job.failed_indexes.begin(), job.failed_indexes.end(), true);
    const auto succeeded =
        std::count(job.succeeded_indexes.begin(), job.succeeded_indexes.end(), true);
    if (job.obj.max_failed_indexes && failed > *job.obj.max_failed_indexes) {
      Finish(id, "Failed", "MaxFailedIndexesExceeded",
             "Job has exceeded the specified maximal number of failed indexes", now);
      return;
    }
    if (failed > 0 && failed + succeeded >= *completions) {
      Finish(id, "Failed", "FailedIndexes", "Job has failed indexes", now);
      return;
    }
  }
  if (indexed && !job.obj.success_policy.empty()) {
    if (auto msg = MatchSuccessPolicy(job.obj.success_policy, job.succeeded_indexes)) {
      Finish(id, "Complete", "SuccessPolicy", *msg, now);
      return;
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
    // newSuccessCondition (JobSuccessPolicy, GA in 1.33).
    Finish(id, "Complete", "CompletionsReached", "Reached expected number of succeeded pods", now);
    return;
  }

  // How many pods should run now.
  int32_t want = parallelism;
  if (completions) {
    int32_t remaining = *completions - job.succeeded;
    if (per_index) {
      remaining -= static_cast<int32_t>(
          std::count(job.failed_indexes.begin(), job.failed_indexes.end(), true));
    }
    want = std::min(parallelism, remaining);
  } else if (job.succeeded > 0) {
    want = 0;  // work-queue Job: once one pod succeeded, no new pods
  }
  int32_t create = want - static_cast<int32_t>(active.size());
  if (create <= 0) return;
  // Pod failure backoff: 10s × 2^(failures − 1), at most 10m; counted since the last
  // success for the Job, or per index with backoffLimitPerIndex (backoff_utils.go).
  auto backoff_until = [](int32_t failures, Time last) {
    if (failures <= 0 || last == cluster::kNever) return cluster::kNever;
    Duration backoff = kPodFailureBackoff * (int64_t{1} << std::min(failures - 1, 20));
    return last + std::min(backoff, kMaxPodFailureBackoff);
  };
  if (!per_index) {
    Time ready = backoff_until(failures_since_success_[id], job.last_failure);
    if (ready != cluster::kNever && now < ready) {
      At(ready, id);
      return;
    }
  }
  if (indexed) {
    // The first `create` pending indexes (firstPendingIndexes); with backoffLimitPerIndex,
    // those still in their back-off wait and are not replaced by later ones
    // (getPodCreationInfoForIndependentIndexes).
    Time next_ready = cluster::kNever;
    for (size_t i = 0; i < index_active.size() && create > 0; ++i) {
      const auto& j = store_.jobs()[id];
      if (j.succeeded_indexes[i] || index_active[i] || (per_index && j.failed_indexes[i])) {
        continue;
      }
      --create;
      if (per_index) {
        Time ready = backoff_until(j.index_failures[i] + j.index_ignored_failures[i],
                                   j.index_last_failure[i]);
        if (ready != cluster::kNever && now < ready) {
          if (next_ready == cluster::kNever || ready < next_ready) next_ready = ready;
          continue;
        }
      }
      CreatePod(id, static_cast<int32_t>(i));
    }
    if (next_ready != cluster::kNever) At(next_ready, id);
  } else {
    for (int32_t i = 0; i < create; ++i) CreatePod(id, -1);
  }
}

}  // namespace gputwin::controllers
