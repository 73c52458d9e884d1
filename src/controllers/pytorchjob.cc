#include "controllers/pytorchjob.h"

#include <algorithm>

namespace gputwin::controllers {

using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

PyTorchJobController::PyTorchJobController(cluster::Store* store, EventQueue* queue)
    : Controller("pytorchjob-controller", store, queue,
                 cluster::Watches({WatchKind::kPyTorchJob, WatchKind::kPod})) {}

void PyTorchJobController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  if (kind == WatchKind::kPod) {
    const auto& p = store_.pod(id);
    if (p.owner.kind != cluster::OwnerKind::kPyTorchJob) return;
    id = p.owner.index;
  }
  dirty_.Add(id);
  RequestReconcile();
}

void PyTorchJobController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void PyTorchJobController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) {
    auto& r = store_.pytorch_jobs()[id];
    const auto before = std::make_pair(r.condition, r.replicas);
    Sync(id, now);
    // Kueue reads the conditions and replica statuses: a change is announced.
    if (std::make_pair(r.condition, r.replicas) != before) {
      store_.UpdateWorkload(WatchKind::kPyTorchJob, id);
    }
  }
}

void PyTorchJobController::SetCondition(Record& r, Time now, const std::string& type,
                                        const std::string& reason, const std::string& message,
                                        bool warning) {
  // setCondition: the same type and reason is not written again; once Failed, nothing
  // changes.
  if (r.condition == "Failed") return;
  if (!r.history.empty() && r.condition == type && r.history.back().reason == reason) return;
  r.condition = type;
  r.history.push_back({now, type, reason, message});
  store_.RecordEvent(warning ? "Warning" : "Normal", reason, "PyTorchJob",
                     r.obj.metadata.namespace_, r.obj.metadata.name, message, name_);
}

void PyTorchJobController::CountStatuses(Record& r) const {
  r.replicas.assign(r.obj.replica_specs.size(), Record::ReplicaStatus{});
  for (size_t t = 0; t < r.pods.size(); ++t) {
    for (cluster::PodId p : r.pods[t]) {
      if (p == cluster::kNone) continue;
      const auto& pod = store_.pod(p);
      if (pod.deleted) continue;
      // active counts Running pods only (Pending ones are not counted).
      if (pod.phase == PodPhase::kRunning) ++r.replicas[t].active;
      if (pod.phase == PodPhase::kSucceeded) ++r.replicas[t].succeeded;
      if (pod.phase == PodPhase::kFailed) ++r.replicas[t].failed;
    }
  }
}

void PyTorchJobController::DeletePods(Record& r, bool running_or_pending_only) {
  for (auto& slots : r.pods) {
    for (cluster::PodId p : slots) {
      if (p == cluster::kNone) continue;
      const auto& pod = store_.pod(p);
      if (pod.deleted || (running_or_pending_only && pod.Terminal())) continue;
      store_.RecordEvent("Normal", "SuccessfulDeletePod", "PyTorchJob", r.obj.metadata.namespace_,
                         r.obj.metadata.name, "Deleted pod: " + pod.name, name_);
      store_.DeletePod(p);
    }
  }
}

void PyTorchJobController::CreatePod(uint32_t id, size_t type, int32_t index) {
  auto& r = store_.pytorch_jobs()[id];
  const auto& spec = r.obj.replica_specs[type];
  cluster::PodRecord rec;
  rec.namespace_ = r.obj.metadata.namespace_;
  rec.name = r.obj.metadata.name + "-" + Lower(spec.type) + "-" + std::to_string(index);
  rec.tmpl = r.tmpl[type];
  rec.owner = {cluster::OwnerKind::kPyTorchJob, id};
  rec.completion_index = index;
  rec.gang = r.gang;
  std::string error;
  const cluster::PodId pid = store_.CreatePod(std::move(rec), &error);
  if (pid == cluster::kNone) return;  // the old pod of that name is still there
  r.pods[type][static_cast<size_t>(index)] = pid;
  store_.RecordEvent("Normal", "SuccessfulCreatePod", "PyTorchJob", r.obj.metadata.namespace_,
                     r.obj.metadata.name, "Created pod: " + store_.pod(pid).name, name_);
}

