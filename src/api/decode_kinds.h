// One decoder per kind; each reads a whole object and appends it to the manifests.
#pragma once

#include <functional>

#include "api/manifests.h"
#include "api/yaml_reader.h"

namespace gputwin::api {

using KindDecoder = void (*)(YamlReader&, Manifests*);

void DecodeNode(YamlReader& r, Manifests* out);
void DecodePod(YamlReader& r, Manifests* out);
void DecodeDeployment(YamlReader& r, Manifests* out);
void DecodeReplicaSet(YamlReader& r, Manifests* out);
void DecodeJob(YamlReader& r, Manifests* out);
void DecodeCronJob(YamlReader& r, Manifests* out);
void DecodeJobSet(YamlReader& r, Manifests* out);
// A JobSet's spec into `js` (its metadata set first): shared by JobSet and the Kubeflow
// Trainer runtimes' templates.
void DecodeJobSetSpec(YamlReader& spec, JobSet* js);
void DecodeTrainingRuntime(YamlReader& r, Manifests* out);
void DecodeClusterTrainingRuntime(YamlReader& r, Manifests* out);
void DecodeTrainJob(YamlReader& r, Manifests* out);
void DecodePyTorchJob(YamlReader& r, Manifests* out);
void DecodeLeaderWorkerSet(YamlReader& r, Manifests* out);
// KubeRay (decode_ray.cc): ray.io/v1 RayCluster, RayJob, RayService.
void DecodeRayCluster(YamlReader& r, Manifests* out);
void DecodeRayJob(YamlReader& r, Manifests* out);
void DecodeRayService(YamlReader& r, Manifests* out);
void DecodeDaemonSet(YamlReader& r, Manifests* out);
void DecodeStatefulSet(YamlReader& r, Manifests* out);
void DecodePriorityClass(YamlReader& r, Manifests* out);
void DecodeNamespace(YamlReader& r, Manifests* out);
void DecodeConfigMap(YamlReader& r, Manifests* out);
void DecodeResourceQuota(YamlReader& r, Manifests* out);
void DecodeLimitRange(YamlReader& r, Manifests* out);
void DecodePodDisruptionBudget(YamlReader& r, Manifests* out);
void DecodeService(YamlReader& r, Manifests* out);
void DecodeIngress(YamlReader& r, Manifests* out);
void DecodeHorizontalPodAutoscaler(YamlReader& r, Manifests* out);
void DecodeScaledObject(YamlReader& r, Manifests* out);
void DecodeKubeSchedulerConfiguration(YamlReader& r, Manifests* out);
void DecodeScenario(YamlReader& r, Manifests* out);
void DecodeSweep(YamlReader& r, Manifests* out);
// monitoring.coreos.com/v1 PrometheusRule, and a plain Prometheus rule file's `groups:`.
void DecodePrometheusRule(YamlReader& r, Manifests* out);
void DecodeServiceMonitor(YamlReader& r, Manifests* out);
void DecodePodMonitor(YamlReader& r, Manifests* out);
void DecodeRuleGroups(YamlReader& r, const std::string& file, Manifests* out);
void DecodeClusterPolicy(YamlReader& r, Manifests* out);
// Kueue (decode_kueue.cc).
void DecodeClusterQueue(YamlReader& r, Manifests* out);
void DecodeCohort(YamlReader& r, Manifests* out);
void DecodeLocalQueue(YamlReader& r, Manifests* out);
void DecodeResourceFlavor(YamlReader& r, Manifests* out);
void DecodeTopology(YamlReader& r, Manifests* out);
void DecodeWorkloadPriorityClass(YamlReader& r, Manifests* out);
void DecodeKueueConfiguration(YamlReader& r, Manifests* out);

// Karpenter (decode_karpenter.cc).
void DecodeNodePool(YamlReader& r, Manifests* out);
void DecodeEC2NodeClass(YamlReader& r, Manifests* out);
bool IsWellKnownKarpenterLabel(const std::string& key);

// Job decoding is shared with the Scenario's workload generators.
// `jobset_defaults`: a JobSet's replicatedJob template, defaulted as its webhook does.
Job DecodeJobObject(YamlReader& r, bool require_name = true, bool jobset_defaults = false);
Pod DecodePodObject(YamlReader& r, bool require_name = true);

}  // namespace gputwin::api
