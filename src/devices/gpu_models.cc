#include "devices/gpu_models.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>

namespace gputwin::devices {
namespace {

// Placements of the 8-memory-slice GPUs (nvidia-smi mig -lgipp on A100/H100).
const std::vector<int> kStarts1g = {0, 1, 2, 3, 4, 5, 6};
const std::vector<int> kStarts1gDouble = {0, 2, 4, 6};
const std::vector<int> kStarts2g = {0, 2, 4};
const std::vector<int> kStarts3g = {0, 4};
const std::vector<int> kStarts4g7g = {0};

// The seven profile classes of an 8-slice GPU with their names and sizes in MiB.
std::vector<MigProfile> EightSliceProfiles(const std::string& g1, const std::string& g1x2,
                                           const std::string& g2, const std::string& g3,
                                           const std::string& g4, const std::string& g7, int64_t m1,
                                           int64_t m2, int64_t m4, int64_t m8, int sm1, int sm1x2,
                                           int sm2, int sm3, int sm4, int sm7) {
  return {
      {g1, 1, 1, kStarts1g, 7, m1, sm1},           {g1 + "+me", 1, 1, kStarts1g, 1, m1, sm1},
      {g1x2, 1, 2, kStarts1gDouble, 4, m2, sm1x2}, {g2, 2, 2, kStarts2g, 3, m2, sm2},
      {g3, 3, 4, kStarts3g, 2, m4, sm3},           {g4, 4, 4, kStarts4g7g, 1, m4, sm4},
      {g7, 7, 8, kStarts4g7g, 1, m8, sm7},
  };
}

std::vector<GpuModel> BuildTable() {
  std::vector<GpuModel> t;
  // name, product, MiB, SMs, CC, family, memory slices, MIG profiles.
  t.push_back({"A100-40GB",
               "NVIDIA-A100-SXM4-40GB",
               40960,
               108,
               8,
               0,
               "ampere",
               8,
               EightSliceProfiles("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb",
                                  4864, 9856, 19968, 40192, 14, 14, 28, 42, 56, 98),
               {}});
  t.push_back({"A100-80GB",
               "NVIDIA-A100-SXM4-80GB",
               81920,
               108,
               8,
               0,
               "ampere",
               8,
               EightSliceProfiles("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
                                  9856, 19968, 40192, 80384, 14, 14, 28, 42, 56, 98),
               {}});
  // PCIe boards: the same GA100 die and MIG profiles as the SXM4 boards, less power.
  t.push_back({"A100-40GB-PCIe",
               "NVIDIA-A100-PCIE-40GB",
               40960,
               108,
               8,
               0,
               "ampere",
               8,
               EightSliceProfiles("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb",
                                  4864, 9856, 19968, 40192, 14, 14, 28, 42, 56, 98),
               {}});
  t.push_back({"A100-80GB-PCIe",
               "NVIDIA-A100-80GB-PCIe",
               81920,
               108,
               8,
               0,
               "ampere",
               8,
               EightSliceProfiles("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
                                  9856, 19968, 40192, 80384, 14, 14, 28, 42, 56, 98),
               {}});
  t.push_back({"H100-80GB",
               "NVIDIA-H100-80GB-HBM3",
               81559,
               132,
               9,
               0,
               "hopper",
               8,
               EightSliceProfiles("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
                                  9984, 20091, 40448, 81152, 16, 26, 32, 60, 64, 132),
               {}});
  // H100 PCIe: 114 SMs; its MIG instances' SMs are the SXM5 ones scaled by 114/132 (an
  // assumption: the MIG user guide lists the SXM5 board's).
  t.push_back({"H100-PCIe",
               "NVIDIA-H100-PCIe",
               81559,
               114,
               9,
               0,
               "hopper",
               8,
               EightSliceProfiles("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
                                  9984, 20091, 40448, 81152, 14, 22, 28, 52, 56, 114),
               {}});
  t.push_back({"H100-94GB",
               "NVIDIA-H100-NVL",
               95830,
               132,
               9,
               0,
               "hopper",
               8,
               EightSliceProfiles("1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb",
                                  11008, 22139, 47493, 95355, 16, 26, 32, 60, 64, 132),
               {}});
  // H200: sizes as nvidia-smi mig -lgip reads them on a real H200 (16, 32.5, 69.75, 140 GiB).
  t.push_back({"H200-141GB",
               "NVIDIA-H200",
               143771,
               132,
               9,
               0,
               "hopper",
               8,
               EightSliceProfiles("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb",
                                  16384, 33280, 71424, 143360, 16, 26, 32, 60, 64, 132),
               {}});
  // A30: 4 compute and 4 memory slices.
  t.push_back({"A30",
               "NVIDIA-A30",
               24576,
               56,
               8,
               0,
               "ampere",
               4,
               {{"1g.6gb", 1, 1, {0, 1, 2, 3}, 4, 5836, 14},
                {"1g.6gb+me", 1, 1, {0, 1, 2, 3}, 1, 5836, 14},
                {"2g.12gb", 2, 2, {0, 2}, 2, 11672, 28},
                {"2g.12gb+me", 2, 2, {0, 2}, 1, 11672, 28},
                {"4g.24gb", 4, 4, {0}, 1, 23344, 56}},
               {}});
  t.push_back({"L4", "NVIDIA-L4", 23034, 58, 8, 9, "ada-lovelace", 0, {}, {}});
  t.push_back({"L40S", "NVIDIA-L40S", 46068, 142, 8, 9, "ada-lovelace", 0, {}, {}});
  t.push_back({"A10G", "NVIDIA-A10G", 23028, 80, 8, 6, "ampere", 0, {}, {}});
  t.push_back({"A10", "NVIDIA-A10", 23028, 72, 8, 6, "ampere", 0, {}, {}});
  t.push_back({"T4", "Tesla-T4", 15360, 40, 7, 5, "turing", 0, {}, {}});
  t.push_back({"V100-16GB", "Tesla-V100-SXM2-16GB", 16384, 80, 7, 0, "volta", 0, {}, {}});
  t.push_back({"V100-32GB", "Tesla-V100-SXM2-32GB", 32768, 80, 7, 0, "volta", 0, {}, {}});
  // NVIDIA datasheets (SXM forms where both exist): HBM/GDDR bandwidth, dense tensor
  // TFLOPS, NVLink total / 2 per direction or PCIe x16 per direction, board power.
  const std::map<std::string, GpuPerformance> perf = {
      {"A100-40GB", {1555, 312, 312, 0, 300, true, 400}},
      {"A100-80GB", {2039, 312, 312, 0, 300, true, 400}},
      {"A100-40GB-PCIe", {1555, 312, 312, 0, 32, false, 250}},
      {"A100-80GB-PCIe", {1935, 312, 312, 0, 32, false, 300}},
      {"H100-PCIe", {2000, 756, 756, 1513, 64, false, 350}},
      {"H100-80GB", {3350, 989, 989, 1979, 450, true, 700}},
      {"H100-94GB", {3900, 835, 835, 1671, 300, true, 400}},  // NVL: NVLink bridge pairs
      {"H200-141GB", {4800, 989, 989, 1979, 450, true, 700}},
      {"A30", {933, 165, 165, 0, 100, true, 165}},
      {"L4", {300, 121, 121, 242, 32, false, 72}},
      {"L40S", {864, 362, 362, 733, 32, false, 350}},
      // AWS publishes no tensor figure for the A10G; 70 TFLOPS is the commonly measured
      // half of the A10's 125.
      {"A10G", {600, 70, 70, 0, 32, false, 300}},
      {"A10", {600, 125, 125, 0, 32, false, 150}},
      {"T4", {320, 0, 65, 0, 16, false, 70}},
      {"V100-16GB", {900, 0, 125, 0, 150, true, 300}},
      {"V100-32GB", {900, 0, 125, 0, 150, true, 300}},
  };
  for (auto& m : t) m.performance = perf.at(m.name);
  return t;
}

const std::vector<GpuModel>& Builtin() {
  static const std::vector<GpuModel> table = BuildTable();
  return table;
}

}  // namespace

const MigProfile* GpuModel::Profile(const std::string& n) const {
  for (const auto& p : mig_profiles) {
    if (p.name == n) return &p;
  }
  return nullptr;
}

std::string GpuModel::PciDeviceId() const {
  // NVIDIA's PCI device IDs (vendor 10DE) of the boards MIG runs on, as the GPU Operator's
  // default mig-parted config filters on them.
  static const std::map<std::string, std::string> kIds = {{"A100-40GB", "0x20B010DE"},
                                                          {"A100-80GB", "0x20B210DE"},
                                                          {"A100-40GB-PCIe", "0x20F110DE"},
                                                          {"A100-80GB-PCIe", "0x20B510DE"},
                                                          {"A30", "0x20B710DE"},
                                                          {"H100-80GB", "0x233010DE"},
                                                          {"H100-PCIe", "0x233110DE"},
                                                          {"H100-94GB", "0x232110DE"},
                                                          {"H200-141GB", "0x233510DE"}};
  auto it = kIds.find(name);
  return it == kIds.end() ? "" : it->second;
}

GpuModelTable::GpuModelTable() = default;

const GpuModel* GpuModelTable::Find(const std::string& name) const {
  static const std::map<std::string, std::string> kAliases = {
      {"A100", "A100-40GB"},
      {"A100-SXM4-40GB", "A100-40GB"},
      {"A100-SXM4-80GB", "A100-80GB"},
      {"H100", "H100-80GB"},
      {"H100-SXM5-80GB", "H100-80GB"},
      {"H100-NVL", "H100-94GB"},
      {"H200", "H200-141GB"},
      {"V100", "V100-16GB"},
      {"V100M16", "V100-16GB"},
      {"V100M32", "V100-32GB"},
      // GFD products of PCIe V100s.
      {"Tesla-V100-PCIE-16GB", "V100-16GB"},
      {"Tesla-V100-PCIE-32GB", "V100-32GB"}};
  for (const auto& m : Builtin()) {
    if (m.name == name || m.product == name) return &m;
  }
  for (const auto& m : added_) {
    if (m.name == name || m.product == name) return &m;
  }
  auto it = kAliases.find(name);
  if (it != kAliases.end()) return Find(it->second);
  return nullptr;
}

bool GpuModelTable::Add(const GpuModel& model, std::string* error) {
  for (const auto& m : Builtin()) {
    if (m.name == model.name) {
      *error = "GPU model " + model.name + " is built in and cannot be redefined";
      return false;
    }
  }
  for (auto& m : added_) {
    if (m.name == model.name) {
      m = model;
      return true;
    }
  }
  added_.push_back(model);
  return true;
}

std::vector<std::string> GpuModelTable::Names() const {
  std::vector<std::string> out;
  for (const auto& m : Builtin()) out.push_back(m.name);
  for (const auto& m : added_) out.push_back(m.name);
  return out;
}

std::optional<std::vector<MigInstance>> PlaceMigInstances(
    const GpuModel& model, const std::vector<std::pair<std::string, int>>& wanted,
    std::string* error) {
  if (model.memory_slices == 0) {
    *error = model.name + " does not support MIG";
    return std::nullopt;
  }
  std::vector<const MigProfile*> items;
  for (const auto& [name, count] : wanted) {
    const MigProfile* p = model.Profile(name);
    if (!p) {
      std::string known;
      for (const auto& mp : model.mig_profiles) known += (known.empty() ? "" : ", ") + mp.name;
      *error =
          "profile " + name + " does not exist on " + model.name + " (profiles: " + known + ")";
      return std::nullopt;
    }
    if (count > p->max_per_gpu) {
      *error = std::to_string(count) + " × " + name + " exceeds the " +
               std::to_string(p->max_per_gpu) + " a " + model.name + " can hold";
      return std::nullopt;
    }
    for (int i = 0; i < count; ++i) items.push_back(p);
  }
  int compute = 0, memory = 0;
  for (const auto* p : items) {
    compute += p->compute;
    memory += p->memory;
  }
  const int total_compute = model.memory_slices == 8 ? 7 : model.memory_slices;
  if (compute > total_compute || memory > model.memory_slices) {
    *error = "the instances need " + std::to_string(compute) + " compute and " +
             std::to_string(memory) + " memory slices; a " + model.name + " has " +
             std::to_string(total_compute) + " and " + std::to_string(model.memory_slices);
    return std::nullopt;
  }
  // Largest first; backtrack over the allowed starts (no overlapping memory slices).
  std::stable_sort(items.begin(), items.end(), [](const MigProfile* a, const MigProfile* b) {
    return a->memory > b->memory || (a->memory == b->memory && a->compute > b->compute);
  });
  std::vector<bool> used(static_cast<size_t>(model.memory_slices), false);
  std::vector<MigInstance> placed;
  std::function<bool(size_t)> place = [&](size_t i) {
    if (i == items.size()) return true;
    const MigProfile* p = items[i];
    for (int s : p->starts) {
      bool free = s + p->memory <= model.memory_slices;
      for (int k = s; free && k < s + p->memory; ++k) free = !used[static_cast<size_t>(k)];
      if (!free) continue;
      for (int k = s; k < s + p->memory; ++k) used[static_cast<size_t>(k)] = true;
      placed.push_back({p->name, s});
      if (place(i + 1)) return true;
      placed.pop_back();
      for (int k = s; k < s + p->memory; ++k) used[static_cast<size_t>(k)] = false;
    }
    return false;
  };
  if (!place(0)) {
    *error = "no placement of these instances fits the memory slices of a " + model.name +
             " without overlap";
    return std::nullopt;
  }
  std::sort(placed.begin(), placed.end(),
            [](const MigInstance& a, const MigInstance& b) { return a.start < b.start; });
  return placed;
}

bool BuiltinMigConfig(const GpuModel& model, const std::string& name, bool* mig_enabled,
                      std::vector<std::pair<std::string, int>>* devices) {
  devices->clear();
  if (name == "all-disabled") {
    *mig_enabled = false;
    return true;
  }
  if (model.memory_slices == 0) return false;
  *mig_enabled = true;
  if (name == "all-enabled") return true;
  if (name == "all-balanced") {
    // 1g×2 + 2g + 3g on 8-slice GPUs; 1g×2 + 2g on A30.
    const auto& p = model.mig_profiles;
    devices->push_back({p[0].name, 2});
    devices->push_back({model.memory_slices == 8 ? p[3].name : p[2].name, 1});
    if (model.memory_slices == 8) devices->push_back({p[4].name, 1});
    return true;
  }
  if (name.starts_with("all-")) {
    const MigProfile* p = model.Profile(name.substr(4));
    if (!p || p->name.ends_with("+me")) return false;
    // As many as fit: the profile's maximum, limited by compute slices.
    int total_compute = model.memory_slices == 8 ? 7 : model.memory_slices;
    devices->push_back({p->name, std::min(p->max_per_gpu, total_compute / p->compute)});
    return true;
  }
  return false;
}

}  // namespace gputwin::devices
