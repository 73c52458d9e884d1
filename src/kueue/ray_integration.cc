#include "kueue/ray_integration.h"

#include <algorithm>

#include "cluster/ray_objects.h"

namespace gputwin::kueue {

using cluster::WatchKind;

namespace {

api::ResourceList Cpu(const char* cpu, const char* memory) {
  std::string err;
  return {{"cpu", *ParseQuantity(cpu, &err)}, {"memory", *ParseQuantity(memory, &err)}};
}

PodSet MakePodSet(const std::string& name, int32_t count, const api::PodSpec& spec) {
  PodSet ps;
  ps.name = name;
  ps.count = count;
  ps.requests = PodRequests(spec);
  ps.spec = spec;
  return ps;
}

const char* kElasticJob = "kueue.x-k8s.io/elastic-job";

bool Elastic(const api::ObjectMeta& m) {
  auto it = m.annotations.find(kElasticJob);
  return it != m.annotations.end() && it->second == "true";
}

std::string QueueOf(const api::Labels& labels) {
  auto it = labels.find(kQueueNameLabel);
  return it == labels.end() ? "" : it->second;
}

}  // namespace

std::vector<PodSet> RayClusterPodSets(const api::RayClusterSpec& spec) {
  std::vector<PodSet> out;
  api::PodSpec head = spec.head.template_.spec;
  if (spec.enable_in_tree_autoscaling) {
    api::Container a = api::Container::Named("autoscaler", head.containers.front().image);
    if (spec.autoscaler_resources) {
      a.resources = *spec.autoscaler_resources;
    } else {
      a.resources.requests = Cpu("500m", "512Mi");
      a.resources.limits = a.resources.requests;
    }
    head.containers.push_back(std::move(a));
  }
  out.push_back(MakePodSet("head", 1, head));
  for (const auto& g : spec.worker_groups) {
    // count = replicas × numOfHosts (minReplicas and maxReplicas are not read).
    out.push_back(
        MakePodSet(g.group_name, g.replicas * std::max(g.num_of_hosts, 1), g.template_.spec));
  }
  return out;
}

std::vector<PodSet> RayJobPodSets(const api::RayJob& job) {
  std::vector<PodSet> out = RayClusterPodSets(*job.cluster_spec);
  if (job.submission_mode == "K8sJobMode") {
    api::PodSpec spec;
    if (job.submitter_pod_template) {
      spec = job.submitter_pod_template->spec;
    } else {
      api::Container c = api::Container::Named(
          "ray-job-submitter", job.cluster_spec->head.template_.spec.containers.front().image);
      c.resources.requests = Cpu("500m", "200Mi");
      c.resources.limits = Cpu("1", "1Gi");
      spec.containers.push_back(std::move(c));
      spec.restart_policy = "Never";
    }
    out.push_back(MakePodSet("submitter", 1, spec));
  }
  return out;
}

void ValidateRayObjects(const api::Manifests& m) {
  if (!m.ray) return;
  const auto& cfg = m.kueue_config;
  auto managed = [&](const api::ObjectMeta& meta, const char* framework) {
    if (!cfg.Manages(framework)) return false;
    return !QueueOf(meta.labels).empty() || cfg.manage_jobs_without_queue_name;
  };
  auto common = [&](const api::RayClusterSpec& spec, const api::ObjectMeta& meta,
                    const std::string& prefix, const std::string& autoscaling_message) {
    for (const auto& g : spec.worker_groups) {
      if (g.group_name == "head") {
        throw InputError(g.source, prefix + ".workerGroupSpecs.groupName",
                         "Forbidden: \"head\" is reserved for the head group");
      }
    }
    if (spec.worker_groups.size() + 1 > 18) {
      throw InputError(spec.source, prefix + ".workerGroupSpecs",
                       "Too many: " + std::to_string(spec.worker_groups.size() + 1) +
                           ": must have at most 18 items");
    }
    if (spec.enable_in_tree_autoscaling && !Elastic(meta)) {
      throw InputError(spec.source, prefix + ".enableInTreeAutoscaling",
                       "Invalid value: true: " + autoscaling_message);
    }
  };
  for (const auto& c : m.ray->clusters) {
    if (!managed(c.metadata, "ray.io/raycluster")) continue;
    // A RayJob's or RayService's cluster is not in the manifests: these are users'.
    common(c.spec, c.metadata, "spec",
           "a kueue-managed RayCluster can use autoscaling only as an elastic job: enable the "
           "ElasticJobsViaWorkloadSlices feature gate and set the \"kueue.x-k8s.io/elastic-job\": "
           "\"true\" annotation");
  }
  for (const auto& s : m.ray->services) {
    if (!managed(s.metadata, "ray.io/rayservice")) continue;
    common(s.cluster_spec, s.metadata, "spec.rayClusterConfig",
           "a kueue managed job should only use autoscaling when workload slicing is enabled");
  }
  for (const auto& j : m.ray->jobs) {
    if (!managed(j.metadata, "ray.io/rayjob")) continue;
    if (!j.cluster_selector.empty()) {
      if (j.cluster_spec) {
        throw InputError(j.source, "spec.clusterSelector",
                         "Invalid value: a kueue managed job should not use an existing cluster");
      }
      continue;  // a selector alone: Kueue leaves the RayJob alone
    }
    if (!j.cluster_spec) {
      throw InputError(j.source, "spec.rayClusterSpec",
                       "Required value: rayClusterSpec is required for Kueue-managed jobs that "
                       "don't use clusterSelector");
    }
    if (!j.shutdown_after_job_finishes) {
      throw InputError(j.source, "spec.shutdownAfterJobFinishes",
                       "Invalid value: false: a kueue managed job should delete the cluster after "
                       "finishing");
    }
    common(*j.cluster_spec, j.metadata, "spec.rayClusterSpec",
           "a kueue managed job should only use autoscaling when workload slicing is enabled");
  }
}

void RayIntegration::MarkDirty(WorkloadOwner owner, uint32_t object) {
  if (owner == WorkloadOwner::kRayCluster) dirty_clusters_.Add(object);
  if (owner == WorkloadOwner::kRayJob) dirty_jobs_.Add(object);
  if (owner == WorkloadOwner::kRayService) dirty_services_.Add(object);
}

void RayIntegration::OnWatch(WatchKind kind, uint32_t id) {
  if (kind == WatchKind::kRayCluster) {
    if (seen_clusters_.size() <= id) seen_clusters_.resize(id + 1, false);
    if (!seen_clusters_[id]) {
      seen_clusters_[id] = true;  // the webhook, on creation
      CreateClusterWorkload(id);
      return;
    }
    if (id < wl_of_cluster_.size() && wl_of_cluster_[id] != kNoWorkload) {
      dirty_clusters_.Add(id);
      k_.RequestReconcile();
    }
  } else if (kind == WatchKind::kRayService) {
    if (seen_services_.size() <= id) seen_services_.resize(id + 1, false);
    if (!seen_services_[id]) {
      seen_services_[id] = true;
      CreateServiceWorkload(id);
      return;
    }
    if (id < wl_of_service_.size() && wl_of_service_[id] != kNoWorkload) {
      dirty_services_.Add(id);
      k_.RequestReconcile();
    }
  } else if (kind == WatchKind::kRayJob) {
    if (seen_jobs_.size() <= id) seen_jobs_.resize(id + 1, false);
    if (!seen_jobs_[id]) {
      seen_jobs_[id] = true;
      CreateJobWorkload(id);
      return;
    }
    if (id < wl_of_job_.size() && wl_of_job_[id] != kNoWorkload) {
      dirty_jobs_.Add(id);
      k_.RequestReconcile();
    }
  }
}

void RayIntegration::CreateClusterWorkload(uint32_t id) {
  if (!k_.cache_.config().Manages("ray.io/raycluster")) return;
  auto& rec = k_.store_.ray().clusters[id];
  // A RayJob's (or RayService's) cluster: its owner's Workload covers it.
  if (!rec.origin_kind.empty()) return;
  api::RayCluster obj = rec.obj;
  std::string queue = QueueOf(obj.metadata.labels);
  if (queue.empty()) {
    if (!k_.cache_.config().manage_jobs_without_queue_name) return;
    queue = "default";
  }
  Workload w;
  w.namespace_ = obj.metadata.namespace_;
  w.name = "raycluster-" + obj.metadata.name;
  w.queue_name = queue;
  w.pod_sets = RayClusterPodSets(obj.spec);
  SetPriority(&w, obj.metadata.labels, obj.spec.head.template_.spec, k_.manifests_,
              obj.metadata.source);
  rec.obj.spec.suspend = true;  // the webhook's default for a queued RayCluster
  const WorkloadId wl = k_.AddOperatorWorkload(std::move(w), WorkloadOwner::kRayCluster, id,
                                               obj.metadata, "RayCluster");
  if (wl_of_cluster_.size() <= id) wl_of_cluster_.resize(id + 1, kNoWorkload);
  wl_of_cluster_[id] = wl;
  if (original_cluster_.size() <= wl) original_cluster_.resize(wl + 1);
  obj.spec.suspend = false;
  original_cluster_[wl] = std::move(obj.spec);
}

void RayIntegration::CreateJobWorkload(uint32_t id) {
  if (!k_.cache_.config().Manages("ray.io/rayjob")) return;
  auto& rec = k_.store_.ray().jobs[id];
  api::RayJob obj = rec.obj;
  if (!obj.cluster_selector.empty() || !obj.cluster_spec) return;  // an existing cluster
  std::string queue = QueueOf(obj.metadata.labels);
  if (queue.empty()) {
    if (!k_.cache_.config().manage_jobs_without_queue_name) return;
    queue = "default";
  }
  Workload w;
  w.namespace_ = obj.metadata.namespace_;
  w.name = "rayjob-" + obj.metadata.name;
  w.queue_name = queue;
  w.pod_sets = RayJobPodSets(obj);
  SetPriority(&w, obj.metadata.labels, obj.cluster_spec->head.template_.spec, k_.manifests_,
              obj.metadata.source);
  rec.obj.suspend = true;
  const WorkloadId wl =
      k_.AddOperatorWorkload(std::move(w), WorkloadOwner::kRayJob, id, obj.metadata, "RayJob");
  if (wl_of_job_.size() <= id) wl_of_job_.resize(id + 1, kNoWorkload);
  wl_of_job_[id] = wl;
  if (original_job_.size() <= wl) original_job_.resize(wl + 1);
  obj.suspend = false;
  original_job_[wl] = std::move(obj);
}

void RayIntegration::MergeClusterPodSets(WorkloadId wl, api::RayClusterSpec* spec) const {
  // RunWithPodSetsInfo: each PodSet's flavor into its template (head, then the groups).
  k_.MergePodSetInfo(wl, 0, &spec->head.template_);
  for (size_t g = 0; g < spec->worker_groups.size(); ++g) {
    k_.MergePodSetInfo(wl, g + 1, &spec->worker_groups[g].template_);
  }
}

void RayIntegration::CollectClusterPods(uint32_t cluster, std::vector<cluster::PodId>* pods) const {
  const auto& c = k_.store_.ray().clusters[cluster];
  if (c.head != cluster::kNone) pods->push_back(c.head);
  for (const auto& g : c.workers) {
    for (const auto& x : g) pods->push_back(x.pod);
  }
}

void RayIntegration::SetClusterSuspended(uint32_t id, WorkloadId wl, bool suspend) {
  auto& rec = k_.store_.ray().clusters[id];
  api::RayClusterSpec spec = original_cluster_[wl];
  spec.suspend = suspend;
  if (!suspend) MergeClusterPodSets(wl, &spec);
  k_.RecordStartedOrStopped(wl, !suspend, "RayCluster", rec.obj.metadata);
  rec.obj.spec = std::move(spec);
  ++rec.template_generation;
  k_.store_.UpdateWorkload(WatchKind::kRayCluster, id);
}

void RayIntegration::SetJobSuspended(uint32_t id, WorkloadId wl, bool suspend) {
  auto& rec = k_.store_.ray().jobs[id];
  api::RayJob job = original_job_[wl];
  job.suspend = suspend;
  if (!suspend) {
    auto& spec = *job.cluster_spec;
    MergeClusterPodSets(wl, &spec);
    if (job.submission_mode == "K8sJobMode") {
      // The submitter's PodSet info goes into submitterPodTemplate, which is set to KubeRay's
      // default template when the RayJob has none (rayjob_controller.go RunWithPodSetsInfo).
      if (!job.submitter_pod_template) {
        api::PodTemplateSpec t;
        t.spec = *RayJobPodSets(job).back().spec;
        job.submitter_pod_template = std::move(t);
      }
      k_.MergePodSetInfo(wl, spec.worker_groups.size() + 1, &*job.submitter_pod_template);
    }
  }
  k_.RecordStartedOrStopped(wl, !suspend, "RayJob", job.metadata);
  rec.obj = std::move(job);
  k_.store_.UpdateWorkload(WatchKind::kRayJob, id);
}

void RayIntegration::Sync(Time now) {
  for (uint32_t id : dirty_clusters_.Drain()) SyncCluster(id, now);
  for (uint32_t id : dirty_jobs_.Drain()) SyncJob(id, now);
  for (uint32_t id : dirty_services_.Drain()) SyncService(id, now);
}

void RayIntegration::CreateServiceWorkload(uint32_t id) {
  if (!k_.cache_.config().Manages("ray.io/rayservice")) return;
  auto& rec = k_.store_.ray().services[id];
  api::RayService obj = rec.obj;
  std::string queue = QueueOf(obj.metadata.labels);
  if (queue.empty()) {
    if (!k_.cache_.config().manage_jobs_without_queue_name) return;
    queue = "default";
  }
  Workload w;
  w.namespace_ = obj.metadata.namespace_;
  w.name = "rayservice-" + obj.metadata.name;
  w.queue_name = queue;
  w.pod_sets = RayClusterPodSets(obj.cluster_spec);
  SetPriority(&w, obj.metadata.labels, obj.cluster_spec.head.template_.spec, k_.manifests_,
              obj.metadata.source);
  rec.obj.cluster_spec.suspend = true;  // the webhook: spec.rayClusterConfig.suspend
  ++rec.generation;
  const WorkloadId wl = k_.AddOperatorWorkload(std::move(w), WorkloadOwner::kRayService, id,
                                               obj.metadata, "RayService");
  if (wl_of_service_.size() <= id) wl_of_service_.resize(id + 1, kNoWorkload);
  wl_of_service_[id] = wl;
  if (original_service_.size() <= wl) original_service_.resize(wl + 1);
  obj.cluster_spec.suspend = false;
  original_service_[wl] = std::move(obj.cluster_spec);
}

void RayIntegration::SetServiceSuspended(uint32_t id, WorkloadId wl, bool suspend) {
  auto& rec = k_.store_.ray().services[id];
  api::RayClusterSpec spec = original_service_[wl];
  spec.suspend = suspend;
  if (!suspend) MergeClusterPodSets(wl, &spec);
  k_.RecordStartedOrStopped(wl, !suspend, "RayService", rec.obj.metadata);
  rec.obj.cluster_spec = std::move(spec);
  ++rec.generation;
  k_.store_.UpdateWorkload(WatchKind::kRayService, id);
}

void RayIntegration::SyncService(uint32_t id, Time now) {
  const WorkloadId wl = wl_of_service_[id];
  auto& w = k_.cache_.wl(wl);
  if (w.phase == WorkloadPhase::kFinished) return;
  const auto& ray = k_.store_.ray();
  const auto& rec = ray.services[id];
  w.pods.clear();
  for (uint32_t c : {rec.active, rec.pending}) {
    if (c != cluster::kNone) CollectClusterPods(c, &w.pods);
  }
  if (rec.deleted) {
    k_.FinishWorkload(wl, now, "Deleted", "Deleted", "");
    return;
  }
  if (!k_.SyncOperatorAdmission(wl, now, rec.obj.cluster_spec.suspend,
                                [&](bool suspend) { SetServiceSuspended(id, wl, suspend); })) {
    return;
  }
  // PodsReady (and IsActive): the Ready condition is True.
  const auto* ready = k_.store_.ray().services[id].Find("Ready");
  if (ready && ready->status == "True") {
    k_.MarkPodsReady(wl, now);
  }
}

void RayIntegration::SyncCluster(uint32_t id, Time now) {
  const WorkloadId wl = wl_of_cluster_[id];
  auto& w = k_.cache_.wl(wl);
  if (w.phase == WorkloadPhase::kFinished) return;
  const auto& rec = k_.store_.ray().clusters[id];
  w.pods.clear();
  CollectClusterPods(id, &w.pods);
  if (rec.deleted) {
    // A RayCluster never finishes; deleted, its Workload goes with it.
    k_.FinishWorkload(wl, now, "Deleted", "Deleted", "");
    return;
  }
  if (!k_.SyncOperatorAdmission(wl, now, rec.obj.spec.suspend,
                                [&](bool suspend) { SetClusterSuspended(id, wl, suspend); })) {
    return;
  }
  // PodsReady: status.state is ready.
  if (k_.store_.ray().clusters[id].state == "ready") {
    k_.MarkPodsReady(wl, now);
  }
}

void RayIntegration::SyncJob(uint32_t id, Time now) {
  const WorkloadId wl = wl_of_job_[id];
  auto& w = k_.cache_.wl(wl);
  if (w.phase == WorkloadPhase::kFinished) return;
  const auto& rec = k_.store_.ray().jobs[id];
  w.pods.clear();
  const auto& ray = k_.store_.ray();
  if (rec.cluster != cluster::kNone) CollectClusterPods(rec.cluster, &w.pods);
  if (rec.submitter != cluster::kNone) {
    for (cluster::PodId p : k_.store_.jobs()[rec.submitter].pods) w.pods.push_back(p);
  }
  const std::string& status = rec.job_deployment_status;
  if (status == "Complete" || status == "Failed" || rec.deleted) {
    const bool ok = rec.job_status == "SUCCEEDED";
    k_.FinishWorkload(wl, now, rec.deleted ? "Deleted" : status, ok ? "Succeeded" : "Failed",
                      rec.message);
    return;
  }
  // IsActive: jobDeploymentStatus is neither Suspended nor New.
  if (!k_.SyncOperatorAdmission(wl, now, rec.obj.suspend,
                                [&](bool suspend) { SetJobSuspended(id, wl, suspend); })) {
    return;
  }
  // PodsReady: its cluster's state is ready.
  const auto& r = k_.store_.ray().jobs[id];
  if (r.cluster != cluster::kNone && ray.clusters[r.cluster].state == "ready") {
    k_.MarkPodsReady(wl, now);
  }
}

}  // namespace gputwin::kueue
