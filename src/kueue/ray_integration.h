// Kueue's Ray integrations (kueue v0.19.2, pkg/controller/jobs/raycluster and rayjob): the
// Workloads of RayClusters and RayJobs (PodSets head, one per worker group, and the RayJob's
// submitter), the webhook's suspend and validation, admission (flavors merged into the
// templates, unsuspended) and eviction (suspended again, templates restored).
#pragma once

#include <string>
#include <vector>

#include "api/ray_types.h"
#include "kueue/kueue_controller.h"
#include "kueue/workload.h"

namespace gputwin::kueue {

// The PodSets (raycluster/common.go BuildPodSets, rayjob's PodSets): head (the autoscaler
// container appended with autoscaling), then a PodSet per worker group of replicas ×
// numOfHosts pods (the injected wait-gcs-ready is not in them).
std::vector<PodSet> RayClusterPodSets(const api::RayClusterSpec& spec);
// A RayJob's: the cluster's, then `submitter` (K8sJobMode): its submitterPodTemplate, or the
// default ray-job-submitter container (500m / 200Mi requests, 1 CPU / 1Gi limits).
std::vector<PodSet> RayJobPodSets(const api::RayJob& job);
// The webhooks' validation (ValidateCreate) of the Ray objects Kueue manages: InputError
// with the object's file:line and field.
void ValidateRayObjects(const api::Manifests& m);

class RayIntegration {
 public:
  explicit RayIntegration(KueueController* k) : k_(*k) {}
  void OnWatch(cluster::WatchKind kind, uint32_t id);
  bool Dirty() const {
    return !dirty_clusters_.empty() || !dirty_jobs_.empty() || !dirty_services_.empty();
  }
  void Sync(Time now);
  void MarkDirty(WorkloadOwner owner, uint32_t object);

 private:
  void CreateClusterWorkload(uint32_t id);
  void CreateJobWorkload(uint32_t id);
  void SyncCluster(uint32_t id, Time now);
  void SyncJob(uint32_t id, Time now);
  void SetClusterSuspended(uint32_t id, WorkloadId wl, bool suspend);
  // Admission's flavors into a cluster spec's head and group templates (PodSets 0, 1..n).
  void MergeClusterPodSets(WorkloadId wl, api::RayClusterSpec* spec) const;
  // A cluster's head and worker pods, appended.
  void CollectClusterPods(uint32_t cluster, std::vector<cluster::PodId>* pods) const;
  void SetJobSuspended(uint32_t id, WorkloadId wl, bool suspend);
  // RayService (rayservice_controller.go, v0.17+): suspend through
  // spec.rayClusterConfig.suspend; PodsReady and active while Ready is True; never finishes.
  void CreateServiceWorkload(uint32_t id);
  void SyncService(uint32_t id, Time now);
  void SetServiceSuspended(uint32_t id, WorkloadId wl, bool suspend);
  std::vector<bool> seen_services_;
  std::vector<WorkloadId> wl_of_service_;
  std::vector<api::RayClusterSpec> original_service_;
  cluster::WorkQueue dirty_services_;
  KueueController& k_;
  std::vector<bool> seen_clusters_, seen_jobs_;
  std::vector<WorkloadId> wl_of_cluster_, wl_of_job_;
  std::vector<api::RayClusterSpec> original_cluster_;  // per workload: as submitted
  std::vector<api::RayJob> original_job_;
  cluster::WorkQueue dirty_clusters_, dirty_jobs_;
};

}  // namespace gputwin::kueue
