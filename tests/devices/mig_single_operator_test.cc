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
