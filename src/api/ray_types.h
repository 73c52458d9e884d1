// KubeRay's kinds, ray.io/v1 (ray-project/kuberay v1.7.0, ray-operator/apis/ray/v1
// {raycluster,rayjob,rayservice}_types.go), as the CRD defaults them. Kept out of types.h:
// only the Ray code and the decoders include it.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"

namespace gputwin::api {

// spec.workerGroupSpecs[] (CRD defaults: replicas 0, minReplicas 0, maxReplicas MaxInt32,
// numOfHosts 1).
struct RayWorkerGroupSpec {
  std::string group_name;
  int32_t replicas = 0, min_replicas = 0, max_replicas = INT32_MAX, num_of_hosts = 1;
  bool suspend = false;
  std::map<std::string, std::string> ray_start_params;
  ResourceList resources;  // Ray logical resources (`resources`)
  Labels labels;
  std::vector<std::string> workers_to_delete;  // scaleStrategy.workersToDelete
  PodTemplateSpec template_;
  SourceRef source;
};

struct RayHeadGroupSpec {
  std::map<std::string, std::string> ray_start_params;
  std::string service_type;       // "" (headless ClusterIP), ClusterIP, NodePort, LoadBalancer
  std::string head_service_name;  // headService.metadata.name ("" : <cluster>-head-svc)
  ResourceList resources;
  Labels labels;
  PodTemplateSpec template_;
  SourceRef source;
};

struct RayClusterSpec {
  std::string ray_version;
  RayHeadGroupSpec head;
  std::vector<RayWorkerGroupSpec> worker_groups;
  bool enable_in_tree_autoscaling = false;
  std::string autoscaler_version;  // autoscalerOptions.version: "", v1, v2
  std::optional<ResourceRequirements> autoscaler_resources;
  std::optional<int64_t> autoscaler_idle_timeout_seconds;
  bool suspend = false;
  std::optional<std::string> managed_by;
  bool gcs_fault_tolerance = false;  // gcsFaultToleranceOptions or ray.io/ft-enabled
  // utils.ValidateRayClusterSpec's error ("" when valid): the API server accepts such a
  // spec; the controller refuses it (event InvalidRayClusterSpec) and creates nothing.
  std::string invalid;
  SourceRef source;
};

struct RayCluster {
  ObjectMeta metadata;
  RayClusterSpec spec;
  std::string invalid_metadata;  // ValidateRayClusterMetadata's error
};

// ray.io/v1 RayJob.
struct RayJob {
  ObjectMeta metadata;
  std::string entrypoint;
  std::optional<RayClusterSpec> cluster_spec;  // spec.rayClusterSpec
  Labels cluster_selector;
  std::string submission_mode = "K8sJobMode";  // | HTTPMode | InteractiveMode | SidecarMode
  bool shutdown_after_job_finishes = false;
  int32_t ttl_seconds_after_finished = 0;
  std::optional<int32_t> active_deadline_seconds, pre_running_deadline_seconds;
  int32_t backoff_limit = 0;
  bool suspend = false;
  std::optional<PodTemplateSpec> submitter_pod_template;
  std::optional<int32_t> submitter_backoff_limit;  // submitterConfig.backoffLimit
  std::string job_id;
  std::optional<std::string> managed_by;
  bool deletion_strategy = false;
  // ValidateRayJobSpec/Metadata's error ("" when valid): jobDeploymentStatus
  // ValidationFailed.
  std::string invalid;
  SourceRef source;
};

// ray.io/v1 RayService.
struct RayService {
  ObjectMeta metadata;
  std::string serve_config_v2;
  std::vector<std::string> applications;  // serveConfigV2's applications[].name
  RayClusterSpec cluster_spec;            // spec.rayClusterConfig
  std::string upgrade_strategy;  // "" | NewCluster | NewClusterWithIncrementalUpgrade | None
  int32_t cluster_deletion_delay_seconds = 60;
  bool exclude_head_from_serve_svc = false;
  bool suspend = false;
  std::string invalid;  // ValidateRayServiceSpec/Metadata's error
  SourceRef source;
};

struct RayManifests {
  std::vector<RayCluster> clusters;
  std::vector<RayJob> jobs;
  std::vector<RayService> services;
};

}  // namespace gputwin::api
