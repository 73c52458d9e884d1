#include "devices/inventory.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "api/yaml_reader.h"

namespace gputwin::devices {
namespace {

MigPartedConfigs ParseMigParted(const std::string& text, const SourceRef& where,
                                Diagnostics* diag) {
  MigPartedConfigs out;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(where, "data.config.yaml", "malformed mig-parted config: " + e.msg);
  }
  api::YamlReader r(root, where.file, "data.config.yaml", diag);
  r.Ignore({"version"});
  auto configs = r.Object("mig-configs");
  if (!configs) return out;
  for (const auto& kv : root["mig-configs"]) {
    std::string name = kv.first.Scalar();
    std::vector<MigPartedEntry> entries;
    for (auto& e : configs->ObjectList(name)) {
      MigPartedEntry entry;
      entry.mig_enabled = e.Bool("mig-enabled").value_or(false);
      if (e.Has("devices")) {
        YAML::Node d = root["mig-configs"][name][entries.size()]["devices"];
        if (d.IsSequence()) {
          for (const auto& v : d) entry.devices.push_back(v.as<int>());
        } else if (d.Scalar() != "all") {
          e.Fail("devices", "expected \"all\" or a list of GPU indexes");
        }
      }
      for (const auto& [profile, count] : e.StringMap("mig-devices")) {
        int n = 0;
        try {
          n = std::stoi(count);
        } catch (const std::exception&) {
          e.Fail("mig-devices", "\"" + count + "\" is not a count");
        }
        entry.mig_devices.push_back({profile, n});
      }
      if (e.Has("device-filter")) {
        // A PCI device ID or a list of them; case does not matter.
        YAML::Node f = root["mig-configs"][name][entries.size()]["device-filter"];
        std::vector<std::string> ids;
        if (f.IsSequence()) {
          for (const auto& v : f) ids.push_back(v.Scalar());
        } else {
          ids.push_back(f.Scalar());
        }
        for (auto& id : ids) {
          for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          entry.device_filter.push_back(id);
        }
      }
      e.Ignore({"device-filter", "devices"});
      e.Finish();
      entries.push_back(std::move(entry));
    }
    out[name] = std::move(entries);
  }
  return out;
}

}  // namespace

