// OpenCost's series for the idle-GPU example, read back with PromQL: one node of four
// A100s priced $20/h with 96 vCPUs and 1000 GiB, two notebooks holding a GPU each, a
// training pod holding two, and OpenCost itself (10m CPU, 55Mi).
//
// By hand, as OpenCost's GetNodeCost splits a price it has no breakdown for: each part is
// weighed in GiB of memory by the default rates (CPU 0.031611/0.004237 = 7.460703, GPU
// 0.95/0.004237 = 224.215247): 4 × 224.215247 + 96 × 7.460703 + 1000 = 2613.0885 GiB-equivalents,
// so RAM $0.00765378/GiB-h, CPU $0.0571026/vCPU-h, GPU $1.716094/GPU-h, and
// the total is the price again.
#include <gtest/gtest.h>

#include "exporters/opencost.h"
#include "sim/simulation.h"
#include "telemetry/promql.h"

namespace gputwin {
namespace {

class OpenCostTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sim_ = sim::LoadScenario(
               std::string(GPUTWIN_SOURCE_DIR) + "/examples/idle-gpu-alert/scenario.yaml",
               std::nullopt, Duration::Hours(1))
               .release();
    sim_->SpoolMetrics();
    sim_->Run();
  }
  static void TearDownTestSuite() { delete sim_; }
  static telemetry::PromResult Query(const std::string& q) {
    return telemetry::PromQuery::Parse(q).Evaluate(sim_->metrics(),
                                                   sim_->start() + Duration::Minutes(59));
  }
  static double One(const std::string& q) {
    const auto r = Query(q);
    EXPECT_EQ(r.samples.size(), 1u) << q;
    return r.samples.empty() ? -1 : r.samples[0].value;
  }
  static sim::Simulation* sim_;
};
sim::Simulation* OpenCostTest::sim_ = nullptr;

TEST_F(OpenCostTest, NodeRatesSplitThePriceAsOpenCostDoes) {
  EXPECT_NEAR(One("node_gpu_hourly_cost{node=\"gpu-node-1\"}"), 1.716094, 1e-6);
  EXPECT_NEAR(One("node_cpu_hourly_cost{node=\"gpu-node-1\"}"), 0.0571026, 1e-7);
  EXPECT_NEAR(One("node_ram_hourly_cost{node=\"gpu-node-1\"}"), 0.00765378, 1e-8);
  EXPECT_NEAR(One("node_total_hourly_cost{node=\"gpu-node-1\"}"), 20, 1e-9);
  EXPECT_EQ(One("node_gpu_count{node=\"gpu-node-1\"}"), 4);
  EXPECT_EQ(One("kubecost_node_is_spot{node=\"gpu-node-1\"}"), 0);
  // A node from the manifests without a region label has none (OpenCost reads the label).
  EXPECT_EQ(Query("node_total_hourly_cost{region=\"\"}").samples.size(), 1u);
}

TEST_F(OpenCostTest, ContainersOfRunningPodsWithTheirRequests) {
  EXPECT_EQ(One("sum(container_gpu_allocation)"), 4);
  EXPECT_EQ(One("container_gpu_allocation{container=\"trainer\"}"), 2);
  // OpenCost's own container has no GPU series, but CPU and memory ones.
  EXPECT_TRUE(Query("container_gpu_allocation{namespace=\"opencost\"}").samples.empty());
  EXPECT_NEAR(One("container_cpu_allocation{namespace=\"opencost\"}"), 0.010, 1e-12);
  EXPECT_EQ(One("container_memory_allocation_bytes{namespace=\"opencost\"}"), 55.0 * 1024 * 1024);
  // The hourly GPU cost of the idle notebooks, as a cost dashboard computes it.
  EXPECT_NEAR(One("sum(container_gpu_allocation{pod=~\"notebook-.*\"} * on(node) group_left() "
                  "node_gpu_hourly_cost)"),
              2 * 1.716094, 2e-6);
}

TEST_F(OpenCostTest, EveryScrapeTargetHasItsUpSeries) {
  // Three targets: kube-state-metrics, the node's dcgm-exporter pod and OpenCost; an
  // `absent(up{job="kube-state-metrics"} == 1)` rule (kube-prometheus's) does not fire.
  EXPECT_EQ(One("count(up == 1)"), 3);
  EXPECT_EQ(One("up{job=\"nvidia-dcgm-exporter\",instance=\"gpu-node-1:9400\"}"), 1);
  EXPECT_EQ(One("up{job=\"opencost\"}"), 1);
  EXPECT_TRUE(Query("absent(up{job=\"kube-state-metrics\"} == 1)").samples.empty());
}

TEST(OpenCostSplit, ACpuOnlyNodeSharesItsPriceBetweenCpuAndMemory) {
  // 8 vCPUs and 32 GiB at $0.384/h (m5.2xlarge on demand): 8 × 7.460703 + 32 = 91.68562.
  const auto r = exporters::SplitOpenCost(0.384, 8, 32, 0);
  EXPECT_NEAR(r.ram, 0.384 / 91.68562, 1e-9);
  EXPECT_NEAR(r.cpu * 8 + r.ram * 32, 0.384, 1e-12);
  EXPECT_DOUBLE_EQ(r.gpu, r.ram * 0.95 / 0.004237);
}

}  // namespace
}  // namespace gputwin
