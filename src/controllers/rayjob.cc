#include <algorithm>

#include "controllers/names.h"
#include "controllers/ray.h"
#include "core/time.h"

namespace gputwin::controllers {

using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {

// A Job's owner among the RayJobs: the controller reference KubeRay sets on its submitter.
bool OwnedBy(const api::ObjectMeta& m, const std::string& kind, const std::string& name) {
  for (const auto& o : m.owner_references) {
    if (o.controller && o.kind == kind && o.name == name) return true;
  }
  return false;
}

// metav1.Time printed with %v (time.Time.String, to the second as the API server keeps it):
// "2026-01-01 00:00:00 +0000 UTC".
std::string GoTime(Time t) {
  std::string s = FormatRFC3339(Time{t.ns / 1'000'000'000 * 1'000'000'000});
  // FormatRFC3339 gives 2026-01-01T00:00:00Z.
  if (s.size() >= 20) s = s.substr(0, 10) + " " + s.substr(11, 8) + " +0000 UTC";
  return s;
}

}  // namespace

void AddRayObjects(cluster::Store* store, const api::RayManifests& m) {
  for (const auto& c : m.clusters) AddRayCluster(store, c, "", cluster::kNone);
  auto& ray = store->ray();
  for (const auto& j : m.jobs) {
    cluster::RayJobRecord rec;
    rec.obj = j;
    rec.created_at = store->now();
    const auto id = static_cast<uint32_t>(ray.jobs.size());
    ray.job_by_key[j.metadata.namespace_ + "/" + j.metadata.name] = id;
    ray.jobs.push_back(std::move(rec));
    store->UpdateWorkload(WatchKind::kRayJob, id);
  }
  for (const auto& s : m.services) {
    cluster::RayServiceRecord rec;
    rec.obj = s;
    rec.created_at = store->now();
    const auto id = static_cast<uint32_t>(ray.services.size());
    ray.service_by_key[s.metadata.namespace_ + "/" + s.metadata.name] = id;
    ray.services.push_back(std::move(rec));
    store->UpdateWorkload(WatchKind::kRayService, id);
  }
}

RayJobController::RayJobController(cluster::Store* store, EventQueue* queue)
    : Controller("rayjob-controller", store, queue,
                 cluster::Watches({WatchKind::kRayJob, WatchKind::kRayCluster, WatchKind::kJob,
                                   WatchKind::kPod})) {}

void RayJobController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  const auto& ray = store_.ray();
  if (kind == WatchKind::kRayCluster) {
    const auto& c = ray.clusters[id];
    if (c.origin_kind != "RayJob") return;
    id = c.origin;
  } else if (kind == WatchKind::kJob) {
    const auto& m = store_.jobs()[id].obj.metadata;
    auto it = ray.job_by_key.find(m.namespace_ + "/" + m.name);
    if (it == ray.job_by_key.end() || !OwnedBy(m, "RayJob", m.name)) return;
    id = it->second;
  } else if (kind == WatchKind::kPod) {
    // The submitter's pod: its start is the Ray job's (jobStatus RUNNING).
    const auto& p = store_.pod(id);
    if (p.owner.kind != cluster::OwnerKind::kJob) return;
    const auto& m = store_.jobs()[p.owner.index].obj.metadata;
    auto it = ray.job_by_key.find(m.namespace_ + "/" + m.name);
    if (it == ray.job_by_key.end() || !OwnedBy(m, "RayJob", m.name)) return;
    id = it->second;
  }
  dirty_.Add(id);
  RequestReconcile();
}

void RayJobController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void RayJobController::Reconcile(Time now) {
  for (uint32_t id : dirty_.Drain()) Sync(id, now);
}

void RayJobController::SetStatus(Record& r, Time now, const std::string& status) {
  if (r.job_deployment_status == status) return;
  r.job_deployment_status = status;
  r.history.push_back({now, status});
  // updateRayJobStatus: a terminal status write sets endTime.
  if ((status == "Complete" || status == "Failed") && r.end_time == cluster::kNever) {
    r.end_time = now;
  }
}