GpuStack DiscoverGpuStack(const api::Manifests& m, const GpuModelTable* models, Diagnostics* diag) {
  GpuStack s;
  s.models = models;
  for (uint32_t i = 0; i < m.daemon_sets.size(); ++i) {
    for (const auto& c : m.daemon_sets[i].template_.spec.containers) {
      if (c.image.find("node-feature-discovery") != std::string::npos) {
        s.node_feature_discovery = true;
      }
      if (c.image.find("k8s-device-plugin") != std::string::npos) {
        s.mode = GpuStack::Mode::kDaemonSet;
        s.plugin_daemon_sets.push_back(i);
        break;
      }
      if (c.image.find("k8s-mig-manager") != std::string::npos) {
        // mig-parted's k8s-mig-manager: CONFIG_FILE in the ConfigMap volume it mounts.
        s.mig_manager = true;
        const auto& volumes = m.daemon_sets[i].template_.spec.config_map_volumes;
        if (!volumes.empty()) s.mig_config_map = volumes.front().second;
        break;
      }
    }
  }
  if (m.gpu_operator && m.gpu_operator->mig_manager_enabled) {
    // The operator's mig-manager reads migManager.config.name, else the ConfigMap it makes
    // itself (default-mig-parted-config, whose named configs are the built-in ones).
    s.mig_manager = true;
    s.mig_config_map = m.gpu_operator->mig_manager_config_name;
    if (s.mig_config_map.empty()) s.mig_config_map = "default-mig-parted-config";
    s.mig_default_config = m.gpu_operator->mig_manager_default_config;
  }
  const bool mig_config_map_given =
      std::any_of(m.config_maps.begin(), m.config_maps.end(),
                  [&](const auto& cm) { return cm.metadata.name == s.mig_config_map; });
  if (s.mig_manager && !mig_config_map_given) {
    if (s.mig_config_map.empty() || s.mig_config_map == "default-mig-parted-config") {
      s.builtin_mig_configs = true;
    } else {
      if (diag) {
        diag->Warn(m.gpu_operator ? m.gpu_operator->metadata.source : SourceRef{}, "",
                   "the MIG manager reads its mig-parted configs from ConfigMap " +
                       s.mig_config_map +
                       ", which is not in the manifests: it would never start, and "
                       "nvidia.com/mig.config labels change nothing");
      }
      s.mig_manager = false;
    }
  }
  if (!s.mig_manager && diag) {
    // A label only the MIG manager reads, with no MIG manager: said once.
    for (const auto& n : m.nodes) {
      if (!n.metadata.labels.count("nvidia.com/mig.config")) continue;
      diag->Warn(n.metadata.source, "metadata.labels.nvidia.com/mig.config",
                 "only NVIDIA's MIG manager applies this label (the GPU Operator's migManager, "
                 "or a k8s-mig-manager DaemonSet) and the manifests run none: MIG stays as the "
                 "GPUs have it (disabled)");
      break;
    }
  }
  if (m.gpu_operator) {
    s.mode = GpuStack::Mode::kGpuOperator;
    s.node_feature_discovery = true;  // the operator deploys NFD by default
    s.default_config = m.gpu_operator->device_plugin_default_config;
    s.operator_mig_strategy = m.gpu_operator->mig_strategy;
    if (!m.gpu_operator->driver_enabled) s.driver_install = Duration{0};
  }
  // Which ConfigMap the plugin reads its configs from, and how it picks one.
  std::string config_map;
  if (m.gpu_operator) {
    // controllers/object_controls.go handleDevicePluginConfig: only with config.name; the
    // config-manager gets DEFAULT_CONFIG = config.default and FALLBACK_STRATEGIES=empty.
    config_map = m.gpu_operator->device_plugin_config_name;
    if (!config_map.empty()) {
      s.config_manager = true;
      s.fallback_strategies = {"empty"};
    }
  } else {
    for (uint32_t i : s.plugin_daemon_sets) {
      const auto& spec = m.daemon_sets[i].template_.spec;
      bool config_file = false;
      for (const auto& c : spec.containers) {
        const bool manager =
            std::find(c.command.begin(), c.command.end(), "config-manager") != c.command.end();
        for (const auto& [k, v] : c.env) {
          if (k == "CONFIG_FILE" && !v.empty()) {
            config_file = true;
            if (!manager) s.single_config = v.substr(v.rfind('/') + 1);
          }
          if (!manager) continue;
          if (k == "DEFAULT_CONFIG") s.default_config = v;
          if (k == "NODE_LABEL" && !v.empty()) s.node_label = v;
          if (k == "FALLBACK_STRATEGIES") {
            s.fallback_strategies.clear();
            for (size_t at = 0; at <= v.size();) {
              const size_t comma = std::min(v.find(',', at), v.size());
              if (comma > at) s.fallback_strategies.push_back(v.substr(at, comma - at));
              at = comma + 1;
            }
          }
        }
        for (const auto& a : c.args) {
          if (a.starts_with("--config-file=")) {
            config_file = true;
            s.single_config = a.substr(a.rfind('/') + 1);
          }
        }
        s.config_manager = s.config_manager || manager;
      }
      // The Helm chart mounts the ConfigMap at /available-configs for the config-manager;
      // the static manifest mounts it where CONFIG_FILE points.
      for (const auto& [volume, name] : spec.config_map_volumes) {
        if (config_file || s.config_manager) config_map = name;
      }
    }
    if (s.config_manager) s.single_config.clear();
  }
  bool found = false;
  for (const auto& cm : m.config_maps) {
    const bool referenced = !config_map.empty() && cm.metadata.name == config_map;
    found = found || referenced;
    for (const auto& [key, value] : cm.data) {
      if (key == "config.yaml" && value.find("mig-configs") != std::string::npos) {
        if (!s.mig_manager || cm.metadata.name != s.mig_config_map) {
          if (diag) {
            diag->Warn(cm.metadata.source, "data." + key,
                       "mig-parted configs in ConfigMap " + cm.metadata.name +
                           " are not used: the MIG manager reads only the ConfigMap it is "
                           "given (ClusterPolicy migManager.config.name, default "
                           "default-mig-parted-config, or a ConfigMap volume of a "
                           "k8s-mig-manager DaemonSet)");
          }
          continue;
        }
        for (auto& [name, cfg] : ParseMigParted(value, cm.metadata.source, diag)) {
          s.mig_configs[name] = cfg;
        }
      } else if (LooksLikeDevicePluginConfig(value)) {
        SourceRef where = cm.metadata.source;
        if (auto it = cm.data_lines.find(key); it != cm.data_lines.end()) where.line = it->second;
        if (!referenced) {
          // A config nothing points the plugin at changes nothing.
          if (diag) {
            diag->Warn(where, "data." + key,
                       "device plugin config in ConfigMap " + cm.metadata.name +
                           " is not used: the plugin reads configs only from the ConfigMap it "
                           "is given (ClusterPolicy devicePlugin.config.name, or a ConfigMap "
                           "volume of its DaemonSet with CONFIG_FILE or the config-manager); "
                           "it runs with its defaults");
          }
          continue;
        }
        s.plugin_configs[key] = ParseDevicePluginConfig(value, where, key, diag);
      }
    }
  }
  if (!config_map.empty() && !found && diag) {
    diag->Warn(m.gpu_operator ? m.gpu_operator->metadata.source : SourceRef{}, "",
               "the device plugin reads its configs from ConfigMap " + config_map +
                   ", which is not in the manifests: its pods would wait for the volume and "
                   "never start; the twin runs it with its defaults");
    s.config_manager = false;
  }
  return s;
}

