// The GPU Operator with the MIG single strategy: GFD then labels the node with the MIG
// devices' count and a "-MIG-<profile>" product (gpu-feature-discovery's README, "MIG
// strategy single"). The twin plans a node's physical GPUs once, from the node as it joined,
// and reads a snapshot's MIG labels back to physical GPUs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sim/simulation.h"

namespace gputwin {
namespace {

std::unique_ptr<sim::Simulation> RunManifests(const std::string& yaml) {
  namespace fs = std::filesystem;
  const fs::path file =
      fs::temp_directory_path() / ("gputwin-mig-op-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << yaml;
  auto s = sim::LoadManifests({file.string()}, Duration::Minutes(5), std::nullopt);
  s->Run();
  fs::remove(file);
  return s;
}

int64_t Allocatable(const sim::Simulation& s, const std::string& resource) {
  const auto& store = s.store();
  const auto rid = store.resources().Find(resource);
  return rid < store.resources().size() ? cluster::At(store.node(0).allocatable, rid) : 0;
}

TEST(MigSingleStrategy, EightA100sOfTwo3gInstancesEachAreSixteenDevices) {
  auto s = RunManifests(R"(apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  mig: {strategy: single}
---
apiVersion: v1
kind: Node
metadata:
  name: p4d
  labels:
    nvidia.com/gpu.product: NVIDIA-A100-SXM4-40GB
    nvidia.com/gpu.count: "8"
    nvidia.com/mig.config: all-3g.20gb
status: {allocatable: {cpu: "96", memory: 1000Gi}}
)");
  EXPECT_EQ(s->store().node(0).gpu_count, 8);
  EXPECT_EQ(Allocatable(*s, "nvidia.com/gpu"), 16);  // 2 × 3g.20gb per A100-40GB
}

TEST(MigSingleStrategy, ASnapshotsMigLabelsCountPhysicalGpus) {
  auto s = RunManifests(R"(apiVersion: v1
kind: Node
metadata:
  name: snap
  labels:
    nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB-MIG-1g.10gb
    nvidia.com/gpu.count: "56"
    nvidia.com/mig.strategy: single
status: {allocatable: {cpu: "96", nvidia.com/gpu: "56"}}
)");
  EXPECT_EQ(s->store().node(0).gpu_count, 8);  // 56 instances / 7 per A100-80GB
  EXPECT_EQ(s->store().node(0).gpu_model, "A100-80GB");
  EXPECT_EQ(Allocatable(*s, "nvidia.com/gpu"), 56);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// The GPU Operator's docs (gpu-operator-mig.html, "Custom MIG configuration"): a ConfigMap
// of mig-parted configs applies once ClusterPolicy migManager.config.name names it; its
// named configs then replace the operator's defaults, and a label naming a config it lacks
// is an error (the mig-manager sets mig.config.state=failed).
const char* kCustomMigConfig = R"(apiVersion: v1
kind: ConfigMap
metadata: {name: custom-mig-config, namespace: gpu-operator}
data:
  config.yaml: |
    version: v1
    mig-configs:
      five-1g-one-2g:
        - devices: all
          mig-enabled: true
          mig-devices:
            "1g.10gb": 5
            "2g.20gb": 1
---
apiVersion: v1
kind: Node
metadata:
  name: p4de
  labels:
    nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB
    nvidia.com/gpu.count: "8"
    nvidia.com/mig.config: five-1g-one-2g
status: {allocatable: {cpu: "96", memory: 1000Gi}}
)";

TEST(MigManagerConfig, ACustomConfigMapAppliesOnlyWhenTheClusterPolicyNamesIt) {
  auto named = RunManifests(std::string(R"(apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  mig: {strategy: mixed}
  migManager: {config: {name: custom-mig-config}}
---
)") + kCustomMigConfig);
  EXPECT_TRUE(named->warnings().empty());
  EXPECT_EQ(Allocatable(*named, "nvidia.com/mig-1g.10gb"), 40);  // 5 per GPU × 8
  EXPECT_EQ(Allocatable(*named, "nvidia.com/mig-2g.20gb"), 8);
  // Not named: the operator's mig-manager reads default-mig-parted-config, which has no
  // "five-1g-one-2g": the node's label names a config that does not exist.
  try {
    RunManifests(std::string(R"(apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  mig: {strategy: mixed}
---
)") + kCustomMigConfig);
    ADD_FAILURE() << "a config from an unused ConfigMap was applied";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no mig-parted config \"five-1g-one-2g\""),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace gputwin
