// The rules' checks (rules.cc), each adding findings; lint.cc runs them and filters.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "lint/lint.h"

namespace gputwin::lint {

// A pod spec in the files, with the object that holds it.
struct PodSource {
  const char* kind;
  const api::ObjectMeta* owner;
  const api::ObjectMeta* template_meta;  // nullptr for a Pod
  const api::PodSpec* spec;
  // What template_meta and spec point into when built here (a TrainJob's JobSet).
  std::shared_ptr<const void> keep = nullptr;
};
std::vector<PodSource> PodSources(const api::Manifests& m);
bool WantsGpu(const api::PodSpec& spec);
// Shared by the rules: an NVIDIA (or AMD) device resource; "namespace/name"; where a pod
// spec sits in its file; NVIDIA's own DaemonSets; an annotation of the pod or its owner.
bool IsGpuResource(const std::string& name);
std::string Key(const api::ObjectMeta& m);
SourceRef At(const PodSource& p);
bool IsNvidiaStack(const PodSource& p);
std::string Annotation(const PodSource& p, const char* key);

// Where GPU pods could run: Nodes with GPUs, NodePools whose requirements admit a GPU type
// of the built-in catalog.
struct GpuCapacity {
  std::vector<const api::Node*> nodes;
  std::vector<const api::NodePool*> node_pools;   // every type they admit has GPUs
  std::vector<const api::NodePool*> mixed_pools;  // GPU types among others
};
GpuCapacity FindGpuCapacity(const api::Manifests& m);

class Findings {
 public:
  void Add(const std::string& rule, const SourceRef& where, const std::string& object,
           const std::string& message) {
    items.push_back({rule, Severity::kWarning, where, object, message});
  }
  std::vector<Finding> items;
};

void CheckRejections(const api::Manifests& m, Findings* out);
void CheckDevicePlugin(const api::Manifests& m, const GpuCapacity& gpus, Findings* out);
void CheckGpuTaints(const std::vector<PodSource>& pods, const GpuCapacity& gpus, Findings* out);
void CheckNodePools(const GpuCapacity& gpus, Findings* out);
void CheckAutoscalers(const api::Manifests& m, Findings* out);
void CheckImages(const std::vector<PodSource>& pods, Findings* out);
void CheckKueueQueues(const api::Manifests& m, Findings* out);
void CheckSecurity(const std::vector<PodSource>& pods, Findings* out);
void CheckSharing(const api::Manifests& m, const std::vector<PodSource>& pods,
                  const GpuCapacity& gpus, Findings* out);
void CheckDisruption(const api::Manifests& m, const std::vector<PodSource>& pods,
                     const GpuCapacity& gpus, Findings* out);
void CheckGpuHolders(const std::vector<PodSource>& pods, Findings* out);
void CheckColdStart(const api::Manifests& m, const std::vector<PodSource>& pods, Findings* out);
void CheckGpuStack(const api::Manifests& m, const std::vector<PodSource>& pods,
                   const GpuCapacity& gpus, Findings* out);
void CheckLatencyCritical(const std::vector<PodSource>& pods, const GpuCapacity& gpus,
                          Findings* out);
void CheckRbac(const api::Manifests& m, Findings* out);
void CheckNamespaces(const api::Manifests& m, const std::vector<PodSource>& pods, Findings* out);

}  // namespace gputwin::lint