void RayJobController::CreateCluster(uint32_t id) {
  auto& r = store_.ray().jobs[id];
  api::RayCluster c;
  c.metadata.name = r.ray_cluster_name;
  c.metadata.namespace_ = r.obj.metadata.namespace_;
  // constructRayClusterForRayJob: the RayJob's labels and annotations, and KubeRay's.
  c.metadata.labels = r.obj.metadata.labels;
  c.metadata.annotations = r.obj.metadata.annotations;
  c.metadata.labels["ray.io/originated-from-cr-name"] = r.obj.metadata.name;
  c.metadata.labels["ray.io/originated-from-crd"] = "RayJob";
  c.metadata.labels["ray.io/job-submission-mode"] = r.obj.submission_mode;
  c.metadata.owner_references.push_back({"RayJob", r.obj.metadata.name, true});
  c.metadata.source = r.obj.source;
  c.spec = *r.obj.cluster_spec;
  // The Ray job runs on the whole cluster: its pods and the submitter form one gang.
  int32_t size = 2;  // the head and the submitter
  for (const auto& g : c.spec.worker_groups) size += RayClusterController::DesiredWorkerPods(g);
  const uint32_t gang =
      store_.AddGang({r.obj.metadata.namespace_ + "/" + r.obj.metadata.name, size});
  r.gang = gang;
  const uint32_t cid = AddRayCluster(&store_, std::move(c), "RayJob", id);
  store_.ray().clusters[cid].gang = gang;
  store_.ray().jobs[id].cluster = cid;
}

bool RayJobController::CreateSubmitter(uint32_t id) {
  auto& r = store_.ray().jobs[id];
  const auto& cluster = store_.ray().clusters[r.cluster];
  api::Job job;
  job.metadata.name = r.obj.metadata.name;
  job.metadata.namespace_ = r.obj.metadata.namespace_;
  job.metadata.labels = {{"ray.io/originated-from-cr-name", r.obj.metadata.name},
                         {"ray.io/originated-from-crd", "RayJob"},
                         {"app.kubernetes.io/created-by", "kuberay-operator"}};
  job.metadata.owner_references.push_back({"RayJob", r.obj.metadata.name, true});
  job.metadata.source = r.obj.source;
  job.backoff_limit = r.obj.submitter_backoff_limit.value_or(2);
  if (r.obj.submitter_pod_template) {
    job.template_ = *r.obj.submitter_pod_template;
  } else {
    // GetDefaultSubmitterTemplate: restartPolicy Never, the head's image, 500m / 200Mi
    // requests and 1 CPU / 1Gi limits.
    api::Container c = api::Container::Named(
        "ray-job-submitter", cluster.obj.spec.head.template_.spec.containers.front().image);
    std::string err;
    c.resources.requests["cpu"] = *ParseQuantity("500m", &err);
    c.resources.requests["memory"] = *ParseQuantity("200Mi", &err);
    c.resources.limits["cpu"] = *ParseQuantity("1", &err);
    c.resources.limits["memory"] = *ParseQuantity("1Gi", &err);
    c.command = {"bash", "-ce"};
    job.template_->spec.containers.push_back(std::move(c));
    job.template_->spec.restart_policy = "Never";
  }
  // A Job's pods restart OnFailure or Never: a submitterPodTemplate without restartPolicy is
  // defaulted to Always and the API server refuses the Job (createNewK8sJob's event).
  if (job.template_->spec.restart_policy != "Never" &&
      job.template_->spec.restart_policy != "OnFailure") {
    store_.RecordEvent("Warning", "FailedToCreateRayJobSubmitter", "RayJob",
                       r.obj.metadata.namespace_, r.obj.metadata.name,
                       "Failed to create new Kubernetes Job " + r.obj.metadata.namespace_ + "/" +
                           r.obj.metadata.name + ": Job.batch \"" + r.obj.metadata.name +
                           "\" is invalid: spec.template.spec.restartPolicy: Unsupported value: "
                           "\"" +
                           job.template_->spec.restart_policy +
                           "\": supported values: \"OnFailure\", \"Never\"",
                       name_);
    return false;
  }
  auto& tl = job.template_->metadata.labels;
  tl["ray.io/originated-from-cr-name"] = r.obj.metadata.name;
  tl["ray.io/originated-from-crd"] = "RayJob";
  tl["app.kubernetes.io/created-by"] = "kuberay-operator";
  // The Ray job's work (docs/training.md#kuberay): the submitter follows the job's logs until
  // it ends, so its pod runs as long as the entrypoint does. The exit code is the Ray job's
  // status (read below), not the submitter's: `ray job logs --follow` exits 0 either way.
  for (const auto& [k, v] : r.obj.metadata.annotations) {
    if (k.starts_with("gputwin.io/") && k != "gputwin.io/exit-code") {
      job.template_->metadata.annotations[k] = v;
    }
  }
  const uint32_t jid = store_.AddJob(std::move(job));
  store_.jobs()[jid].gang = store_.ray().jobs[id].gang;
  auto& rr = store_.ray().jobs[id];
  rr.submitter = jid;
  rr.gcs_seen = store_.ray().clusters[rr.cluster].head_gcs_at;
  store_.RecordEvent(
      "Normal", "CreatedRayJobSubmitter", "RayJob", rr.obj.metadata.namespace_,
      rr.obj.metadata.name,
      "Created Kubernetes Job " + rr.obj.metadata.namespace_ + "/" + rr.obj.metadata.name, name_);
  return true;
}

