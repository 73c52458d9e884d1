// Reading Kubernetes YAML into typed objects: multi-document files, `kind: List`,
// `kubectl get -o yaml` output, folders of files. One small decoder per kind, in a table.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/karpenter_types.h"
#include "api/kueue_types.h"
#include "api/scenario.h"
#include "api/sweep_types.h"
#include "api/types.h"
#include "core/errors.h"

namespace gputwin::api {

struct RayManifests;  // api/ray_types.h

struct Manifests {
  std::vector<Node> nodes;
  std::vector<Pod> pods;
  std::vector<Deployment> deployments;
  std::vector<ReplicaSet> replica_sets;
  std::vector<Job> jobs;
  std::vector<CronJob> cron_jobs;
  std::vector<JobSet> job_sets;
  std::vector<PyTorchJob> pytorch_jobs;
  std::vector<LeaderWorkerSet> leader_worker_sets;
  std::vector<TrainingRuntime> training_runtimes;  // ClusterTrainingRuntimes and TrainingRuntimes
  std::vector<TrainJob> train_jobs;
  // KubeRay's RayClusters, RayJobs and RayServices (api/ray_types.h); null when none.
  std::shared_ptr<RayManifests> ray;
  std::vector<DaemonSet> daemon_sets;
  std::vector<StatefulSet> stateful_sets;
  std::vector<PriorityClass> priority_classes;
  std::vector<Namespace> namespaces;
  std::vector<ConfigMap> config_maps;
  std::vector<ResourceQuota> resource_quotas;
  std::vector<LimitRange> limit_ranges;
  std::vector<PodDisruptionBudget> pod_disruption_budgets;
  std::vector<Service> services;
  std::vector<Ingress> ingresses;
  std::vector<HorizontalPodAutoscaler> horizontal_pod_autoscalers;
  std::vector<ScaledObject> scaled_objects;
  std::vector<PrometheusRuleGroup> rule_groups;  // PrometheusRules and the scenario's rule files
  std::optional<KubeSchedulerConfiguration> scheduler_config;
  std::optional<ClusterPolicy> gpu_operator;
  std::vector<ClusterQueue> cluster_queues;
  std::vector<Cohort> cohorts;
  std::vector<LocalQueue> local_queues;
  std::vector<ResourceFlavor> resource_flavors;
  std::vector<Topology> topologies;
  std::vector<WorkloadPriorityClass> workload_priority_classes;
  KueueConfiguration kueue_config;
  std::vector<NodePool> node_pools;
  std::vector<EC2NodeClass> ec2_node_classes;
  std::vector<Scenario> scenarios;
  std::vector<Sweep> sweeps;
  // Objects of kinds that change nothing the twin simulates (Secrets, RBAC, ...), kept by
  // name for lint; their content is not read.
  struct KeptObject {
    SourceRef source;
    std::string api_version, kind, namespace_, name;
  };
  std::vector<KeptObject> kept_objects;
  Diagnostics diagnostics;

  // Objects read, of every kind (the Kueue Configuration only when one was given).
  size_t ObjectCount() const;
  // Non-empty YAML documents read, whatever their kind (modelled, warned or unknown).
  size_t documents = 0;
  // While decoding: patches applied to each object before it is read (a Sweep's point);
  // not owned, cleared once the inputs are read.
  PatchSet* patches = nullptr;
};

// Decodes every document in `text` (named `file` in messages) into `out`.
// Throws InputError naming file:line and field.
void DecodeYaml(const std::string& text, const std::string& file, Manifests* out);
// Reads a file, or every *.yaml / *.yml / *.json file below a folder in name order.
void LoadPath(const std::string& path, Manifests* out);
// A plain Prometheus rule file (`groups:`), added to out->rule_groups.
void LoadRuleFile(const std::string& path, Manifests* out);

// The kinds the twin understands, for `gputwin validate` and documentation.
std::vector<std::string> KnownKinds();

}  // namespace gputwin::api
