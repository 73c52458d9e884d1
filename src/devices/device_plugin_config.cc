#include "devices/device_plugin_config.h"

#include <yaml-cpp/yaml.h>

#include "api/yaml_reader.h"

namespace gputwin::devices {

int DevicePluginConfig::ReplicasFor(const std::string& resource) const {
  for (const auto& r : resources) {
    if (r.name == resource) return r.replicas;
  }
  return 1;
}

bool LooksLikeDevicePluginConfig(const std::string& text) {
  try {
    YAML::Node n = YAML::Load(text);
    return n.IsMap() && (n["sharing"] || n["flags"]) && (!n["version"] || n["version"].IsScalar());
  } catch (const YAML::Exception&) {
    return false;
  }
}

DevicePluginConfig ParseDevicePluginConfig(const std::string& text, const SourceRef& where,
                                           const std::string& key, Diagnostics* diag) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(where, "data." + key, "malformed device plugin config: " + e.msg);
  }
  if (!root.IsMap()) throw InputError(where, "data." + key, "expected a mapping");
  api::YamlReader r(root, where.file, "data." + key, diag, where.line > 0 ? where.line - 1 : 0);
  DevicePluginConfig c;
  std::string version = r.String("version", "v1");
  if (!version.empty() && version != "v1") r.Fail("version", "unknown version: " + version);
  if (auto flags = r.Object("flags")) {
    c.mig_strategy = flags->String("migStrategy", "none");
    if (c.mig_strategy != "none" && c.mig_strategy != "single" && c.mig_strategy != "mixed") {
      flags->Fail("migStrategy",
                  "unknown MIG strategy: " + c.mig_strategy + " (none, single or mixed)");
    }
    flags->Ignore({"failOnInitError", "nvidiaDriverRoot", "nvidiaDevRoot", "mpsRoot",
                   "gdrcopyEnabled", "gdsEnabled", "mofedEnabled", "useNodeFeatureAPI",
                   "deviceDiscoveryStrategy", "plugin", "gfd", "useConfigMap"});
    flags->Finish();
  }
  r.Ignore({"resources", "imex"});
  if (r.Has("resources")) {
    diag->Warn(where, "data." + key + ".resources",
               "custom resource naming is not yet supported by the device plugin; ignored");
  }
  if (auto sharing = r.Object("sharing")) {
    for (const char* strategy : {"timeSlicing", "mps"}) {
      auto s = sharing->Object(strategy);
      if (!s) continue;
      DevicePluginConfig one;
      one.rename_by_default = s->Bool("renameByDefault").value_or(false);
      // MPS fails requests for more than one replica unless told otherwise.
      one.fail_requests_greater_than_one =
          s->Bool("failRequestsGreaterThanOne").value_or(std::string(strategy) == "mps");
      auto resources = s->ObjectList("resources");
      if (resources.empty()) s->Fail("resources", "no resources specified");
      for (auto& res : resources) {
        SharedResource sr;
        sr.name = res.RequiredString("name");
        auto replicas = res.Int("replicas");
        if (!replicas) res.Fail("replicas", "Required value");
        if (*replicas < 2) res.Fail("replicas", "number of replicas must be >= 2");
        sr.replicas = static_cast<int>(*replicas);
        if (res.Has("rename") || res.Has("devices")) {
          diag->Warn(res.Where(), res.path(),
                     "rename and devices are not yet supported by the device plugin and are "
                     "ignored (it shares every device, renamed only by renameByDefault)");
        }
        res.Ignore({"rename", "devices"});
        res.Finish();
        one.resources.push_back(sr);
      }
      s->Finish();
      // MPS wins when both are configured (sharing.go).
      if (std::string(strategy) == "mps" || c.sharing == "none") {
        c.sharing = std::string(strategy) == "mps" ? "mps" : "time-slicing";
        c.rename_by_default = one.rename_by_default;
        c.fail_requests_greater_than_one = one.fail_requests_greater_than_one;
        c.resources = one.resources;
      }
    }
    sharing->Finish();
  }
  if (c.sharing == "mps" && c.mig_strategy == "mixed") {
    throw InputError(where, "data." + key, "MPS sharing cannot be combined with migStrategy mixed");
  }
  r.Finish();
  return c;
}

}  // namespace gputwin::devices