void RayJobController::DeleteCluster(Record& r) {
  if (r.cluster == cluster::kNone) return;
  const uint32_t c = r.cluster;
  if (!store_.ray().clusters[c].deleted) {
    store_.RecordEvent("Normal", "DeletedRayCluster", "RayJob", r.obj.metadata.namespace_,
                       r.obj.metadata.name,
                       "Deleted RayCluster " + r.obj.metadata.namespace_ + "/" +
                           store_.ray().clusters[c].obj.metadata.name,
                       name_);
  }
  DeleteRayCluster(&store_, c);
}

void RayJobController::Fail(uint32_t id, Time now, const std::string& reason,
                            const std::string& message) {
  auto& r = store_.ray().jobs[id];
  r.reason = reason;
  r.message = message;
  SetStatus(r, now, "Failed");
}

void RayJobController::Sync(uint32_t id, Time now) {
  auto& r = store_.ray().jobs[id];
  if (r.deleted) return;
  const auto& m = r.obj.metadata;
  if (!r.obj.invalid.empty()) {
    if (r.job_deployment_status != "ValidationFailed") {
      r.reason = "ValidationFailed";
      r.message = r.obj.invalid;
      SetStatus(r, now, "ValidationFailed");
      store_.RecordEvent("Warning",
                         r.obj.invalid.starts_with("The RayJob metadata") ? "InvalidRayJobMetadata"
                                                                          : "InvalidRayJobSpec",
                         "RayJob", m.namespace_, m.name, r.obj.invalid, name_);
      store_.UpdateWorkload(WatchKind::kRayJob, id);
    }
    return;
  }
  if (r.obj.suspend && !r.obj.shutdown_after_job_finishes && r.obj.invalid.empty()) {
    // validateRayJob runs on every reconcile: a later suspend is refused too.
    r.obj.invalid =
        "The RayJob spec is invalid: a RayJob with shutdownAfterJobFinishes set to false is not "
        "allowed to be suspended";
    Sync(id, now);
    return;
  }
  if (r.obj.managed_by && *r.obj.managed_by != "ray.io/kuberay-operator") return;
  const std::string before = r.job_deployment_status + "|" + r.job_status;
  const std::string& status = r.job_deployment_status;
  const bool selector = !r.obj.cluster_selector.empty();
  if (status.empty()) {
    // initRayJobStatusIfNeed: the job id and cluster name, <rayjob>-xxxxx each.
    const uint64_t seed = HashString(m.namespace_ + "/" + m.name);
    if (r.job_id.empty()) {
      r.job_id =
          !r.obj.job_id.empty() ? r.obj.job_id : m.name + "-" + NameSuffix(seed, r.next_suffix++);
    }
    if (r.ray_cluster_name.empty()) {
      r.ray_cluster_name = selector ? r.obj.cluster_selector.at("ray.io/cluster")
                                    : m.name + "-" + NameSuffix(seed, r.next_suffix++);
    }
    r.job_status = "";
    r.start_time = now;
    SetStatus(r, now, "Initializing");
    // The deadlines are checked on the reconciles at or after them (upstream requeues every
    // 3 s; the twin reconciles at them).
    if (r.obj.active_deadline_seconds) {
      At(now + Duration::Seconds(*r.obj.active_deadline_seconds), id);
    }
    if (r.obj.pre_running_deadline_seconds) {
      At(now + Duration::Seconds(*r.obj.pre_running_deadline_seconds), id);
    }
  } else if (status == "Initializing") {
    if (r.obj.suspend) {
      SetStatus(r, now, "Suspending");
    } else if (r.obj.active_deadline_seconds &&
               now >= r.start_time + Duration::Seconds(*r.obj.active_deadline_seconds)) {
      Fail(id, now, "DeadlineExceeded",
           "The RayJob has passed the activeDeadlineSeconds. StartTime: " + GoTime(r.start_time) +
               ". ActiveDeadlineSeconds: " + std::to_string(*r.obj.active_deadline_seconds));
    } else if (r.obj.pre_running_deadline_seconds &&
               now >= r.start_time + Duration::Seconds(*r.obj.pre_running_deadline_seconds)) {
      Fail(id, now, "PreRunningDeadlineExceeded",
           "The RayJob has passed the preRunningDeadlineSeconds. StartTime: " +
               GoTime(r.start_time) + ". PreRunningDeadlineSeconds: " +
               std::to_string(*r.obj.pre_running_deadline_seconds));
    } else {
      if (r.cluster == cluster::kNone || store_.ray().clusters[r.cluster].deleted) {
        const uint32_t found = store_.ray().FindCluster(m.namespace_, r.ray_cluster_name);
        if (found != cluster::kNone) {
          r.cluster = found;
        } else if (!selector) {
          CreateCluster(id);
        }
      }
      auto& rj = store_.ray().jobs[id];
      if (rj.cluster != cluster::kNone && store_.ray().clusters[rj.cluster].state == "ready") {
        rj.dashboard_url =
            rj.ray_cluster_name + "-head-svc." + m.namespace_ + ".svc.cluster.local:8265";
        // Refused (an invalid submitterPodTemplate): Initializing, retried on the next
        // reconcile (upstream requeues every 3 s; the twin on the next change).
        if (CreateSubmitter(id)) SetStatus(store_.ray().jobs[id], now, "Running");
      } else if (selector) {
        // A selected cluster is not the RayJob's (no ownerReference): its changes reach the
        // RayJob only through the reconcile's requeue, every 3 s (RayJobDefaultRequeueDuration).
        After(Duration::Seconds(3), id);
      }
    }
  } else if (status == "Running") {
    if (r.obj.suspend) {
      SetStatus(r, now, "Suspending");
    } else if (r.obj.active_deadline_seconds &&
               now >= r.start_time + Duration::Seconds(*r.obj.active_deadline_seconds)) {
      Fail(id, now, "DeadlineExceeded",
           "The RayJob has passed the activeDeadlineSeconds. StartTime: " + GoTime(r.start_time) +
               ". ActiveDeadlineSeconds: " + std::to_string(*r.obj.active_deadline_seconds));
    } else if (r.submitter != cluster::kNone) {
      // Without GCS fault tolerance a lost head takes the Ray job with it: the submitter's
      // `ray job logs --follow` breaks and its pod fails; the Job's next pod waits for the
      // new head and submits the job again (it resumes from its checkpoints, if it has any).
      const Time gcs = r.cluster != cluster::kNone ? store_.ray().clusters[r.cluster].head_gcs_at
                                                   : cluster::kNever;
      if (r.gcs_seen != cluster::kNever && gcs != r.gcs_seen) {
        const std::vector<cluster::PodId> pods = store_.jobs()[r.submitter].pods;
        for (cluster::PodId p : pods) {
          const auto& pod = store_.pod(p);
          if (pod.deleted || pod.Terminal()) continue;
          store_.pod(p).message = "the Ray head (GCS) was lost: ray job logs failed";
          store_.DeletePod(p);
        }
        r.gcs_seen = cluster::kNever;
      }
      if (r.gcs_seen == cluster::kNever && gcs != cluster::kNever) r.gcs_seen = gcs;
      const auto& job = store_.jobs()[r.submitter];
      bool running = false;
      for (cluster::PodId p : job.pods) {
        running = running || store_.pod(p).phase == PodPhase::kRunning;
      }
      if (running && (r.job_status.empty() || r.job_status == "PENDING")) r.job_status = "RUNNING";
      if (r.job_status.empty()) r.job_status = "PENDING";
      if (job.condition == "Failed") {
        Fail(id, now, "SubmissionFailed",
             "Job submission has failed. Reason: " + job.condition_reason +
                 ". Message: " + job.condition_message);
      } else if (job.condition == "Complete") {
        // The Ray job ended with the entrypoint's exit code (gputwin.io/exit-code).
        int32_t code = 0;
        auto it = m.annotations.find("gputwin.io/exit-code");
        if (it != m.annotations.end()) code = std::atoi(it->second.c_str());
        if (code == 0) {
          r.job_status = "SUCCEEDED";
          r.message = "Job finished successfully.";
          SetStatus(r, now, "Complete");
        } else {
          r.job_status = "FAILED";
          Fail(id, now, "AppFailed",
               "Job entrypoint command failed with exit code " + std::to_string(code));
        }
      }
    }
  } else if (status == "Suspending" || status == "Retrying") {
    // deleteClusterResources, then the submitter Job (background propagation).
    DeleteCluster(r);
    if (r.submitter != cluster::kNone) store_.DeleteJob(r.submitter);
    auto& rr = store_.ray().jobs[id];
    if (rr.gang != cluster::kNone) rr.past_gangs.push_back(rr.gang);
    rr.gang = cluster::kNone;
    rr.cluster = cluster::kNone;
    rr.submitter = cluster::kNone;
    rr.ray_cluster_name.clear();
    rr.dashboard_url.clear();
    rr.job_id.clear();
    rr.message.clear();
    rr.reason.clear();
    rr.job_status = "";
    SetStatus(rr, now, status == "Suspending" ? "Suspended" : "");
  } else if (status == "Suspended") {
    if (!r.obj.suspend) {
      r.job_status = "";
      SetStatus(r, now, "");
    }
  } else if (status == "Complete" || status == "Failed") {
    if (!selector && r.obj.shutdown_after_job_finishes && !r.obj.deletion_strategy) {
      // handleShutdownAfterJobFinishes: only the RayCluster goes; the submitter Job stays for
      // its logs.
      const Time shutdown = r.end_time + Duration::Seconds(r.obj.ttl_seconds_after_finished);
      if (now >= shutdown) {
        DeleteCluster(r);
      } else {
        At(shutdown, id);
      }
    }
    return;
  }
  auto& rr = store_.ray().jobs[id];
  // checkBackoffLimitAndUpdateStatusIfNeeded, on the reconcile that failed it.
  if (rr.job_deployment_status == "Failed" && rr.history.back().at == now &&
      before.substr(0, before.find('|')) != "Failed") {
    ++rr.failed;
    if (rr.failed < rr.obj.backoff_limit + 1 && rr.reason != "DeadlineExceeded" &&
        rr.reason != "JobStatusCheckTimeoutExceeded") {
      rr.job_deployment_status = "Retrying";
      rr.history.back().status = "Retrying";
      rr.end_time = cluster::kNever;
    }
  }
  if (rr.job_deployment_status == "Complete" && rr.job_status == "SUCCEEDED" &&
      before.substr(0, before.find('|')) != "Complete") {
    ++rr.succeeded;
  }
  if (rr.job_deployment_status + "|" + rr.job_status != before) {
    // The status write: another reconcile follows at once, as the watch delivers it.
    store_.UpdateWorkload(WatchKind::kRayJob, id);
  }
}

}  // namespace gputwin::controllers
