#include "controllers/cronjob.h"

#include <algorithm>

namespace gputwin::controllers {

using cluster::WatchKind;
using cluster::WatchOp;

CronJobController::CronJobController(cluster::Store* store, EventQueue* queue,
                                     std::vector<api::CronJob> cron_jobs)
    : Controller("cronjob-controller", store, queue, cluster::Watches({WatchKind::kJob})) {
  for (auto& cj : cron_jobs) {
    State s;
    s.schedule = CronSchedule::Parse(cj.schedule);  // checked when decoded
    s.spec = std::move(cj);
    s.created = store->now();
    cron_jobs_.push_back(std::move(s));
  }
}

void CronJobController::Start() {
  for (size_t i = 0; i < cron_jobs_.size(); ++i) dirty_.Add(static_cast<uint32_t>(i));
  RequestReconcile();
}

std::string CronJobController::Zone(const State& s) const {
  return s.spec.time_zone.value_or("UTC");
}

void CronJobController::OnWatch(WatchKind, WatchOp, uint32_t id) {
  // A Job of ours changed (finished, deleted): history limits and Forbid's waiting run.
  if (id >= owner_of_job_.size() || owner_of_job_[id] == 0) return;
  dirty_.Add(static_cast<uint32_t>(owner_of_job_[id] - 1));
  RequestReconcile();
}

void CronJobController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void CronJobController::Reconcile(Time now) {
  for (uint32_t i : dirty_.Drain()) Sync(i, now);
}

void CronJobController::Sync(size_t index, Time now) {
  State& s = cron_jobs_[index];
  const std::string& ns = s.spec.metadata.namespace_;
  const std::string& name = s.spec.metadata.name;
  auto finished = [&](uint32_t j) { return !store_.jobs()[j].condition.empty(); };
  std::vector<uint32_t> active;
  for (uint32_t j : s.jobs) {
    if (!store_.jobs()[j].deleted && !finished(j)) active.push_back(j);
  }

  // cleanupFinishedJobs: keep the newest successful and failed Jobs up to the limits.
  for (const bool complete : {true, false}) {
    std::vector<uint32_t> done;
    for (uint32_t j : s.jobs) {
      const auto& job = store_.jobs()[j];
      if (!job.deleted && finished(j) && (job.condition == "Complete") == complete) {
        done.push_back(j);
      }
    }
    const auto limit = static_cast<size_t>(complete ? s.spec.successful_jobs_history_limit
                                                    : s.spec.failed_jobs_history_limit);
    if (done.size() <= limit) continue;
    // Oldest first by start time (by creation when never started), as upstream sorts.
    std::stable_sort(done.begin(), done.end(), [&](uint32_t a, uint32_t b) {
      return store_.jobs()[a].start_time < store_.jobs()[b].start_time;
    });
    for (size_t k = 0; k + limit < done.size(); ++k) {
      store_.DeleteJob(done[k]);
      store_.RecordEvent("Normal", "SuccessfulDelete", "CronJob", ns, name,
                         "Deleted job " + store_.jobs()[done[k]].obj.metadata.name, name_);
    }
  }
  std::erase_if(s.jobs, [&](uint32_t j) { return store_.jobs()[j].deleted; });

  const Time next = s.schedule.Next(now, Zone(s));
  auto requeue = [&] {
    if (next.ns != INT64_MAX) At(next, index);
  };
  if (s.spec.suspend) return;

  // mostRecentScheduleTime: the latest schedule time in (earliest, now], where earliest is
  // the last schedule time (or the creation), moved up to now − startingDeadlineSeconds.
  Time earliest = s.last_schedule_time != cluster::kNever ? s.last_schedule_time : s.created;
  if (s.spec.starting_deadline_seconds) {
    earliest = std::max(earliest, now + Duration::Seconds(-*s.spec.starting_deadline_seconds));
  }
  Time scheduled = cluster::kNever;
  int missed = 0;
  for (Time t = s.schedule.Next(earliest, Zone(s)); t <= now && missed <= 100;
       t = s.schedule.Next(t, Zone(s))) {
    scheduled = t;
    ++missed;
  }
  if (scheduled == cluster::kNever) {
    requeue();
    return;
  }
  if (s.spec.starting_deadline_seconds &&
      scheduled + Duration::Seconds(*s.spec.starting_deadline_seconds) < now) {
    ++s.missed_deadline;
    store_.RecordEvent("Warning", "MissSchedule", "CronJob", ns, name,
                       "Missed scheduled time to start a job: " + FormatRFC3339(scheduled), name_);
    requeue();
    return;
  }
  if (s.spec.concurrency_policy == "Forbid" && !active.empty()) {
    // Not started; the time stays unmet, so the Job starts when the running one ends.
    ++s.skipped_forbid;
    requeue();
    return;
  }
  if (s.spec.concurrency_policy == "Replace") {
    for (uint32_t j : active) {
      store_.RecordEvent("Normal", "SuccessfulDelete", "CronJob", ns, name,
                         "Deleted job " + store_.jobs()[j].obj.metadata.name, name_);
      store_.DeleteJob(j);
    }
  }
  // getJobFromTemplate2: <name>-<scheduled time in minutes since the epoch>.
  api::Job job = s.spec.job_template;
  job.metadata.name = name + "-" + std::to_string(scheduled.ns / 60'000'000'000);
  job.metadata.generate_name.clear();
  job.metadata.namespace_ = ns;
  job.metadata.source = s.spec.metadata.source;
  job.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
      FormatRFC3339(scheduled);
  job.metadata.owner_references.push_back({"CronJob", name, true});
  const uint32_t id = store_.AddJob(std::move(job));
  if (owner_of_job_.size() <= id) owner_of_job_.resize(id + 1, 0);
  owner_of_job_[id] = index + 1;
  State& st = cron_jobs_[index];
  st.jobs.push_back(id);
  st.last_schedule_time = scheduled;
  ++st.created_jobs;
  store_.RecordEvent("Normal", "SuccessfulCreate", "CronJob", ns, name,
                     "Created job " + store_.jobs()[id].obj.metadata.name, name_);
  requeue();
}

}  // namespace gputwin::controllers
