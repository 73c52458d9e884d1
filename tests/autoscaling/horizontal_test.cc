// The HPA controller against replica sequences derived by hand from upstream
// pkg/controller/podautoscaler (horizontal.go, replica_calculator.go) and the API defaults
// (pkg/apis/autoscaling/v2/defaults.go).
#include <gtest/gtest.h>

#include "autoscaling/horizontal.h"
#include "cluster/store.h"
#include "core/event_queue.h"

namespace gputwin::autoscaling {
namespace {

class HpaTest : public ::testing::Test {
 protected:
  HpaTest() {
    store_.set_now(t0_);
    store_.AddNamespace("default");
    api::Deployment d;
    d.metadata.name = "web";
    d.metadata.namespace_ = "default";
    d.replicas = 2;
    d.selector.match_labels = {{"app", "web"}};
    d.template_.metadata.labels = {{"app", "web"}};
    d.template_.spec.containers.push_back(api::Container::Named("c", "img"));
    dep_ = store_.AddDeployment(d);
    api::ReplicaSet rs;
    rs.metadata.name = "web-1";
    rs.metadata.namespace_ = "default";
    rs.replicas = 2;
    rs.template_ = d.template_;
    rs_ = store_.AddReplicaSet(rs, dep_);
    telemetry::MetricDesc q;
    q.name = "queue_depth";
    q.type = telemetry::MetricType::kGauge;
    q.label_names = {"namespace", "pod"};
    registry_.Declare("test", q);
    AddPod();
    AddPod();
  }
  void AddPod() {
    cluster::PodRecord rec;
    rec.namespace_ = "default";
    rec.name = "web-" + std::to_string(pods_.size());
    rec.tmpl = store_.MakeTemplate(store_.deployments()[dep_].obj.template_.metadata,
                                   store_.deployments()[dep_].obj.template_.spec, "default");
    rec.owner = {cluster::OwnerKind::kReplicaSet, rs_};
    std::string err;
    const cluster::PodId id = store_.CreatePod(std::move(rec), &err);
    store_.SetPodPhase(id, cluster::PodPhase::kRunning);
    store_.pod(id).started_at = store_.pod(id).container_started = store_.now();
    store_.replica_sets()[rs_].pods.push_back(id);
    pods_.push_back(id);
  }
  // Every pod reports `v` at the current instant (a Prometheus scrape).
  void Report(double v) {
    const auto fam = registry_.Find("queue_depth");
    for (auto id : pods_) {
      registry_.Set(registry_.At(fam, {{"namespace", "default"}, {"pod", store_.pod(id).name}}), v);
    }
    registry_.Sample("test", store_.now());
  }
  api::HorizontalPodAutoscaler Hpa(int32_t min, int32_t max) {
    api::HorizontalPodAutoscaler h;
    h.metadata.name = "web";
    h.metadata.namespace_ = "default";
    h.target_kind = "Deployment";
    h.target_name = "web";
    h.min_replicas = min;
    h.max_replicas = max;
    api::MetricSpec m;
    m.type = "Pods";
    m.metric_name = "queue_depth";
    m.target.type = "AverageValue";
    std::string err;
    m.target.average_value = ParseQuantity("5", &err);
    h.metrics.push_back(m);
    return h;
  }
  // Runs the controller's syncs up to `t` seconds (every 15 s from 0).
  void RunTo(HorizontalPodAutoscalerController* /*hpa*/, double t, std::vector<int32_t>* seq) {
    while (!queue_.empty() && queue_.top().at <= t0_ + Duration::Milliseconds(int64_t(t * 1000))) {
      Event e = queue_.Pop();
      store_.set_now(e.at);
      e.handler->OnEvent(e.at, e.arg);
      if (seq && (seq->empty() || seq->back() != replicas())) seq->push_back(replicas());
    }
  }
  int32_t replicas() const { return store_.deployments()[dep_].obj.replicas; }

