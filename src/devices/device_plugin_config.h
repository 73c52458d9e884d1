// The NVIDIA device plugin's config file, version v1 (api/config/v1 in
// NVIDIA/k8s-device-plugin), as the plugin reads it at runtime: only migStrategy and the
// sharing settings change what a node advertises. `rename` and `devices` are ignored, as
// upstream's DisableResourceNamingInConfig() does (with a warning).
#pragma once

#include <string>
#include <vector>

#include "core/errors.h"

namespace gputwin::devices {

struct SharedResource {
  std::string name;  // nvidia.com/gpu or nvidia.com/mig-<profile>
  int replicas = 0;
};

struct DevicePluginConfig {
  std::string mig_strategy = "none";  // none | single | mixed
  std::string sharing = "none";       // none | time-slicing | mps
  bool rename_by_default = false;
  bool fail_requests_greater_than_one = false;
  std::vector<SharedResource> resources;

  int ReplicasFor(const std::string& resource) const;
  std::string SharedName(const std::string& resource) const {
    return rename_by_default ? resource + ".shared" : resource;
  }
};

// Parses one config (the value of one ConfigMap key). `where` names the ConfigMap for
// errors; line numbers are relative to the start of the value.
// `where.line` is the line where the value's text starts in the ConfigMap's file.
DevicePluginConfig ParseDevicePluginConfig(const std::string& text, const SourceRef& where,
                                           const std::string& key, Diagnostics* diag);

// True if the text looks like a device plugin config (a mapping with version and
// flags or sharing), used to find the plugin's ConfigMap among others.
bool LooksLikeDevicePluginConfig(const std::string& text);

}  // namespace gputwin::devices
