// Cost allocation, derived by hand from the catalog price and Kubecost's default AWS
// resource prices (src/cost/README.md).
#include <gtest/gtest.h>

#include "cost/cost.h"
#include "sim/simulation.h"

namespace gputwin::cost {
namespace {

TEST(Cost, OneOnDemandGpuNodeSplitIntoGpuCpuAndMemoryParts) {
  auto sim = sim::LoadScenario(
      std::string(GPUTWIN_SOURCE_DIR) + "/tests/scenarios/karpenter_cheapest_type.yaml",
      std::nullopt, std::nullopt);
  sim->Run();
  auto r = ComputeCost(sim->store(), sim->ec2(), sim->karpenter(), sim->lost_work(), sim->end());
  // g4dn.12xlarge on demand, $3.912/h, launched at 1s, running at the end (30m).
  EXPECT_NEAR(r.total, 3.912 * 1799.0 / 3600, 1e-9);
  // Allocatable 47.81 vCPU and 178933 MiB: CPU part 47.81 × 0.031611 = 1.51132/h, memory
  // part 174.739 GiB × 0.004237 = 0.74037/h, GPU part 3.912 − 2.25169 = 1.66031/h.
  // train-4gpu holds 4/4 GPUs, 8 of 47.81 vCPU, 32 of 174.739 GiB from 113s to 1800s.
  double hourly = 1.66031 + 1.51132 * 8 / 47.81 + 0.74037 * 32 / 174.739;
  cluster::PodId pod = sim->store().FindPod("default", "train-4gpu");
  EXPECT_NEAR(r.pod_cost[pod], hourly * 1687 / 3600, 1e-4);
  EXPECT_NEAR(r.idle, r.total - r.allocated, 1e-9);
  // All 4 GPUs were held from 113s: idle GPU cost is the GPU part before that.
  EXPECT_NEAR(r.idle_gpu, 1.66031 * 112.0 / 3600, 1e-4);
  EXPECT_EQ(r.spot_savings, 0);
}

}  // namespace
}  // namespace gputwin::cost
