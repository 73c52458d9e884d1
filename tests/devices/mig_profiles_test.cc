// MIG profiles of the device table against `nvidia-smi mig -lgip` read on a real H200
// (../shared/data/h200-measured/mig-profiles.txt): memory (GiB), SMs and instance counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "devices/gpu_models.h"

namespace gputwin::devices {
namespace {

TEST(MigProfiles, H200MatchesNvidiaSmiOnRealHardware) {
  const std::string path =
      std::string(GPUTWIN_SOURCE_DIR) + "/../shared/data/h200-measured/mig-profiles.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  std::ifstream in(path);
  // |   0  MIG 3g.71gb          9     2/2        69.75      No     60     3     0   |
  // (read word by word: GCC 12's <regex> trips -Wmaybe-uninitialized under ASan)
  const GpuModelTable table;
  const GpuModel* h200 = table.Find("H200-141GB");
  ASSERT_NE(h200, nullptr);
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find("MIG ");
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at + 4));
    std::string name, id, instances, p2p;
    double gib = 0;
    int sms = 0;
    if (!(words >> name >> id >> instances >> gib >> p2p >> sms)) continue;
    const MigProfile* p = h200->Profile(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->max_per_gpu, std::stoi(instances.substr(instances.find('/') + 1))) << name;
    EXPECT_EQ(p->memory_mib, static_cast<int64_t>(gib * 1024)) << name;
    EXPECT_EQ(p->multiprocessors, sms) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

}  // namespace
}  // namespace gputwin::devices

namespace gputwin::devices {
namespace {

// GPU Feature Discovery's nvidia.com/gpu.product is NVML's device name with blanks as dashes;
// these are the names real nodes carry. Each resolves to its board: memory (MiB as NVML
// reports it), SMs and board power from NVIDIA's datasheets.
TEST(GpuModels, RealGfdProductsResolveToTheirBoards) {
  const GpuModelTable table;
  struct Want {
    const char* product;
    const char* model;
    int sms;
    double watts;
  };
  for (const Want& w :
       {Want{"NVIDIA-A100-SXM4-80GB", "A100-80GB", 108, 400},
        Want{"NVIDIA-A100-80GB-PCIe", "A100-80GB-PCIe", 108, 300},
        Want{"NVIDIA-A100-PCIE-40GB", "A100-40GB-PCIe", 108, 250},
        Want{"NVIDIA-H100-80GB-HBM3", "H100-80GB", 132, 700},
        Want{"NVIDIA-H100-PCIe", "H100-PCIe", 114, 350},
        Want{"NVIDIA-H100-NVL", "H100-94GB", 132, 400}, Want{"NVIDIA-H200", "H200-141GB", 132, 700},
        Want{"NVIDIA-L40S", "L40S", 142, 350}, Want{"NVIDIA-L4", "L4", 58, 72},
        Want{"NVIDIA-A10G", "A10G", 80, 300}, Want{"NVIDIA-A10", "A10", 72, 150},
        Want{"Tesla-T4", "T4", 40, 70}, Want{"Tesla-V100-SXM2-16GB", "V100-16GB", 80, 300}}) {
    const GpuModel* m = table.Find(w.product);
    ASSERT_NE(m, nullptr) << w.product;
    EXPECT_EQ(m->name, w.model) << w.product;
    EXPECT_EQ(m->multiprocessors, w.sms) << w.product;
    EXPECT_EQ(m->performance.tdp_watts, w.watts) << w.product;
  }
  EXPECT_EQ(table.Find("NVIDIA-GeForce-RTX-9090"), nullptr);
}

}  // namespace
}  // namespace gputwin::devices
