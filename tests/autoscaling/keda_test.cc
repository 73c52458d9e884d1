// KEDA's operator against sequences derived by hand from kedacore/keda
// (controllers/keda/hpa.go, pkg/scaling/executor/scale_scaledobjects.go, pkg/fallback).
#include <gtest/gtest.h>

#include "autoscaling/keda.h"
#include "cluster/store.h"
#include "core/event_queue.h"

namespace gputwin::autoscaling {
namespace {

api::ScaledObject Object(const std::string& query) {
  api::ScaledObject so;
  so.metadata.name = "llama";
  so.metadata.namespace_ = "default";
  so.target_name = "llama";
  api::ScaledObjectTrigger t;
  t.type = "prometheus";
  t.metric_type = "AverageValue";
  t.metadata = {{"serverAddress", "http://prometheus:9090"}, {"query", query}, {"threshold", "5"}};
  so.triggers.push_back(t);
  return so;
}

// The HPA KEDA creates: keda-hpa-<name>, min 1 when minReplicaCount is 0 (GetHPAMinReplicas),
// max 100 by default, External metric s0-prometheus selected by the ScaledObject's name,
// AverageValue of the threshold.
TEST(Keda, CreatesTheHpaAsUpstream) {
  const auto h = HpaForScaledObject(Object("sum(q)"));
  EXPECT_EQ(h.metadata.name, "keda-hpa-llama");
  EXPECT_EQ(h.min_replicas, 1);
  EXPECT_EQ(h.max_replicas, 100);
  ASSERT_EQ(h.metrics.size(), 1u);
  EXPECT_EQ(h.metrics[0].type, "External");
  EXPECT_EQ(h.metrics[0].metric_name, "s0-prometheus");
  EXPECT_EQ(h.metrics[0].metric_selector->match_labels.at("scaledobject.keda.sh/name"), "llama");
  EXPECT_EQ(h.metrics[0].target.average_value->milli, 5000);
}

class KedaTest : public ::testing::Test {
 protected:
  KedaTest() {
    store_.set_now(t0_);
    store_.AddNamespace("default");
    api::Deployment d;
    d.metadata.name = "llama";
    d.metadata.namespace_ = "default";
    d.replicas = 0;
    dep_ = store_.AddDeployment(d);
    telemetry::MetricDesc q;
    q.name = "q";
    q.label_names = {"pod"};
    registry_.Declare("test", q);
  }
  void Set(double a, double b = -1) {
    registry_.Set(registry_.At(registry_.Find("q"), {{"pod", "a"}}), a);
    if (b >= 0) registry_.Set(registry_.At(registry_.Find("q"), {{"pod", "b"}}), b);
    registry_.Sample("test", store_.now());
  }
  void RunTo(int seconds, std::vector<std::pair<int, int32_t>>* seq) {
    while (!queue_.empty() && queue_.top().at <= t0_ + Duration::Seconds(seconds)) {
      Event e = queue_.Pop();
      store_.set_now(e.at);
      e.handler->OnEvent(e.at, e.arg);
      const int32_t r = store_.deployments()[dep_].obj.replicas;
      if (seq->empty() || seq->back().second != r) {
        seq->push_back({static_cast<int>((e.at - t0_).seconds()), r});
      }
    }
  }
  Time t0_{1767225600LL * 1'000'000'000};
  cluster::Store store_;
  EventQueue queue_;
  telemetry::Registry registry_;
  uint32_t dep_ = 0;
};

// Inactive at 0 (value 0 is not > activationThreshold 0): stays at 0. Active at the 30 s
// poll: KEDA itself scales 0 -> 1. Inactive again from 31 s: lastActiveTime is 30 s, and
// scale to zero needs lastActiveTime + cooldownPeriod (300 s) < now: the poll at 360 s.
TEST_F(KedaTest, ScalesFromZeroOnActivationAndBackAfterTheCooldown) {
  KedaOperator keda(&store_, &queue_, {Object("sum(q)")}, &registry_);
  Set(0);
  keda.Start();
  std::vector<std::pair<int, int32_t>> seq;
  RunTo(29, &seq);
  store_.set_now(t0_ + Duration::Seconds(29));
  Set(3);
  RunTo(30, &seq);
  store_.set_now(t0_ + Duration::Seconds(31));
  Set(0);
  RunTo(400, &seq);
  EXPECT_EQ(seq, (std::vector<std::pair<int, int32_t>>{{0, 0}, {30, 1}, {360, 0}}));
  ASSERT_EQ(keda.statuses()[0].activity.size(), 2u);
  EXPECT_EQ(keda.statuses()[0].activity[0].second, "activated");
}

// A query returning two series is an error ("returned multiple elements"). With
// fallback {failureThreshold: 2, replicas: 3} the metric reads 5 x 3 = 15 once the
// failures exceed 2. The operator evaluates at 0 s twice (its poll and the HPA's request)
// and again at 15 s: that third failure passes the threshold.
TEST_F(KedaTest, FallbackReportsThresholdTimesReplicasAfterTheThreshold) {
  auto so = Object("q");  // two series: a and b
  so.fallback_failure_threshold = 2;
  so.fallback_replicas = 3;
  so.min_replica_count = 1;
  KedaOperator keda(&store_, &queue_, {so}, &registry_);
  Set(1, 2);
  keda.Start();
  std::vector<std::pair<int, int32_t>> seq;
  RunTo(15, &seq);
  EXPECT_EQ(keda.statuses()[0].query_errors, 3);
  // KEDA's own counter of them, as its metrics server exposes it.
  const auto errs = registry_.Find("keda_scaled_object_errors");
  ASSERT_EQ(registry_.family(errs).series.size(), 1u);
  EXPECT_EQ(registry_.Value(registry_.family(errs).series[0]), 3.0);
  const auto fam = registry_.Find("keda_scaler_metrics_value");
  ASSERT_EQ(registry_.family(fam).series.size(), 1u);
  EXPECT_EQ(registry_.Value(registry_.family(fam).series[0]), 15.0);
}

// The cron scaler (pkg/scalers/cron_scaler.go): 08:00-18:00 UTC, desiredReplicas 5, from
// minReplicaCount 0 on 2026-01-01. Inside the window (the next end comes before the next
// start) the metric reads 5 and the trigger is active: the poll at 08:00:00 (28800 s, a
// multiple of the 30 s polling interval) scales 0 -> 1, the HPA takes it on to 5. At
// 18:00:00 the next start (tomorrow 08:00) comes first again: inactive, the metric reads 1.
// The last active poll was 17:59:30 (64770 s); scale to zero needs 64770 + 300 < now: the
// poll at 65100 s. The HPA metric: External s0-cron-UTC-0800xx-01800xx, AverageValue 1.
TEST_F(KedaTest, CronScalerFollowsItsWindow) {
  api::ScaledObject so;
  so.metadata.name = "llama";
  so.metadata.namespace_ = "default";
  so.target_name = "llama";
  api::ScaledObjectTrigger t;
  t.type = "cron";
  t.metric_type = "AverageValue";
  t.metadata = {
      {"timezone", "UTC"}, {"start", "0 8 * * *"}, {"end", "0 18 * * *"}, {"desiredReplicas", "5"}};
  so.triggers.push_back(t);
  const auto h = HpaForScaledObject(so);
  ASSERT_EQ(h.metrics.size(), 1u);
  EXPECT_EQ(h.metrics[0].metric_name, "s0-cron-UTC-08xxx-018xxx");
  EXPECT_EQ(h.metrics[0].target.average_value->milli, 1000);
  KedaOperator keda(&store_, &queue_, {so}, &registry_);
  keda.Start();
  std::vector<std::pair<int, int32_t>> seq;
  const auto fam = registry_.Find("keda_scaler_metrics_value");
  auto value = [&] { return registry_.Value(registry_.family(fam).series[0]); };
  RunTo(12 * 3600, &seq);
  EXPECT_EQ(value(), 5.0);
  RunTo(20 * 3600, &seq);
  EXPECT_EQ(value(), 1.0);
  EXPECT_EQ(seq, (std::vector<std::pair<int, int32_t>>{{0, 0}, {28800, 1}, {65100, 0}}));
}

}  // namespace
}  // namespace gputwin::autoscaling
