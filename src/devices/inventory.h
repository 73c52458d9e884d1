// A node's physical GPUs and MIG layout, and the device plugin config that applies to it:
// read from the node (gputwin.io/gpu-model and gputwin.io/gpu-count annotations, or GFD's
// nvidia.com/gpu.product and nvidia.com/gpu.count labels of a node snapshot), its
// nvidia.com/mig.config label (mig-parted named configs) and its
// nvidia.com/device-plugin.config label (a key of the plugin's ConfigMap).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "devices/advertise.h"

namespace gputwin::devices {

// mig-parted config: name → per-device-selector entries.
struct MigPartedEntry {
  std::vector<int> devices;  // empty: all
  // device-filter: PCI device IDs ("0x20B210DE") the entry applies to; empty: every GPU.
  std::vector<std::string> device_filter;
  bool mig_enabled = false;
  std::vector<std::pair<std::string, int>> mig_devices;
};
using MigPartedConfigs = std::map<std::string, std::vector<MigPartedEntry>>;

struct GpuStack {
  enum class Mode { kNone, kDaemonSet, kGpuOperator };
  Mode mode = Mode::kNone;
  std::vector<uint32_t> plugin_daemon_sets;  // indexes of device-plugin DaemonSets
  bool node_feature_discovery = false;       // NFD runs: it labels GPU nodes
  // The plugin's configs, only from the ConfigMap the plugin is told to use (the GPU
  // Operator's devicePlugin.config.name, or a ConfigMap volume of the plugin's DaemonSet
  // with CONFIG_FILE / --config-file or the config-manager): file name → config.
  std::map<std::string, DevicePluginConfig> plugin_configs;
  // Named configs picked per node by the config-manager (cmd/config-manager): its node
  // label, DEFAULT_CONFIG and FALLBACK_STRATEGIES (named, single, empty).
  bool config_manager = false;
  std::string node_label = "nvidia.com/device-plugin.config";
  std::string default_config;  // DEFAULT_CONFIG / ClusterPolicy devicePlugin.config.default
  std::vector<std::string> fallback_strategies;
  std::string single_config;          // without the config-manager: the file CONFIG_FILE names
  std::string operator_mig_strategy;  // ClusterPolicy mig.strategy
  // NVIDIA's MIG manager (the GPU Operator's migManager, or a k8s-mig-manager DaemonSet)
  // applies a node's nvidia.com/mig.config; without it the label changes nothing. Its
  // mig-parted configs come only from the ConfigMap it reads (migManager.config.name, or
  // the DaemonSet's ConfigMap volume); the operator's own default-mig-parted-config holds
  // the named configs built in here.
  bool mig_manager = false;
  bool builtin_mig_configs = false;
  std::string mig_config_map;      // the ConfigMap it reads ("" for the built-in configs)
  std::string mig_default_config;  // migManager.config.default: unlabelled nodes' config
  MigPartedConfigs mig_configs;
  Duration registration_delay = Duration::Seconds(10);
  Duration driver_install = Duration::Minutes(4);
  const GpuModelTable* models = nullptr;  // the run's
};

// Finds the device plugin (DaemonSet image nvcr.io/nvidia/k8s-device-plugin, or a GPU
// Operator ClusterPolicy), its configs and mig-parted configs. Throws InputError.
GpuStack DiscoverGpuStack(const api::Manifests& m, const GpuModelTable* models, Diagnostics* diag);

struct NodeGpuPlan {
  NodeGpus gpus;
  DevicePluginConfig config;
  // Why the config-manager fails on this node (the plugin then never starts), as its
  // error reads; empty when it does not.
  std::string config_error;
};

// The node's GPUs, MIG layout and plugin config. Returns false when the node has no
// GPUs. Throws InputError (naming the node's file:line) for an unknown GPU model, a MIG
// config that does not exist or does not fit.
bool PlanNode(const api::Node& node, const GpuStack& stack, NodeGpuPlan* plan);

}  // namespace gputwin::devices
