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
  const auto fam = registry_.Find("keda_scaler_metrics_value");
  ASSERT_EQ(registry_.family(fam).series.size(), 1u);
  EXPECT_EQ(registry_.series(registry_.family(fam).series[0]).value, 15.0);
}

}  // namespace
}  // namespace gputwin::autoscaling
