// kube-state-metrics' series for the quickstart, read back with PromQL and checked against
// its manifests: three V100 nodes of 4 GPUs tainted nvidia.com/gpu=present:NoSchedule, a
// 12-completion training Job of 2-GPU, 8-CPU pods (6 run at a time), and a 2-replica
// inference Deployment that never schedules.
#include <gtest/gtest.h>

#include "sim/simulation.h"
#include "telemetry/promql.h"

namespace gputwin {
namespace {

class KubeStateMetricsTest : public ::testing::Test {
 protected:
  // The exporter's series keep an hour in memory: each check runs the scenario up to
  // the instant it queries.
  static std::unique_ptr<sim::Simulation> RunTo(Duration until) {
    auto s =
        sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/examples/quickstart/scenario.yaml",
                          std::nullopt, until);
    s->SpoolMetrics();
    s->Run();
    return s;
  }
  static void SetUpTestSuite() {
    at1h_ = RunTo(Duration::Hours(1)).release();
    at5h_ = RunTo(Duration::Hours(5)).release();
  }
  static void TearDownTestSuite() {
    delete at1h_;
    delete at5h_;
  }
  double One(const std::string& q, Duration at) {
    const sim::Simulation* s = at <= Duration::Hours(1) ? at1h_ : at5h_;
    const auto r = telemetry::PromQuery::Parse(q).Evaluate(s->metrics(), s->start() + at);
    EXPECT_EQ(r.samples.size(), 1u) << q;
    return r.samples.empty() ? -1 : r.samples[0].value;
  }
  static sim::Simulation *at1h_, *at5h_;
};
sim::Simulation* KubeStateMetricsTest::at1h_ = nullptr;
sim::Simulation* KubeStateMetricsTest::at5h_ = nullptr;

TEST_F(KubeStateMetricsTest, PodsByPhaseAsTheRunHasThem) {
  const Duration h1 = Duration::Hours(1);
  EXPECT_EQ(One("sum(kube_pod_status_phase{phase=\"Pending\",pod=~\"inference-.*\"})", h1), 2);
  EXPECT_EQ(One("sum(kube_pod_status_phase{phase=\"Running\",pod=~\"train-.*\"})", h1), 6);
  // Each pod is in exactly one phase.
  EXPECT_EQ(One("count(kube_pod_status_phase{pod=~\"inference-.*\"} == 1)", h1), 2);
  // PodScheduled=False: both inference pods and the 6 training pods of the second wave
  // (12 GPUs hold 6 two-GPU pods); running pods have no such series.
  EXPECT_EQ(One("sum(kube_pod_status_unschedulable)", h1), 8);
  EXPECT_EQ(One("sum(kube_pod_status_phase{phase=\"Pending\",pod=~\"train-.*\"})", h1), 6);
  EXPECT_EQ(One("count(kube_pod_status_unschedulable{pod=~\"inference-.*\"})", h1), 2);
  // After both waves (4 h): the 12 succeeded pods stay until deleted.
  EXPECT_EQ(
      One("sum(kube_pod_status_phase{phase=\"Succeeded\",pod=~\"train-.*\"})", Duration::Hours(5)),
      12);
  EXPECT_EQ(One("kube_job_status_succeeded{job_name=\"train\"}", Duration::Hours(5)), 12);
}

TEST_F(KubeStateMetricsTest, RequestsLimitsAndNodesWithKsmNames) {
  const Duration h1 = Duration::Hours(1);
  EXPECT_EQ(One("max(kube_pod_container_resource_requests{container=\"trainer\",resource=\"cpu\","
                "unit=\"core\"})",
                h1),
            8);
  EXPECT_EQ(One("max(kube_pod_container_resource_limits{container=\"trainer\","
                "resource=\"nvidia_com_gpu\",unit=\"integer\"})",
                h1),
            2);
  EXPECT_EQ(One("sum(kube_node_status_allocatable{resource=\"nvidia_com_gpu\"})", h1), 12);
  EXPECT_EQ(One("count(kube_node_spec_taint{key=\"nvidia.com/gpu\",effect=\"NoSchedule\"})", h1),
            3);
  EXPECT_EQ(One("kube_deployment_spec_replicas{deployment=\"inference\"}", h1), 2);
  EXPECT_EQ(One("kube_deployment_status_replicas_available{deployment=\"inference\"}", h1), 0);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// HPA series as kube-state-metrics names them, for KEDA's keda-hpa-llama in the
// serving-hpa-vs-keda example (maxReplicaCount 6; KEDA's HPA has min 1): spec limits from
// the ScaledObject, ScalingActive true once the metric is read, and one status per
// condition at 1 (the others 0).
TEST(KubeStateMetricsHpa, HorizontalPodAutoscalerSeries) {
  auto s = sim::LoadScenario(
      std::string(GPUTWIN_SOURCE_DIR) + "/examples/serving-hpa-vs-keda/scenario-keda-1m.yaml",
      std::nullopt, Duration::Minutes(50));
  s->SpoolMetrics();
  s->Run();
  auto one = [&](const std::string& q) {
    const auto r = telemetry::PromQuery::Parse(q).Evaluate(s->metrics(), s->end());
    EXPECT_EQ(r.samples.size(), 1u) << q;
    return r.samples.empty() ? -1 : r.samples[0].value;
  };
  const std::string who = "{horizontalpodautoscaler=\"keda-hpa-llama\"}";
  EXPECT_EQ(one("kube_horizontalpodautoscaler_spec_max_replicas" + who), 6);
  EXPECT_EQ(one("kube_horizontalpodautoscaler_spec_min_replicas" + who), 1);
  EXPECT_EQ(one("sum(kube_horizontalpodautoscaler_status_condition{horizontalpodautoscaler="
                "\"keda-hpa-llama\",condition=\"AbleToScale\"})"),
            1);
}

}  // namespace
}  // namespace gputwin
