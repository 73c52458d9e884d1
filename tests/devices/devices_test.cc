// The NVIDIA stack's rules, from NVIDIA/k8s-device-plugin (api/config/v1, internal/rm,
// internal/lm), the MIG user guide's placement table and mig-parted's named configs
// (../shared/reference/gpu-stack.md).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "devices/advertise.h"
#include "devices/allocation.h"
#include "devices/device_plugin_config.h"

namespace gputwin::devices {
namespace {

using ::testing::HasSubstr;

const GpuModel* FindGpuModel(const std::string& name) {
  static const GpuModelTable kModels;
  return kModels.Find(name);
}

DevicePluginConfig Config(const std::string& yaml, Diagnostics* diag = nullptr) {
  Diagnostics local;
  return ParseDevicePluginConfig(yaml, SourceRef{"cm.yaml", 3}, "cfg", diag ? diag : &local);
}

NodeGpus Gpus(const char* model, int count) {
  NodeGpus g;
  g.model = FindGpuModel(model);
  g.count = count;
  g.mig.assign(static_cast<size_t>(count), {});
  return g;
}

TEST(Advertise, TimeSlicingMultipliesByReplicas) {
  // README "With CUDA Time-Slicing": 8 GPUs with replicas 10 advertise nvidia.com/gpu: 80.
  auto c = Config(
      "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      "
      "replicas: 10\n");
  auto a = Advertise(Gpus("A100-80GB", 8), c);
  EXPECT_EQ(a.resources, (std::map<std::string, int64_t>{{"nvidia.com/gpu", 80}}));
  EXPECT_EQ(a.labels["nvidia.com/gpu.replicas"], "10");
  EXPECT_EQ(a.labels["nvidia.com/gpu.sharing-strategy"], "time-slicing");
  EXPECT_EQ(a.labels["nvidia.com/gpu.product"], "NVIDIA-A100-SXM4-80GB-SHARED");
  EXPECT_EQ(a.labels["nvidia.com/gpu.count"], "8");
  EXPECT_EQ(a.devices[0].id, "GPU-0::0");
}

TEST(Advertise, RenameByDefaultAdvertisesSharedOnly) {
  auto c = Config(
      "version: v1\nsharing:\n  timeSlicing:\n    renameByDefault: true\n    resources:\n    - "
      "name: nvidia.com/gpu\n      replicas: 10\n");
  auto a = Advertise(Gpus("A100-80GB", 8), c);
  EXPECT_EQ(a.resources, (std::map<std::string, int64_t>{{"nvidia.com/gpu.shared", 80}}));
  // Renamed resources do not get the -SHARED product suffix.
  EXPECT_EQ(a.labels["nvidia.com/gpu.product"], "NVIDIA-A100-SXM4-80GB");
}

TEST(Advertise, PlainGpusAndGfdLabels) {
  auto a = Advertise(Gpus("H100-80GB", 8), DevicePluginConfig{});
  EXPECT_EQ(a.resources["nvidia.com/gpu"], 8);
  EXPECT_EQ(a.labels["nvidia.com/gpu.product"], "NVIDIA-H100-80GB-HBM3");
  EXPECT_EQ(a.labels["nvidia.com/gpu.family"], "hopper");
  EXPECT_EQ(a.labels["nvidia.com/gpu.memory"], "81559");
  EXPECT_EQ(a.labels["nvidia.com/gpu.replicas"], "1");
  EXPECT_EQ(a.labels["nvidia.com/gpu.sharing-strategy"], "none");
  EXPECT_EQ(a.labels["nvidia.com/mig.capable"], "true");
  EXPECT_EQ(a.labels.count("nvidia.com/mig.strategy"), 0u);
  EXPECT_EQ(Advertise(Gpus("L4", 1), DevicePluginConfig{}).labels["nvidia.com/gpu.family"],
            "ada-lovelace");
  EXPECT_EQ(Advertise(Gpus("L4", 1), DevicePluginConfig{}).labels["nvidia.com/mig.capable"],
            "false");
}

TEST(Mig, AllBalancedPlacesLargestFirstWithoutOverlap) {
  const GpuModel* m = FindGpuModel("A100-80GB");
  bool enabled;
  std::vector<std::pair<std::string, int>> devices;
  ASSERT_TRUE(BuiltinMigConfig(*m, "all-balanced", &enabled, &devices));
  std::string error;
  auto placed = PlaceMigInstances(*m, devices, &error);
  ASSERT_TRUE(placed) << error;
  // 3g at 0 leaves no start for a second 1g (slice 7 takes only 3g@4, 1g.2x@6 or 7g), so
  // the 3g goes to 4: 2g@0, 1g@2, 1g@3, 3g@4.
  ASSERT_EQ(placed->size(), 4u);
  EXPECT_EQ((*placed)[0].profile, "2g.20gb");
  EXPECT_EQ((*placed)[0].start, 0);
  EXPECT_EQ((*placed)[1].start, 2);
  EXPECT_EQ((*placed)[2].start, 3);
  EXPECT_EQ((*placed)[3].profile, "3g.40gb");
  EXPECT_EQ((*placed)[3].start, 4);
}

TEST(Mig, LayoutsThatFitAndThatDoNot) {
  const GpuModel* m = FindGpuModel("A100-80GB");
  std::string error;
  EXPECT_TRUE(PlaceMigInstances(*m, {{"3g.40gb", 2}}, &error));
  EXPECT_TRUE(PlaceMigInstances(*m, {{"4g.40gb", 1}, {"3g.40gb", 1}}, &error));
  EXPECT_TRUE(PlaceMigInstances(*m, {{"1g.20gb", 4}}, &error));
  EXPECT_TRUE(PlaceMigInstances(*m, {{"2g.20gb", 3}, {"1g.10gb", 1}}, &error));
  EXPECT_TRUE(PlaceMigInstances(*m, {{"1g.10gb", 7}}, &error));
  EXPECT_FALSE(PlaceMigInstances(*m, {{"4g.40gb", 1}, {"3g.40gb", 1}, {"1g.10gb", 1}}, &error));
  EXPECT_THAT(error, HasSubstr("8 compute"));
  EXPECT_FALSE(PlaceMigInstances(*m, {{"1g.20gb", 4}, {"1g.10gb", 1}}, &error));
  EXPECT_THAT(error, HasSubstr("9 memory"));
  EXPECT_FALSE(PlaceMigInstances(*m, {{"3g.40gb", 3}}, &error));
  EXPECT_THAT(error, HasSubstr("exceeds the 2"));
  EXPECT_FALSE(PlaceMigInstances(*m, {{"1g.5gb", 1}}, &error));
  EXPECT_THAT(error, HasSubstr("does not exist on A100-80GB"));
  EXPECT_FALSE(PlaceMigInstances(*FindGpuModel("T4"), {{"1g.5gb", 1}}, &error));
  // A30: 4 slices; 2g.12gb at 0 or 2.
  EXPECT_TRUE(PlaceMigInstances(*FindGpuModel("A30"), {{"2g.12gb", 1}, {"1g.6gb", 2}}, &error));
  bool enabled;
  std::vector<std::pair<std::string, int>> d;
  ASSERT_TRUE(BuiltinMigConfig(*m, "all-1g.10gb", &enabled, &d));
  EXPECT_EQ(d, (std::vector<std::pair<std::string, int>>{{"1g.10gb", 7}}));
  ASSERT_TRUE(BuiltinMigConfig(*m, "all-1g.20gb", &enabled, &d));
  EXPECT_EQ(d[0].second, 4);
}

TEST(Advertise, MigStrategies) {
  NodeGpus g = Gpus("A100-80GB", 2);
  g.mig_enabled = true;
  std::string error;
  g.mig[0] = *PlaceMigInstances(*g.model, {{"1g.10gb", 7}}, &error);
  g.mig[1] = g.mig[0];
  DevicePluginConfig single;
  single.mig_strategy = "single";
  auto a = Advertise(g, single);
  EXPECT_EQ(a.resources["nvidia.com/gpu"], 14);
  EXPECT_EQ(a.labels["nvidia.com/gpu.product"], "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb");
  EXPECT_EQ(a.labels["nvidia.com/gpu.count"], "14");
  EXPECT_EQ(a.labels["nvidia.com/gpu.memory"], "9856");
  EXPECT_EQ(a.labels["nvidia.com/mig.strategy"], "single");
  // More than one profile under single: GFD marks the node invalid; nothing advertised.
  g.mig[1] = *PlaceMigInstances(*g.model, {{"3g.40gb", 2}}, &error);
  auto invalid = Advertise(g, single);
  EXPECT_TRUE(invalid.resources.empty());
  EXPECT_EQ(invalid.labels["nvidia.com/gpu.product"], "NVIDIA-A100-SXM4-80GB-MIG-INVALID");
  EXPECT_EQ(invalid.labels["nvidia.com/gpu.count"], "0");
  // Mixed: one resource per profile, '+' made '.'.
  DevicePluginConfig mixed;
  mixed.mig_strategy = "mixed";
  auto m = Advertise(g, mixed);
  EXPECT_EQ(m.resources["nvidia.com/mig-1g.10gb"], 7);
  EXPECT_EQ(m.resources["nvidia.com/mig-3g.40gb"], 2);
  EXPECT_EQ(m.labels["nvidia.com/mig-3g.40gb.count"], "2");
  EXPECT_EQ(MigResourceName("1g.10gb+me"), "nvidia.com/mig-1g.10gb.me");
  // migStrategy none ignores MIG: whole GPUs.
  EXPECT_EQ(Advertise(g, DevicePluginConfig{}).resources["nvidia.com/gpu"], 2);
}

TEST(DevicePluginConfig, ValidationAndIgnoredFields) {
  auto err = [](const std::string& y) {
    try {
      Config(y);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(err("version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: "
                  "nvidia.com/gpu\n      replicas: 1\n"),
              HasSubstr("number of replicas must be >= 2"));
  EXPECT_THAT(err("version: v1\nflags:\n  migStrategy: sometimes\n"),
              HasSubstr("unknown MIG strategy"));
  EXPECT_THAT(err("version: v2\nflags: {}\n"), HasSubstr("unknown version"));
  EXPECT_THAT(err("version: v1\nsharing:\n  timeSlicing:\n    resources: []\n"),
              HasSubstr("no resources specified"));
  Diagnostics diag;
  auto c = Config(
      "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      "
      "replicas: 4\n      rename: gpu-ts\n      devices: [0]\n",
      &diag);
  EXPECT_EQ(c.ReplicasFor("nvidia.com/gpu"), 4);
  ASSERT_EQ(diag.warnings.size(), 1u);
  EXPECT_THAT(diag.warnings[0], HasSubstr("rename and devices are not yet supported"));
  // MPS fails requests for more than one replica by default; time-slicing does not.
  EXPECT_TRUE(Config("version: v1\nsharing:\n  mps:\n    resources:\n    - name: nvidia.com/gpu\n  "
                     "    replicas: 2\n")
                  .fail_requests_greater_than_one);
  EXPECT_FALSE(c.fail_requests_greater_than_one);
}

TEST(Allocation, DistributedSpreadsReplicasAcrossGpus) {
  cluster::NodeRecord node;
  auto c = Config(
      "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      "
      "replicas: 2\n");
  node.devices = Advertise(Gpus("T4", 2), c).devices;  // GPU-0::0, GPU-0::1, GPU-1::0, GPU-1::1
  std::string error;
  auto first = AllocateUnits(&node, "nvidia.com/gpu", 1, 1, &error);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(node.devices[first[0]].gpu, 0);
  auto second = AllocateUnits(&node, "nvidia.com/gpu", 1, 2, &error);
  EXPECT_EQ(node.devices[second[0]].gpu, 1);  // the GPU with fewer replicas handed out
  auto both = AllocateUnits(&node, "nvidia.com/gpu", 3, 3, &error);
  EXPECT_TRUE(both.empty());
  EXPECT_THAT(error, HasSubstr("Requested: 3, Available: 2"));
}

TEST(Allocation, FairShares) {
  EXPECT_EQ(FairShareRates({1, 1}), (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(FairShareRates({0.3, 0.3, 0.3}), (std::vector<double>{1, 1, 1}));
  auto r = FairShareRates({0.2, 1.0});  // 0.2 gets all it needs; the other gets 0.8
  EXPECT_DOUBLE_EQ(r[0], 1.0);
  EXPECT_DOUBLE_EQ(r[1], 0.8);
  // A MIG 3g has 3/7 of the GPU: a pod needing 0.6 of a GPU runs at 5/7 speed.
  EXPECT_DOUBLE_EQ(FairShareRates({0.6}, 3.0 / 7)[0], 5.0 / 7);
  EXPECT_DOUBLE_EQ(FairShareRates({0.1}, 1.0 / 7)[0], 1.0);
}

}  // namespace
}  // namespace gputwin::devices