void PyTorchJobController::Sync(uint32_t id, Time now) {
  auto& r = store_.pytorch_jobs()[id];
  const auto& job = r.obj;
  const std::string& name = job.metadata.name;
  const std::string ns_name = job.metadata.namespace_ + "/" + name;
  if (r.deleted) return;
  if (job.managed_by && *job.managed_by != "kubeflow.org/training-operator") return;
  if (r.tmpl.empty()) {
    // The pods' templates: the operator's labels over the replica template's (again when
    // Kueue has written its flavors into the replica templates).
    for (const auto& spec : job.replica_specs) {
      api::ObjectMeta meta = spec.template_.metadata;
      meta.labels["training.kubeflow.org/operator-name"] = "pytorchjob-controller";
      meta.labels["training.kubeflow.org/job-name"] = name;
      meta.labels["training.kubeflow.org/replica-type"] = Lower(spec.type);
      const bool master_role =
          spec.type == "Master" || (spec.type == "Worker" && !job.Master());  // worker 0
      if (master_role && spec.type == "Master")
        meta.labels["training.kubeflow.org/job-role"] = "master";
      r.tmpl.push_back(store_.MakeTemplate(meta, spec.template_.spec, job.metadata.namespace_));
    }
  }
  if (r.pods.empty()) {
    for (const auto& spec : job.replica_specs) {
      r.pods.emplace_back(static_cast<size_t>(spec.replicas), cluster::kNone);
    }
    int32_t size = 0;
    for (const auto& spec : job.replica_specs) {
      size += spec.type == "Worker" && job.elastic_min_replicas ? *job.elastic_min_replicas
                                                                : spec.replicas;
    }
    r.gang = store_.AddGang({job.metadata.namespace_ + "/" + name, size});
    SetCondition(r, now, "Created", "PyTorchJobCreated", "PyTorchJob " + name + " is created.");
  }
  if (r.Finished()) {
    // CleanUpResources by cleanPodPolicy; the TTL deletes the job.
    if (job.clean_pod_policy != "None") DeletePods(r, job.clean_pod_policy == "Running");
    if (job.ttl_seconds_after_finished && r.completion_time != cluster::kNever) {
      const Time expiry = r.completion_time + Duration::Seconds(*job.ttl_seconds_after_finished);
      if (now >= expiry) {
        DeletePods(r, false);
        r.deleted = true;
      } else {
        At(expiry, id);
      }
    }
    return;
  }
  if (job.suspend) {
    DeletePods(r, false);
    CountStatuses(r);
    if (r.condition != "Suspended") {
      SetCondition(r, now, "Suspended", "PyTorchJobSuspended",
                   "PyTorchJob " + name + " is suspended.");
    }
    return;
  }
  if (r.condition == "Suspended") {
    SetCondition(r, now, "Resumed", "PyTorchJobResumed", "PyTorchJob " + name + " is resumed.");
    r.start_time = now;  // activeDeadlineSeconds starts again
  }
  // Backoff and deadline (ReconcileJobs), on the pods as they are now.
  const auto previous = r.replicas;
  CountStatuses(r);
  int32_t failed_now = 0, failed_before = 0, active = 0, total = 0, restarts = 0;
  for (size_t t = 0; t < r.replicas.size(); ++t) {
    failed_now += r.replicas[t].failed;
    failed_before += t < previous.size() ? previous[t].failed : 0;
    active += r.replicas[t].active;
    total += job.replica_specs[t].replicas;
    if (job.replica_specs[t].restart_policy == "Never") continue;
    for (cluster::PodId p : r.pods[t]) {
      if (p != cluster::kNone && !store_.pod(p).deleted &&
          store_.pod(p).phase == PodPhase::kRunning) {
        restarts += store_.pod(p).restart_count;
      }
    }
  }
  bool past_backoff = false;
  if (job.backoff_limit) {
    const int32_t limit = *job.backoff_limit;
    past_backoff = (limit == 0 && failed_now > failed_before && active != total) ||
                   (limit == 0 && restarts > 0) || (limit > 0 && restarts >= limit);
  }
  const bool past_deadline = !past_backoff && job.active_deadline_seconds &&
                             r.start_time != cluster::kNever &&
                             now - r.start_time >= Duration::Seconds(*job.active_deadline_seconds);
  if (past_backoff || past_deadline) {
    r.completion_time = now;
    DeletePods(r, false);
    SetCondition(r, now, "Failed", "PyTorchJobFailed",
                 "Job " + name + " has failed because " +
                     (past_backoff ? "it has reached the specified backoff limit"
                                   : "it was active longer than specified deadline"),
                 true);
    return;
  }
  // ReconcilePods: failed pods are deleted (recreated below) unless ExitCode says the
  // error is permanent (exit codes 1-127).
  for (size_t t = 0; t < r.pods.size(); ++t) {
    const auto& spec = job.replica_specs[t];
    for (cluster::PodId p : r.pods[t]) {
      if (p == cluster::kNone) continue;
      const auto& pod = store_.pod(p);
      if (pod.deleted || pod.phase != PodPhase::kFailed) continue;
      if (spec.restart_policy == "Never") continue;
      if (spec.restart_policy == "ExitCode" && pod.exit_code >= 0 && pod.exit_code < 128) {
        SetCondition(
            r, now, "Failed", "PyTorchJobFailed",
            "job \"" + name + "\" is failing because \"" + spec.type + "\" replica(s) failed.",
            true);
        return;  // completionTime stays unset, as upstream leaves it
      }
      store_.DeletePod(p);
      SetCondition(r, now, "Restarting", "PyTorchJobRestarting",
                   "job " + name + " is restarting because " + spec.type + " replica(s) failed.",
                   true);
    }
  }
  for (size_t t = 0; t < r.pods.size(); ++t) {
    for (int32_t i = 0; i < job.replica_specs[t].replicas; ++i) {
      const cluster::PodId p = r.pods[t][static_cast<size_t>(i)];
      if (p == cluster::kNone || store_.pod(p).deleted) CreatePod(id, t, i);
    }
  }
  // UpdateJobStatus.
  if (r.start_time == cluster::kNever) r.start_time = now;
  CountStatuses(r);
  for (size_t t = 0; t < r.replicas.size(); ++t) {
    const auto& spec = job.replica_specs[t];
    const auto& st = r.replicas[t];
    const int32_t expected = spec.replicas - st.succeeded;
    if (job.Master()) {
      if (spec.type == "Master") {
        if (st.active > 0) {
          SetCondition(r, now, "Running", "PyTorchJobRunning",
                       "PyTorchJob " + name + " is running.");
        }
        if (expected == 0) {
          r.completion_time = now;
          SetCondition(r, now, "Succeeded", "PyTorchJobSucceeded",
                       "PyTorchJob " + name + " is successfully completed.");
          return;
        }
      }
    } else if (spec.type == "Worker") {
      if (expected == 0 || (job.elastic && st.succeeded > 0)) {
        r.completion_time = now;
        SetCondition(r, now, "Succeeded", "PyTorchJobSucceeded",
                     "PyTorchJob " + ns_name + " successfully completed.");
        return;
      }
      if (st.active > 0) {
        SetCondition(r, now, "Running", "PyTorchJobRunning",
                     "PyTorchJob " + ns_name + " is running.");
      }
    }
    if (st.failed > 0 && spec.replicas > st.succeeded + st.active) {
      if (spec.restart_policy == "Never") {
        r.completion_time = now;
        SetCondition(r, now, "Failed", "PyTorchJobFailed",
                     "PyTorchJob " + name + " is failed because " + std::to_string(st.failed) +
                         " " + spec.type + " replica(s) failed.",
                     true);
        return;
      }
    }
  }
}

}  // namespace gputwin::controllers
