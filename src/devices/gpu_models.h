// Physical GPU models and their MIG geometry, from NVIDIA's MIG user guide, nvidia-smi
// transcripts and go-nvml's mocks (see ../shared/reference/gpu-stack.md, section 2).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace gputwin::devices {

// A GPU instance profile: `compute` of the GPU's compute slices, `memory` consecutive
// memory slices starting at one of `starts` (NVML placements; no two instances overlap).
struct MigProfile {
  std::string name;  // "1g.10gb", "1g.10gb+me", "3g.40gb", ...
  int compute = 0, memory = 0;
  std::vector<int> starts;
  int max_per_gpu = 0;
  int64_t memory_mib = 0;
  int multiprocessors = 0;
};

// Datasheet throughput of a whole GPU, for the serving model (src/serving). Dense (no
// sparsity) tensor TFLOPS; 0 where the GPU lacks the type (no bf16 before Ampere).
struct GpuPerformance {
  double memory_bandwidth_gbps = 0;  // GB/s
  double bf16_tflops = 0, fp16_tflops = 0, fp8_tflops = 0;
  double link_gbps = 0;  // GPU-to-GPU, GB/s in each direction (NVLink or PCIe)
  bool nvlink = false;
  double tdp_watts = 0;
};

struct GpuModel {
  std::string name;     // the twin's name: "A100-80GB", "H100-80GB", "T4", ...
  std::string product;  // GFD's nvidia.com/gpu.product (sanitised NVML name)
  int64_t memory_mib = 0;
  int multiprocessors = 0;
  int compute_major = 0, compute_minor = 0;
  std::string family;     // GFD's nvidia.com/gpu.family
  int memory_slices = 0;  // 8 (A100/H100/H200) or 4 (A30); 0 without MIG
  std::vector<MigProfile> mig_profiles;
  GpuPerformance performance;
  const MigProfile* Profile(const std::string& name) const;
  // The PCI device ID as mig-parted's device-filter writes it ("0x20B210DE"); "" if unknown.
  std::string PciDeviceId() const;
};

// The GPU models one run knows: the built-in table (immutable, shared) and the models the
// run adds (a scenario's spec.gpuModels, catalog GPUs the table lacks). One per run, so
// what a scenario adds never leaks into another simulation in the same process.
class GpuModelTable {
 public:
  GpuModelTable();
  // nullptr for an unknown model. Accepts the twin's names and common aliases (GFD
  // products, AWS names such as "A10G", "H100").
  const GpuModel* Find(const std::string& name) const;
  std::vector<std::string> Names() const;
  // Adds a model; replaces one of the same name added earlier. Built-in models cannot be
  // replaced (false and `error`).
  bool Add(const GpuModel& model, std::string* error);

 private:
  std::deque<GpuModel> added_;  // a deque: pointers handed out stay valid
};

// A MIG layout: profile name per placed instance, with its start slice.
struct MigInstance {
  std::string profile;
  int start = 0;
};

// Places the requested instances (profile → count) without overlapping memory slices,
// trying larger instances first. On failure returns nullopt and sets `error` to why.
std::optional<std::vector<MigInstance>> PlaceMigInstances(
    const GpuModel& model, const std::vector<std::pair<std::string, int>>& wanted,
    std::string* error);

// mig-parted's built-in named configs: all-disabled, all-enabled, all-<profile>,
// all-balanced. Returns false if the name is not one of them for this model.
bool BuiltinMigConfig(const GpuModel& model, const std::string& name, bool* mig_enabled,
                      std::vector<std::pair<std::string, int>>* devices);

}  // namespace gputwin::devices
