// What the NVIDIA device plugin advertises on a node and which labels GPU Feature
// Discovery puts on it, from the node's physical GPUs, MIG layout and plugin config
// (internal/rm/device_map.go, internal/lm/*.go; gpu-stack.md sections 1.2 and 1.4).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/objects.h"
#include "devices/device_plugin_config.h"
#include "devices/gpu_models.h"

namespace gputwin::devices {

struct NodeGpus {
  const GpuModel* model = nullptr;
  int count = 0;
  bool mig_enabled = false;
  std::vector<std::vector<MigInstance>> mig;  // per GPU, when MIG is enabled
};

struct Advertisement {
  std::map<std::string, int64_t> resources;  // extended resource → count
  api::Labels labels;                        // GFD labels
  std::vector<cluster::DeviceUnit> devices;
  std::string error;  // the plugin would fail to start (e.g. an invalid single layout)
};

inline const char* kDefaultDriverVersion = "550.127.05";
inline const char* kDefaultCudaVersion = "12.4";

Advertisement Advertise(const NodeGpus& gpus, const DevicePluginConfig& config);

// nvidia.com/mig-<profile> with '+' made '.', as the plugin names mixed-strategy resources.
std::string MigResourceName(const std::string& profile);

}  // namespace gputwin::devices