  Time t0_{1767225600LL * 1'000'000'000};
  cluster::Store store_;
  EventQueue queue_;
  telemetry::Registry registry_;
  uint32_t dep_ = 0, rs_ = 0;
  std::vector<cluster::PodId> pods_;
};

// Without behavior (the legacy path): 2 pods at 10 against 5 -> ceil(2 x 2) = 4, within the
// scale-up limit max(2 x 2, 4). Later syncs see the same 2 ready pods and keep 4 (the HPA
// counts ready pods, not spec replicas). At 1 per pod the raw recommendation is
// ceil(0.2 x 2) = 1, held at 4 by the 5-minute stabilization (the max of recommendations
// with timestamp >= now - 5m) until the last 4 recommended, at 45 s, falls out: at 360 s.
TEST_F(HpaTest, LegacyPathScalesUpThenHoldsFiveMinutesBeforeScalingDown) {
  HorizontalPodAutoscalerController hpa(&store_, &queue_, {Hpa(1, 10)}, &registry_);
  Report(10);
  hpa.Start();
  std::vector<int32_t> seq;
  RunTo(&hpa, 45, &seq);
  EXPECT_EQ(seq, (std::vector<int32_t>{4}));
  store_.set_now(t0_ + Duration::Seconds(50));
  Report(1);
  RunTo(&hpa, 345, &seq);
  EXPECT_EQ(replicas(), 4);
  const auto& cond = hpa.statuses()[0].conditions;
  bool stabilized = false;
  for (const auto& c : cond) stabilized |= c.reason == "ScaleDownStabilized";
  EXPECT_TRUE(stabilized);
  RunTo(&hpa, 360, &seq);
  EXPECT_EQ(seq, (std::vector<int32_t>{4, 1}));
}

// With behavior and the default scale-up policies (4 pods or 100 % per 15 s, Max): 2 pods
// at 50 against 5 want ceil(10 x 2) = 20; the limit from the period's start goes
// 2 -> max(2+4, 2x2) = 6 -> max(10, 12) = 12 -> max(16, 24) = 24, capped by the desired 20.
// (The event at 0 s is outside the 15 s period at 15 s: timestamp > now - period.)
TEST_F(HpaTest, DefaultScaleUpPoliciesDoubleEveryFifteenSeconds) {
  auto h = Hpa(1, 100);
  h.behavior = api::HPABehavior{};
  HorizontalPodAutoscalerController hpa(&store_, &queue_, {h}, &registry_);
  Report(50);
  hpa.Start();
  std::vector<int32_t> seq;
  RunTo(&hpa, 45, &seq);
  EXPECT_EQ(seq, (std::vector<int32_t>{6, 12, 20}));
  bool limited = false;
  for (const auto& st : hpa.statuses()[0].history) limited |= st.rescaled;
  EXPECT_TRUE(limited);
}

// Tolerance: within 10 % of the target nothing changes (5.4 / 5 = 1.08).
TEST_F(HpaTest, WithinToleranceKeepsTheCurrentCount) {
  HorizontalPodAutoscalerController hpa(&store_, &queue_, {Hpa(1, 10)}, &registry_);
  Report(5.4);
  hpa.Start();
  RunTo(&hpa, 60, nullptr);
  EXPECT_EQ(replicas(), 2);
}

// A metric nobody exports: ScalingActive False with FailedGetPodsMetric, no scaling.
TEST_F(HpaTest, MissingMetricsDisableScaling) {
  auto h = Hpa(1, 10);
  h.metrics[0].metric_name = "nobody_exports_this";
  HorizontalPodAutoscalerController hpa(&store_, &queue_, {h}, &registry_);
  hpa.Start();
  RunTo(&hpa, 30, nullptr);
  EXPECT_EQ(replicas(), 2);
  bool failed = false;
  for (const auto& c : hpa.statuses()[0].conditions) {
    failed |= c.type == "ScalingActive" && c.status == "False" && c.reason == "FailedGetPodsMetric";
  }
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace gputwin::autoscaling

namespace gputwin::autoscaling {
namespace {

// Object metrics (replica_calculator.go): the custom metrics API's value for the described
// object, here as prometheus-adapter sums a Service's pods' series. Two pods at 10 behind
// Service web: 20.
api::HorizontalPodAutoscaler ObjectHpa(const std::string& kind, const std::string& name,
                                       const std::string& target_type, const char* target) {
  api::HorizontalPodAutoscaler h;
  h.metadata.name = "web";
  h.metadata.namespace_ = "default";
  h.target_kind = "Deployment";
  h.target_name = "web";
  h.min_replicas = 1;
  h.max_replicas = 20;
  api::MetricSpec m;
  m.type = "Object";
  m.metric_name = "queue_depth";
  m.object_kind = kind;
  m.object_name = name;
  m.target.type = target_type;
  std::string err;
  (target_type == "Value" ? m.target.value : m.target.average_value) = ParseQuantity(target, &err);
  h.metrics.push_back(m);
  return h;
}

std::vector<api::Service> WebService() {
  api::Service s;
  s.metadata.name = "web";
  s.metadata.namespace_ = "default";
  s.selector = {{"app", "web"}};
  return {s};
}

// Value 5: GetObjectMetricReplicas, ratio 20/5 = 4 times the 2 ready pods = 8, reached
// through the legacy scale-up limit max(2 x current, 4): 4, then 8 (the unit test creates
// no pods, so ready stays 2 and 8 holds).
TEST_F(HpaTest, ObjectMetricValueScalesByReadyPods) {
  const auto services = WebService();
  HorizontalPodAutoscalerController hpa(
      &store_, &queue_, {ObjectHpa("Service", "web", "Value", "5")}, &registry_, &services);
  Report(10);
  hpa.Start();
  std::vector<int32_t> seq;
  RunTo(&hpa, 60, &seq);
  EXPECT_EQ(seq, (std::vector<int32_t>{4, 8}));
}

// AverageValue 5: GetObjectPerPodMetricReplicas, ceil(20 / 5) = 4 whatever the replicas.
TEST_F(HpaTest, ObjectMetricAverageValueDividesTheTotal) {
  const auto services = WebService();
  HorizontalPodAutoscalerController hpa(
      &store_, &queue_, {ObjectHpa("Service", "web", "AverageValue", "5")}, &registry_, &services);
  Report(10);
  hpa.Start();
  std::vector<int32_t> seq;
  RunTo(&hpa, 60, &seq);
  EXPECT_EQ(seq, (std::vector<int32_t>{4}));
}

// A Pod as the object: its own series only (10): ratio 2 x 2 ready = 4. An object with no
// series: FailedGetObjectMetric, ScalingActive False, no change.
TEST_F(HpaTest, ObjectMetricOfAPodAndOfNothing) {
  HorizontalPodAutoscalerController pod(&store_, &queue_, {ObjectHpa("Pod", "web-0", "Value", "5")},
                                        &registry_);
  Report(10);
  pod.Start();
  RunTo(&pod, 20, nullptr);
  EXPECT_EQ(replicas(), 4);
}

TEST_F(HpaTest, ObjectMetricWithoutSeriesDisablesScaling) {
  HorizontalPodAutoscalerController hpa(
      &store_, &queue_, {ObjectHpa("Ingress", "nowhere", "Value", "5")}, &registry_);
  Report(10);
  hpa.Start();
  RunTo(&hpa, 30, nullptr);
  EXPECT_EQ(replicas(), 2);
  bool failed = false;
  for (const auto& c : hpa.statuses()[0].conditions) {
    failed |=
        c.type == "ScalingActive" && c.status == "False" && c.reason == "FailedGetObjectMetric";
  }
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace gputwin::autoscaling
