// The instance catalog: EC2 instance types with their specs and on-demand prices, and
// what Karpenter's AWS provider derives from them: well-known labels, capacity and
// allocatable (aws/karpenter-provider-aws pkg/providers/instancetype/types.go).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "core/errors.h"
#include "devices/gpu_models.h"

namespace gputwin::cloud {

// The kubelet and AMI settings that change allocatable (EC2NodeClass.spec.kubelet,
// blockDeviceMappings).
struct NodeOverhead {
  std::optional<int32_t> max_pods;
  api::ResourceList kube_reserved, system_reserved;  // replace the defaults when set
  int64_t root_volume_bytes = 20LL << 30;
  bool instance_store_raid0 = false;  // EC2NodeClass instanceStorePolicy: RAID0
};

struct InstanceType {
  SourceRef source;
  std::string name, family, category, size, arch = "amd64";
  int32_t generation = 0;
  int32_t vcpu = 0, max_pods = 110, gpu_count = 0, efa = 0;
  int64_t network_mbps = 0, local_nvme_gb = 0;  // 0: unknown, none
  int64_t memory_mib = 0, gpu_memory_mib = 0;
  std::string gpu_name;   // EC2's name, lower-kebab-case: a100, h100, l40s
  std::string gpu_model;  // the twin's GPU model (devices/gpu_models): A100-40GB
  std::map<std::string, double> on_demand_price;  // region → USD per hour
  std::map<std::string, double> spot_price;       // region → USD per hour (overrides)
  std::vector<std::string> zones;                 // empty: every zone

  // Capacity as Karpenter assumes it before launch: memory less the 7.5% VM overhead
  // (VM_MEMORY_OVERHEAD_PERCENT), ENI-limited pods, 20Gi root volume, nvidia.com/gpu.
  api::ResourceList Capacity(const NodeOverhead& o = {}) const;
  // Capacity minus kube-reserved (CPU by the EKS AMI's per-core steps, 11·maxPods+255 MiB
  // memory, 1Gi storage), system-reserved and the eviction threshold (100Mi, 10% nodefs).
  api::ResourceList Allocatable(const NodeOverhead& o = {}) const;
  // node.kubernetes.io/instance-type, kubernetes.io/arch and os, karpenter.k8s.aws/*.
  api::Labels Labels() const;
  int32_t Pods(const NodeOverhead& o) const { return o.max_pods.value_or(max_pods); }
};

struct Catalog {
  std::vector<InstanceType> types;  // in name order
  const InstanceType* Find(const std::string& name) const;
  // Adds or replaces types (by name).
  void Merge(std::vector<InstanceType> more);
};

// Parses catalog CSV (columns as data/catalog/*.csv; '#' comments; repeated headers).
// Throws InputError naming file:line and column.
std::vector<InstanceType> ParseCatalogCsv(const std::string& text, const std::string& file);
const char* BuiltinCatalogText();
Catalog BuiltinCatalog();

// The twin's GPU model name (devices/gpu_models) for EC2's GPU name and memory per GPU.
std::string GpuModelFor(const std::string& gpu_name, int64_t memory_mib);
// Adds the catalog's GPUs that the run's table lacks, from the catalog's facts (no MIG).
void AddCatalogGpuModels(const Catalog& catalog, devices::GpuModelTable* models);

// Splits "p6-b200.48xlarge" into family p6-b200, category p, generation 6, size 48xlarge.
void DeriveNameParts(InstanceType* t);

}  // namespace gputwin::cloud
