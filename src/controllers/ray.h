// KubeRay's operator (ray-project/kuberay v1.7.0, ray-operator/controllers/ray): the
// RayCluster controller (raycluster.cc) and the RayJob controller (rayjob.cc), reconcile
// loops over the Store's Ray objects (cluster/ray_objects.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/controller.h"
#include "cluster/ray_objects.h"

namespace gputwin::controllers {

// raycluster_controller.go: the head pod <c>-head-xxxxx and worker pods
// <c>-<group>-worker-xxxxx with KubeRay's labels, the worker's wait-gcs-ready init container
// (200m/256Mi) and the injected readiness probe; the head Service <c>-head-svc; desired
// workers clamp(replicas, min, max) × numOfHosts (0 when the group is suspended); Failed
// pods deleted and replaced on a later reconcile (2 s); multi-host replicas all-or-nothing;
// spec.suspend (Suspending, then Suspended once no pod is left); status.state (ready sticks),
// the worker counters, desired resources and the conditions HeadPodReady,
// RayClusterProvisioned, ReplicaFailure, RayClusterSuspending and RayClusterSuspended.
// Without GCS fault tolerance the head and its workers share fate: a lost head's workers
// restart their ray container and rejoin the new head.
class RayClusterController : public cluster::Controller {
 public:
  RayClusterController(cluster::Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  // The desired worker pods of a group (utils.GetWorkerGroupDesiredReplicas).
  static int32_t DesiredWorkerPods(const api::RayWorkerGroupSpec& g);

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using Record = cluster::RayClusterRecord;
  void Sync(uint32_t id, Time now);
  // reconcilePods: "" when done, else the error that requeues after 2 s.
  std::string ReconcilePods(uint32_t id, Time now);
  void CreateHead(uint32_t id, Time now);
  void CreateWorker(uint32_t id, size_t group, int32_t replica_index, const std::string& replica,
                    int32_t host_index, Time now);
  void DeletePod(Record& r, cluster::PodId pod, bool head);
  void DeleteAllPods(Record& r);
  void SetCondition(Record& r, Time now, const std::string& type, const std::string& status,
                    const std::string& reason, const std::string& message);
  void UpdateStatus(uint32_t id, Time now, const std::string& error);
  // wait-gcs-ready and the ray containers' readiness (the probe KubeRay injects).
  void TrackReadiness(uint32_t id, Time now);
  std::shared_ptr<const cluster::PodTemplateInfo> Template(uint32_t id, int32_t group,
                                                           int32_t replica_index,
                                                           const std::string& replica,
                                                           int32_t host_index);
  std::string Suffix(Record& r);
  cluster::WorkQueue dirty_;
  // Per cluster: the pod templates by their per-pod labels ("" : the head's).
  std::map<std::pair<uint32_t, std::string>, std::shared_ptr<const cluster::PodTemplateInfo>>
      templates_;
  std::map<std::pair<uint32_t, cluster::PodId>, Time> ready_timers_;
};

// rayjob_controller.go in K8sJobMode: New → Initializing (a RayCluster <rayjob>-xxxxx) →
// Running (a submitter batch Job <rayjob>) → Complete or Failed, with backoffLimit retries on
// new clusters, activeDeadlineSeconds, suspend (Suspending → Suspended) and
// shutdownAfterJobFinishes + ttlSecondsAfterFinished. The Ray job's work is the submitter
// pod's gputwin.io/run-time, advancing as a gang with the cluster's pods.
class RayJobController : public cluster::Controller {
 public:
  RayJobController(cluster::Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using Record = cluster::RayJobRecord;
  void Sync(uint32_t id, Time now);
  void SetStatus(Record& r, Time now, const std::string& status);
  void CreateCluster(uint32_t id);
  // False when the API server refuses the Job (its event recorded; retried later).
  bool CreateSubmitter(uint32_t id);
  void DeleteCluster(Record& r);
  void Fail(uint32_t id, Time now, const std::string& reason, const std::string& message);
  cluster::WorkQueue dirty_;
};

// rayservice_controller.go: a pending RayCluster <rs>-xxxxx; once its head is Ready the serve
// config is applied and, its applications RUNNING (after the RayService's
// gputwin.io/serve-deploy-time), the cluster is promoted to active and the Services
// <rs>-head-svc and <rs>-serve-svc are created; numServeEndpoints counts the active
// cluster's Ready serving pods; conditions Ready and UpgradeInProgress with upstream's
// reasons and messages, serviceStatus Running while Ready.
class RayServiceController : public cluster::Controller {
 public:
  RayServiceController(cluster::Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void Sync(uint32_t id, Time now);
  cluster::WorkQueue dirty_;
};

// Adds a RayCluster to the Store (created by a user, a RayJob or a RayService) and notifies
// its watchers.
uint32_t AddRayCluster(cluster::Store* store, api::RayCluster c, const std::string& origin_kind,
                       uint32_t origin);
// The manifests' Ray objects, at the start of the run.
void AddRayObjects(cluster::Store* store, const api::RayManifests& m);
// Deletes a RayCluster as the garbage collector does (its pods first).
void DeleteRayCluster(cluster::Store* store, uint32_t id);

}  // namespace gputwin::controllers
