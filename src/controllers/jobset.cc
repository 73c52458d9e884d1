#include "controllers/jobset.h"

#include <algorithm>

#include "core/go_regexp.h"
#include "core/sha1.h"

namespace gputwin::controllers {

using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {

constexpr const char* kJobSetNameKey = "jobset.sigs.k8s.io/jobset-name";
constexpr const char* kJobKey = "jobset.sigs.k8s.io/job-key";

// min(parallelism ?? 1, completions ?? parallelism): the pods one Job runs at once.
int32_t PodsPerJob(const api::Job& j) {
  const int32_t parallelism = j.parallelism.value_or(1);
  return std::min(parallelism, j.completions.value_or(parallelism));
}

}  // namespace

JobSetController::JobSetController(cluster::Store* store, EventQueue* queue)
    : Controller("jobset-controller", store, queue,
                 cluster::Watches({WatchKind::kJobSet, WatchKind::kJob, WatchKind::kPod})) {}

void JobSetController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  if (kind == WatchKind::kJobSet) {
    dirty_.Add(id);
    RequestReconcile();
    return;
  }
  uint32_t job = id;
  if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != cluster::OwnerKind::kJob) return;
    job = p.owner.index;
  }
  if (job >= owner_of_job_.size() || owner_of_job_[job] == 0) return;
  dirty_.Add(owner_of_job_[job] - 1);
  RequestReconcile();
}

void JobSetController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void JobSetController::Reconcile(Time now) {
  for (uint32_t i : dirty_.Drain()) {
    // Kueue and the report read the status: a change is announced, once.
    auto& s = store_.job_sets()[i];
    const auto before = std::make_tuple(s.terminal_state, s.restarts, s.replicated);
    Sync(i, now);
    if (std::make_tuple(s.terminal_state, s.restarts, s.replicated) != before) {
      store_.UpdateWorkload(WatchKind::kJobSet, i);
    }
  }
}

void JobSetController::SetCondition(State& s, Time now, const std::string& type,
                                    const std::string& reason, const std::string& message,
                                    bool warning) {
  // updateCondition: a condition already True with that reason is not written again.
  if (!s.history.empty() && s.history.back().type == type && s.history.back().reason == reason) {
    return;
  }
  s.history.push_back({now, type, reason, message});
  store_.RecordEvent(warning ? "Warning" : "Normal", reason, "JobSet", s.obj.metadata.namespace_,
                     s.obj.metadata.name, message, name_);
}

void JobSetController::Fail(State& s, Time now, const std::string& reason,
                            const std::string& message) {
  s.terminal_state = "Failed";
  s.finished_at = now;
  SetCondition(s, now, "Failed", reason, message, true);
}

bool JobSetController::JobReady(uint32_t id) const {
  const auto& job = store_.jobs()[id];
  int32_t ready = 0;
  for (cluster::PodId p : job.pods) ready += store_.pod(p).Ready() ? 1 : 0;
  return job.succeeded + ready >= PodsPerJob(job.obj);
}

void JobSetController::CountStatuses(State& s) {
  s.replicated.assign(s.obj.replicated_jobs.size(), State::ReplicatedJobStatus{});
  size_t next = 0;
  for (size_t r = 0; r < s.obj.replicated_jobs.size(); ++r) {
    for (int32_t i = 0; i < s.obj.replicated_jobs[r].replicas; ++i, ++next) {
      if (next >= s.jobs.size() || s.jobs[next] == cluster::kNone) continue;
      const auto& job = store_.jobs()[s.jobs[next]];
      if (job.deleted) continue;
      auto& st = s.replicated[r];
      if (job.condition == "Complete") {
        ++st.succeeded;
      } else if (job.condition == "Failed") {
        ++st.failed;
      } else {
        if (JobReady(s.jobs[next])) ++st.ready;
        const bool active = std::any_of(job.pods.begin(), job.pods.end(), [&](cluster::PodId p) {
          return !store_.pod(p).Terminal() && !store_.pod(p).deleted;
        });
        st.active += active ? 1 : 0;
        st.suspended += job.obj.suspend ? 1 : 0;
      }
    }
  }
}

