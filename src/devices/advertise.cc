#include "devices/advertise.h"

#include <algorithm>

namespace gputwin::devices {

std::string MigResourceName(const std::string& profile) {
  std::string r = "nvidia.com/mig-" + profile;
  std::replace(r.begin(), r.end(), '+', '.');
  return r;
}

namespace {

void AddCommonLabels(const NodeGpus& g, const DevicePluginConfig& c, api::Labels* l) {
  std::string driver = kDefaultDriverVersion;
  auto dot1 = driver.find('.'), dot2 = driver.find('.', dot1 + 1);
  (*l)["nvidia.com/cuda.driver-version.full"] = driver;
  (*l)["nvidia.com/cuda.driver-version.major"] = driver.substr(0, dot1);
  (*l)["nvidia.com/cuda.driver-version.minor"] = driver.substr(dot1 + 1, dot2 - dot1 - 1);
  (*l)["nvidia.com/cuda.driver-version.revision"] = driver.substr(dot2 + 1);
  std::string cuda = kDefaultCudaVersion;
  auto cdot = cuda.find('.');
  (*l)["nvidia.com/cuda.runtime-version.full"] = cuda;
  (*l)["nvidia.com/cuda.runtime-version.major"] = cuda.substr(0, cdot);
  (*l)["nvidia.com/cuda.runtime-version.minor"] = cuda.substr(cdot + 1);
  (*l)["nvidia.com/gpu.present"] = "true";
  (*l)["nvidia.com/gpu.mode"] = "compute";
  (*l)["nvidia.com/gpu.family"] = g.model->family;
  (*l)["nvidia.com/gpu.compute.major"] = std::to_string(g.model->compute_major);
  (*l)["nvidia.com/gpu.compute.minor"] = std::to_string(g.model->compute_minor);
  (*l)["nvidia.com/mig.capable"] = g.model->memory_slices > 0 ? "true" : "false";
  (*l)["nvidia.com/mps.capable"] = c.sharing == "mps" ? "true" : "false";
  if (c.mig_strategy != "none") (*l)["nvidia.com/mig.strategy"] = c.mig_strategy;
}

// Adds the devices of one GPU or MIG instance, replicated when shared.
void AddUnits(const DevicePluginConfig& c, const std::string& resource, const std::string& id,
              int gpu, int mig, int64_t memory, double compute, Advertisement* a) {
  int replicas = c.ReplicasFor(resource);
  if (replicas > 1) {
    std::string name = c.SharedName(resource);
    for (int r = 0; r < replicas; ++r) {
      a->devices.push_back(
          {name, id + "::" + std::to_string(r), gpu, mig, r, memory, compute, cluster::kNone});
      a->resources[name]++;
    }
  } else {
    a->devices.push_back({resource, id, gpu, mig, -1, memory, compute, cluster::kNone});
    a->resources[resource]++;
  }
}

// A MIG instance's share of the GPU's compute: its slices of 7 (of 4 on an A30).
double ComputeShare(const GpuModel& m, const MigProfile& p) {
  return static_cast<double>(p.compute) / (m.memory_slices == 8 ? 7.0 : m.memory_slices);
}

void SharingLabels(const std::string& prefix, int replicas, const DevicePluginConfig& c,
                   api::Labels* l) {
  (*l)[prefix + ".replicas"] = std::to_string(replicas);
  (*l)[prefix + ".sharing-strategy"] = replicas > 1 ? c.sharing : "none";
}

}  // namespace

Advertisement Advertise(const NodeGpus& g, const DevicePluginConfig& c) {
  Advertisement a;
  if (!g.model || g.count == 0) return a;
  AddCommonLabels(g, c, &a.labels);
  const bool use_mig = g.mig_enabled && c.mig_strategy != "none";
  if (!use_mig) {
    // Whole GPUs (MIG is ignored with migStrategy none).
    for (int i = 0; i < g.count; ++i) {
      AddUnits(c, "nvidia.com/gpu", "GPU-" + std::to_string(i), i, -1, g.model->memory_mib, 1.0,
               &a);
    }
    int replicas = c.ReplicasFor("nvidia.com/gpu");
    bool shared_not_renamed = replicas > 1 && !c.rename_by_default;
    a.labels["nvidia.com/gpu.product"] = g.model->product + (shared_not_renamed ? "-SHARED" : "");
    a.labels["nvidia.com/gpu.count"] = std::to_string(g.count);
    a.labels["nvidia.com/gpu.memory"] = std::to_string(g.model->memory_mib);
    SharingLabels("nvidia.com/gpu", replicas, c, &a.labels);
    return a;
  }
  if (c.mig_strategy == "single") {
    // assertAllMigDevicesAreValid(uniform): every GPU has MIG devices, all of one profile.
    std::string profile;
    for (int i = 0; i < g.count; ++i) {
      const auto& inst = g.mig[static_cast<size_t>(i)];
      if (inst.empty())
        a.error = "GPU " + std::to_string(i) + " has MIG enabled but no MIG devices";
      for (const auto& m : inst) {
        if (profile.empty()) profile = m.profile;
        if (m.profile != profile) a.error = "more than one MIG device type present on node";
      }
    }
    if (!a.error.empty()) {
      // GFD marks the node invalid; the plugin fails to start (failOnInitError).
      a.labels["nvidia.com/gpu.product"] = g.model->product + "-MIG-INVALID";
      a.labels["nvidia.com/gpu.count"] = "0";
      a.labels["nvidia.com/gpu.replicas"] = "0";
      a.labels["nvidia.com/gpu.memory"] = "0";
      a.labels["nvidia.com/gpu.sharing-strategy"] = "";
      a.resources.clear();
      a.devices.clear();
      return a;
    }
    const MigProfile* p = g.model->Profile(profile);
    int n = 0;
    for (int i = 0; i < g.count; ++i) {
      const auto& inst = g.mig[static_cast<size_t>(i)];
      for (size_t k = 0; k < inst.size(); ++k, ++n) {
        AddUnits(c, "nvidia.com/gpu", "MIG-" + std::to_string(i) + "-" + std::to_string(k), i,
                 static_cast<int>(k), p->memory_mib, ComputeShare(*g.model, *p), &a);
      }
    }
    a.labels["nvidia.com/gpu.product"] = g.model->product + "-MIG-" + profile;
    a.labels["nvidia.com/gpu.count"] = std::to_string(n);
    a.labels["nvidia.com/gpu.memory"] = std::to_string(p->memory_mib);
    a.labels["nvidia.com/gpu.multiprocessors"] = std::to_string(p->multiprocessors);
    a.labels["nvidia.com/gpu.slices.gi"] = std::to_string(p->compute);
    a.labels["nvidia.com/gpu.slices.ci"] = std::to_string(p->compute);
    SharingLabels("nvidia.com/gpu", c.ReplicasFor("nvidia.com/gpu"), c, &a.labels);
    return a;
  }
  // mixed: one resource per profile.
  std::map<std::string, int> per_profile;
  for (int i = 0; i < g.count; ++i) {
    const auto& inst = g.mig[static_cast<size_t>(i)];
    for (size_t k = 0; k < inst.size(); ++k) {
      const MigProfile* p = g.model->Profile(inst[k].profile);
      AddUnits(c, MigResourceName(p->name), "MIG-" + std::to_string(i) + "-" + std::to_string(k), i,
               static_cast<int>(k), p->memory_mib, ComputeShare(*g.model, *p), &a);
      per_profile[p->name]++;
    }
  }
  for (const auto& [name, count] : per_profile) {
    const MigProfile* p = g.model->Profile(name);
    std::string prefix = MigResourceName(name);
    a.labels[prefix + ".count"] = std::to_string(count);
    a.labels[prefix + ".product"] = g.model->product + "-MIG-" + name;
    a.labels[prefix + ".memory"] = std::to_string(p->memory_mib);
    a.labels[prefix + ".multiprocessors"] = std::to_string(p->multiprocessors);
    a.labels[prefix + ".slices.gi"] = std::to_string(p->compute);
    a.labels[prefix + ".slices.ci"] = std::to_string(p->compute);
    SharingLabels(prefix, c.ReplicasFor(prefix), c, &a.labels);
  }
  return a;
}

}  // namespace gputwin::devices