bool PlanNode(const api::Node& node, const GpuStack& stack, NodeGpuPlan* plan) {
  const auto& ann = node.metadata.annotations;
  const auto& labels = node.metadata.labels;
  auto find = [](const api::Labels& m, const char* k) -> std::string {
    auto it = m.find(k);
    return it == m.end() ? "" : it->second;
  };
  std::string model = find(ann, "gputwin.io/gpu-model");
  std::string field = "metadata.annotations.gputwin.io/gpu-model";
  std::string mig_profile;  // a MIG single strategy's product label: NVIDIA-...-MIG-1g.10gb
  if (model.empty()) {
    model = find(labels, "nvidia.com/gpu.product");
    field = "metadata.labels.nvidia.com/gpu.product";
    // A snapshot's product label may carry GFD's suffixes.
    for (const char* suffix : {"-SHARED"}) {
      if (model.ends_with(suffix)) model.resize(model.size() - std::string(suffix).size());
    }
    if (auto mig = model.find("-MIG-"); mig != std::string::npos) {
      mig_profile = model.substr(mig + 5);
      model.resize(mig);
    }
  }
  std::string count_text = find(ann, "gputwin.io/gpu-count");
  const bool count_from_gfd = count_text.empty();
  if (count_text.empty()) count_text = find(labels, "nvidia.com/gpu.count");
  if (model.empty()) return false;
  const GpuModel* gm = stack.models->Find(model);
  if (!gm) {
    std::string known;
    for (const auto& k : stack.models->Names()) known += (known.empty() ? "" : ", ") + k;
    throw InputError(node.metadata.source, field,
                     "unknown GPU model \"" + model + "\" (known: " + known + ")");
  }
  int count = 0;
  if (!count_text.empty()) {
    try {
      count = std::stoi(count_text);
    } catch (const std::exception&) {
      count = -1;
    }
    // Under the MIG single strategy GFD counts MIG devices: the physical GPUs are that many
    // over the profile's instances per GPU (an all-<profile> layout, as single requires).
    const MigProfile* profile = mig_profile.empty() ? nullptr : gm->Profile(mig_profile);
    if (count_from_gfd && profile && profile->max_per_gpu > 0 && count > 0 &&
        count % profile->max_per_gpu == 0) {
      count /= profile->max_per_gpu;
    }
    if (count < 1 || count > 16) {
      throw InputError(node.metadata.source, "metadata.annotations.gputwin.io/gpu-count",
                       "\"" + count_text + "\" is not a GPU count (1 to 16)");
    }
  } else if (auto it = node.allocatable.find("nvidia.com/gpu"); it != node.allocatable.end()) {
    count = static_cast<int>(it->second.Value());
  }
  if (count == 0) {
    throw InputError(node.metadata.source, "metadata.annotations.gputwin.io/gpu-count",
                     "Required value: how many " + gm->name + " GPUs the node has");
  }
  plan->gpus.model = gm;
  plan->gpus.count = count;
  plan->gpus.mig.assign(static_cast<size_t>(count), {});
  // MIG layout from the MIG manager's label (or, with the operator, migManager.config.default
  // for a node without one); without a MIG manager nothing applies it.
  std::string mig_config = find(labels, "nvidia.com/mig.config");
  if (mig_config.empty() && !gm->mig_profiles.empty()) mig_config = stack.mig_default_config;
  if (!stack.mig_manager) mig_config.clear();
  if (!mig_config.empty()) {
    std::vector<std::pair<std::string, int>> devices;
    bool enabled = false;
    std::vector<MigPartedEntry> entries;
    if (auto it = stack.mig_configs.find(mig_config); it != stack.mig_configs.end()) {
      entries = it->second;
    } else if (stack.builtin_mig_configs && BuiltinMigConfig(*gm, mig_config, &enabled, &devices)) {
      entries.push_back({{}, {}, enabled, devices});
    } else {
      throw InputError(
          node.metadata.source, "metadata.labels.nvidia.com/mig.config",
          "no mig-parted config \"" + mig_config + "\" for " + gm->name +
              (stack.builtin_mig_configs ? " (built in: all-disabled, all-enabled, all-balanced, "
                                           "all-<profile>)"
                                         : " in ConfigMap " + stack.mig_config_map));
    }
    std::string pci_id = gm->PciDeviceId();
    for (auto& c : pci_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const auto& e : entries) {
      // mig-parted applies an entry only to GPUs whose PCI device ID its filter lists.
      if (!e.device_filter.empty() && std::find(e.device_filter.begin(), e.device_filter.end(),
                                                pci_id) == e.device_filter.end()) {
        continue;
      }
      if (!e.mig_enabled) continue;
      plan->gpus.mig_enabled = true;
      std::string error;
      auto placed = PlaceMigInstances(*gm, e.mig_devices, &error);
      if (!placed) {
        throw InputError(node.metadata.source, "metadata.labels.nvidia.com/mig.config",
                         "MIG config \"" + mig_config + "\" does not fit: " + error);
      }
      for (int g = 0; g < count; ++g) {
        bool selected = e.devices.empty() ||
                        std::find(e.devices.begin(), e.devices.end(), g) != e.devices.end();
        if (selected) plan->gpus.mig[static_cast<size_t>(g)] = *placed;
      }
    }
  }
  // The plugin config, as the config-manager picks it (updateConfigName): the node's
  // label, else DEFAULT_CONFIG, else the fallback strategies in order; an error stops it.
  if (stack.config_manager) {
    std::string key = find(labels, stack.node_label.c_str());
    const auto& files = stack.plugin_configs;
    if (files.empty()) {
      plan->config_error = "no configuration files available";
    } else if (!key.empty()) {
      if (!files.count(key)) plan->config_error = "specified config " + key + " does not exist";
    } else if (!stack.default_config.empty()) {
      key = stack.default_config;
      // Upstream's message names the (empty) label value, not the default.
      if (!files.count(key)) plan->config_error = "specified config  does not exist";
    } else {
      bool chosen = false;
      for (const auto& f : stack.fallback_strategies) {
        if (f == "named" && files.count("default")) {
          key = "default";
        } else if (f == "single" && files.size() == 1) {
          key = files.begin()->first;
        } else if (f == "empty") {
          key.clear();
        } else if (f != "named" && f != "single") {
          plan->config_error = "unknown fallback strategy: " + f;
        } else {
          continue;
        }
        chosen = true;
        break;
      }
      if (!chosen && plan->config_error.empty()) {
        plan->config_error = "no config was set, no default was provided, and all fallbacks failed";
      }
    }
    if (auto it = files.find(key); plan->config_error.empty() && it != files.end()) {
      plan->config = it->second;
    }
  } else if (auto it = stack.plugin_configs.find(stack.single_config);
             it != stack.plugin_configs.end()) {
    plan->config = it->second;
  } else if (!stack.single_config.empty() && stack.plugin_configs.size() == 1) {
    // CONFIG_FILE names a file the volume maps from the ConfigMap's only key (items).
    plan->config = stack.plugin_configs.begin()->second;
  }
  // The GPU Operator passes its MIG strategy to the plugin.
  if (!stack.operator_mig_strategy.empty() && plan->config.mig_strategy == "none") {
    plan->config.mig_strategy = stack.operator_mig_strategy;
  }
  return true;
}

}  // namespace gputwin::devices