api::Job JobSetController::ConstructJob(const State& s, size_t rjob, int32_t job_index) const {
  const auto& js = s.obj;
  const auto& rj = js.replicated_jobs[rjob];
  api::Job job = rj.template_;
  job.metadata.name = js.metadata.name + "-" + rj.name + "-" + std::to_string(job_index);
  job.metadata.generate_name.clear();
  job.metadata.namespace_ = js.metadata.namespace_;
  job.metadata.source = rj.source;
  int32_t global = job_index, total = 0;
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    total += js.replicated_jobs[r].replicas;
    if (r < rjob) global += js.replicated_jobs[r].replicas;
  }
  // labelAndAnnotateObject: on the Job and on its pods, as labels and annotations.
  const std::string key =
      Sha1Hex(job.metadata.namespace_ + "/" + job.metadata.name);  // jobset's job-key
  const std::vector<std::pair<std::string, std::string>> marks = {
      {kJobSetNameKey, js.metadata.name},
      {"jobset.sigs.k8s.io/replicatedjob-name", rj.name},
      {"jobset.sigs.k8s.io/restart-attempt", std::to_string(s.restarts)},
      {"jobset.sigs.k8s.io/replicatedjob-replicas", std::to_string(rj.replicas)},
      {"jobset.sigs.k8s.io/global-replicas", std::to_string(total)},
      {"jobset.sigs.k8s.io/job-index", std::to_string(job_index)},
      {kJobKey, key},
      {"jobset.sigs.k8s.io/job-global-index", std::to_string(global)},
      {"jobset.sigs.k8s.io/group-name", rj.group_name}};
  for (const auto& [k, v] : marks) {
    job.metadata.labels[k] = v;
    job.metadata.annotations[k] = v;
    job.template_->metadata.labels[k] = v;
    job.template_->metadata.annotations[k] = v;
  }
  job.metadata.owner_references.push_back({"JobSet", js.metadata.name, true});
  job.suspend = js.suspend;
  // Exclusive placement (the pod webhook's setExclusiveAffinities): the Job's pods share
  // one topology domain and no other Job's pods are in it. Upstream gives the leader the
  // affinities and pins the followers to its domain; every pod carrying them ends alike.
  if (!js.exclusive_topology.empty()) {
    auto& spec = job.template_->spec;
    api::PodAffinityTerm with_own;
    with_own.label_selector = api::LabelSelector{{}, {{kJobKey, "In", {key}}}};
    with_own.namespace_selector = api::LabelSelector{};
    with_own.topology_key = js.exclusive_topology;
    api::PodAffinityTerm without_others;
    without_others.label_selector =
        api::LabelSelector{{}, {{kJobKey, "Exists", {}}, {kJobKey, "NotIn", {key}}}};
    without_others.namespace_selector = api::LabelSelector{};
    without_others.topology_key = js.exclusive_topology;
    if (!spec.pod_affinity) spec.pod_affinity = api::PodAffinity{};
    if (!spec.pod_anti_affinity) spec.pod_anti_affinity = api::PodAffinity{};
    spec.pod_affinity->required.push_back(std::move(with_own));
    spec.pod_anti_affinity->required.push_back(std::move(without_others));
    job.template_->metadata.annotations["alpha.jobset.sigs.k8s.io/exclusive-topology"] =
        js.exclusive_topology;
  }
  return job;
}

void JobSetController::CreateJob(uint32_t id, size_t rjob, int32_t job_index) {
  State& s = store_.job_sets()[id];
  const uint32_t job = store_.AddJob(ConstructJob(s, rjob, job_index));
  store_.jobs()[job].gang = s.gang;
  if (owner_of_job_.size() <= job) owner_of_job_.resize(job + 1, 0);
  owner_of_job_[job] = id + 1;
  size_t global = static_cast<size_t>(job_index);
  for (size_t r = 0; r < rjob; ++r)
    global += static_cast<size_t>(s.obj.replicated_jobs[r].replicas);
  if (s.jobs.size() <= global) s.jobs.resize(global + 1, cluster::kNone);
  s.jobs[global] = job;
}

void JobSetController::SuspendJobs(State& s) {
  for (uint32_t id : s.jobs) {
    if (id == cluster::kNone) continue;
    auto& job = store_.jobs()[id];
    if (job.deleted || !job.condition.empty() || job.obj.suspend) continue;
    job.obj.suspend = true;
    job.tmpl = store_.MakeJobTemplate(job.obj);
    store_.UpdateWorkload(WatchKind::kJob, id);
  }
}

void JobSetController::ResumeJobs(State& s, size_t rjob) {
  size_t first = 0;
  for (size_t r = 0; r < rjob; ++r) first += static_cast<size_t>(s.obj.replicated_jobs[r].replicas);
  const auto& rt = *s.obj.replicated_jobs[rjob].template_.template_;
  for (int32_t i = 0; i < s.obj.replicated_jobs[rjob].replicas; ++i) {
    const size_t g = first + static_cast<size_t>(i);
    if (g >= s.jobs.size() || s.jobs[g] == cluster::kNone) continue;
    auto& job = store_.jobs()[s.jobs[g]];
    if (job.deleted || !job.obj.suspend) continue;
    // resumeJob: the template's labels, annotations, nodeSelector, tolerations and
    // scheduling gates merged into the Job's.
    auto& t = *job.obj.template_;
    for (const auto& [k, v] : rt.metadata.labels) t.metadata.labels[k] = v;
    for (const auto& [k, v] : rt.metadata.annotations) t.metadata.annotations[k] = v;
    for (const auto& [k, v] : rt.spec.node_selector) t.spec.node_selector[k] = v;
    for (const auto& tol : rt.spec.tolerations) {
      if (std::find(t.spec.tolerations.begin(), t.spec.tolerations.end(), tol) ==
          t.spec.tolerations.end()) {
        t.spec.tolerations.push_back(tol);
      }
    }
    for (const auto& gate : rt.spec.scheduling_gates) {
      if (std::find(t.spec.scheduling_gates.begin(), t.spec.scheduling_gates.end(), gate) ==
          t.spec.scheduling_gates.end()) {
        t.spec.scheduling_gates.push_back(gate);
      }
    }
    job.obj.suspend = false;
    job.tmpl = store_.MakeJobTemplate(job.obj);
    store_.UpdateWorkload(WatchKind::kJob, s.jobs[g]);
  }
}

void JobSetController::DeleteJobs(State& s, bool active_only) {
  for (uint32_t& id : s.jobs) {
    if (id == cluster::kNone) continue;
    const auto& job = store_.jobs()[id];
    if (active_only && !job.condition.empty()) continue;
    store_.DeleteJob(id);
    if (!active_only) id = cluster::kNone;
  }
}

void JobSetController::Sync(uint32_t index, Time now) {
  State& s = store_.job_sets()[index];
  const auto& js = s.obj;
  if (s.deleted) return;
  // Another controller (MultiKueue) owns it: left alone (warned when read).
  if (js.managed_by && *js.managed_by != "jobset.sigs.k8s.io/jobset-controller") return;
  CountStatuses(s);
  if (!s.terminal_state.empty()) {
    // Finished: active Jobs are deleted; the TTL deletes the JobSet and its Jobs.
    DeleteJobs(s, /*active_only=*/true);
    if (js.ttl_seconds_after_finished) {
      const Time expiry = s.finished_at + Duration::Seconds(*js.ttl_seconds_after_finished);
      if (now >= expiry) {
        DeleteJobs(s, /*active_only=*/false);
        s.deleted = true;
        store_.RecordEvent("Normal", "Deleted", "JobSet", js.metadata.namespace_, js.metadata.name,
                           "JobSet deleted after ttlSecondsAfterFinished", name_);
      } else {
        At(expiry, index);
      }
    }
    return;
  }
  if (s.gang == cluster::kNone) {
    auto gang = js.metadata.annotations.find("gputwin.io/gang");
    if (gang == js.metadata.annotations.end() || gang->second != "false") {
      int32_t size = 0;
      for (const auto& rj : js.replicated_jobs) size += rj.replicas * PodsPerJob(rj.template_);
      s.gang = store_.AddGang({js.metadata.namespace_ + "/" + js.metadata.name, size});
    }
  }
  // Failures first (executeFailurePolicy), then successes.
  uint32_t first_failed = cluster::kNone;
  for (uint32_t id : s.jobs) {
    if (id == cluster::kNone || store_.jobs()[id].condition != "Failed") continue;
    if (first_failed == cluster::kNone ||
        store_.jobs()[id].completion_time < store_.jobs()[first_failed].completion_time) {
      first_failed = id;
    }
  }
  if (first_failed != cluster::kNone) {
    const auto& failed = store_.jobs()[first_failed];
    const std::string job_name = failed.obj.metadata.name;
    if (!js.failure_policy) {
      Fail(s, now, "FailedJobs",
           "jobset failed due to one or more job failures (first failed job: " + job_name + ")");
      DeleteJobs(s, /*active_only=*/true);
      return;
    }
    // The first rule that matches a failed Job, on the Job that failed first among those.
    const api::JobSetFailurePolicyRule* rule = nullptr;
    uint32_t rule_job = first_failed;
    for (const auto& r : js.failure_rules) {
      for (uint32_t id : s.jobs) {
        if (id == cluster::kNone) continue;
        const auto& j = store_.jobs()[id];
        if (j.condition != "Failed") continue;
        const std::string& rjob = j.obj.metadata.labels.at("jobset.sigs.k8s.io/replicatedjob-name");
        auto in = [](const std::vector<std::string>& list, const std::string& v) {
          return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
        };
        bool message_ok = r.on_job_failure_message_patterns.empty();
        for (const auto& pattern : r.on_job_failure_message_patterns) {
          // Go's regexp.MatchString: the pattern anywhere in the message.
          message_ok = message_ok || core::GoRegexp(pattern).MatchString(j.condition_message);
        }
        if (!in(r.on_job_failure_reasons, j.condition_reason) || !message_ok ||
            !in(r.target_replicated_jobs, rjob)) {
          continue;
        }
        if (!rule || j.completion_time < store_.jobs()[rule_job].completion_time) rule_job = id;
        rule = &r;
      }
      if (rule) break;
    }
    const std::string action = rule ? rule->action : "RestartJobSet";
    const std::string failed_name = store_.jobs()[rule_job].obj.metadata.name;
    if (action == "FailJobSet") {
      Fail(s, now, "FailJobSetFailurePolicyAction",
           "applying FailJobSet failure policy action (first failed job: " + failed_name + ")");
      DeleteJobs(s, /*active_only=*/true);
      return;
    }
    const bool counted = action == "RestartJobSet" || action == "RestartJob";
    if (counted && s.restarts_count_towards_max >= js.max_restarts) {
      Fail(s, now, "ReachedMaxRestarts",
           "jobset failed due to reaching max number of restarts (first failed job: " +
               failed_name + ")");
      DeleteJobs(s, /*active_only=*/true);
      return;
    }
    ++s.restarts;
    if (counted) ++s.restarts_count_towards_max;
    const bool ignore =
        action == "RestartJobSetAndIgnoreMaxRestarts" || action == "RestartJobAndIgnoreMaxRestarts";
    SetCondition(s, now, "RestartingJobSet",
                 rule ? "FailurePolicy_" + rule->name : "DefaultFailurePolicy",
                 std::string("applying RestartJobSet") + (ignore ? "AndIgnoreMaxRestarts" : "") +
                     " failure policy action (first failed job: " + failed_name + ")",
                 true);
    // Every Job of the previous attempt goes (foreground); each is created again under its
    // name once gone, which in the twin is at once. The new attempt is a new gang.
    DeleteJobs(s, /*active_only=*/false);
    s.startup_completed = false;
    if (s.gang != cluster::kNone) {
      s.past_gangs.push_back(s.gang);
      s.gang = store_.AddGang(
          {js.metadata.namespace_ + "/" + js.metadata.name, store_.gang(s.gang).size});
    }
    CountStatuses(s);
  } else {
    // executeSuccessPolicy: All (every targeted Job) or Any (one) complete.
    int32_t want = 0, done = 0;
    for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
      const auto& targets = js.success_target_replicated_jobs;
      if (!targets.empty() &&
          std::find(targets.begin(), targets.end(), js.replicated_jobs[r].name) == targets.end()) {
        continue;
      }
      want += js.replicated_jobs[r].replicas;
      done += s.replicated[r].succeeded;
    }
    if (js.success_operator == "Any") want = std::min(want, 1);
    if (done > 0 && done >= want) {
      s.terminal_state = "Completed";
      s.finished_at = now;
      SetCondition(s, now, "Completed", "AllJobsCompleted", "jobset completed successfully");
      dirty_.Add(index);  // the next reconcile deletes the active Jobs
      RequestReconcile();
      return;
    }
  }
  // reconcileReplicatedJobs: create what is missing, in order when asked.
  size_t global = 0;
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    const auto& rj = js.replicated_jobs[r];
    const size_t first = global;
    global += static_cast<size_t>(rj.replicas);
    auto started = [&](size_t k) {
      const auto& st = s.replicated[k];
      return js.replicated_jobs[k].replicas == st.ready + st.succeeded + st.failed;
    };
    if (!js.suspend) {
      // dependencyReachedStatus: every dependency at its status.
      bool reached = true;
      for (const auto& [name, status] : rj.depends_on) {
        size_t dep = 0;
        while (js.replicated_jobs[dep].name != name) ++dep;
        const auto& st = s.replicated[dep];
        reached =
            reached && (status == "Complete" ? js.replicated_jobs[dep].replicas == st.succeeded
                                             : started(dep));
      }
      if (!reached) continue;
    }
    bool created = false;
    for (int32_t i = 0; i < rj.replicas; ++i) {
      const size_t g = first + static_cast<size_t>(i);
      if (g < s.jobs.size() && s.jobs[g] != cluster::kNone) continue;
      CreateJob(index, r, i);
      created = true;
    }
    if (js.suspend) continue;  // created suspended, all of them; suspended below
    ResumeJobs(s, r);
    if (js.startup_policy_order == "InOrder") {
      if (created) CountStatuses(s);
      if (!started(r)) {
        if (created) {
          SetCondition(s, now, "StartupPolicyInProgress", "InOrderStartupPolicyInProgress",
                       "in order startup policy is in progress");
        }
        return;
      }
      if (r + 1 == js.replicated_jobs.size() && !s.startup_completed) {
        s.startup_completed = true;
        SetCondition(s, now, "StartupPolicyCompleted", "InOrderStartupPolicyCompleted",
                     "in order startup policy has completed");
      }
    }
  }
  if (js.suspend) SuspendJobs(s);
}

}  // namespace gputwin::controllers
