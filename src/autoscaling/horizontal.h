// The HorizontalPodAutoscaler controller (autoscaling/v2), as kube-controller-manager's
// pkg/controller/podautoscaler runs it: every 15 s per HPA, the desired replicas of each
// metric (replica_calculator.go, with its tolerance, missing and unready pods), the max
// over metrics, then stabilization and rate limits (with spec.behavior, or the legacy
// rules without it), the status conditions, and spec.replicas written through the store.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "cluster/controller.h"
#include "telemetry/registry.h"

namespace gputwin::autoscaling {

struct HpaCondition {
  std::string type, status, reason, message;
};

// One sync's outcome, for the report.
struct HpaStep {
  Time at;
  int32_t current = 0, desired = 0;
  std::string metrics;  // "cpu 12%/60%", "vllm:num_requests_waiting 14/5"
  bool rescaled = false;
};

struct HpaStatus {
  std::string namespace_, name, target;
  int32_t min_replicas = 1, max_replicas = 0;
  std::vector<HpaCondition> conditions;  // AbleToScale, ScalingActive, ScalingLimited
  std::vector<HpaStep> history;          // syncs that rescaled or changed a condition
  int32_t rescales = 0;
  int32_t max_seen = 0;
};

struct HpaConfig {
  Duration sync_period = Duration::Seconds(15);
  double tolerance = 0.1;
  Duration downscale_stabilization = Duration::Minutes(5);
  Duration cpu_initialization_period = Duration::Minutes(5);
  Duration initial_readiness_delay = Duration::Seconds(30);
};

class HorizontalPodAutoscalerController : public cluster::Controller {
 public:
  HorizontalPodAutoscalerController(cluster::Store* store, EventQueue* queue,
                                    std::vector<api::HorizontalPodAutoscaler> hpas,
                                    telemetry::Registry* metrics,
                                    const std::vector<api::Service>* services = nullptr,
                                    HpaConfig config = {});
  ~HorizontalPodAutoscalerController() override;
  void Start();
  const std::vector<HpaStatus>& statuses() const { return status_; }

 protected:
  void OnWatch(cluster::WatchKind, cluster::WatchOp, uint32_t) override {}
  void Reconcile(Time) override {}
  void OnTimer(Time now, uint64_t arg) override;

 private:
  struct State {
    api::HorizontalPodAutoscaler spec;
    std::vector<std::pair<Time, int32_t>> recommendations;
    std::vector<std::pair<Time, int32_t>> up_events, down_events;  // |change|, when
    std::string last_reason;
  };
  struct Proposal {
    bool valid = false;
    int32_t replicas = 0;
    std::string name, reason, error, shown;
  };
  void Sync(uint32_t index, Time now);
  Proposal ForMetric(State& st, const api::MetricSpec& m, const std::vector<cluster::PodId>& pods,
                     int32_t spec_replicas, int32_t status_replicas, Time now);
  void FromTotal(const api::MetricSpec& m, int64_t usage, const std::vector<cluster::PodId>& pods,
                 int32_t spec_replicas, int32_t status_replicas, Proposal* out) const;
  int32_t Normalize(State& st, int32_t current, int32_t desired, Time now);
  void SetCondition(State& st, const std::string& type, const std::string& status,
                    const std::string& reason, const std::string& message);

  std::vector<State> states_;
  std::vector<HpaStatus> status_;
  telemetry::Registry* metrics_;
  HpaConfig config_;
  const std::vector<api::Service>* services_;  // for Object metrics of a Service
};

}  // namespace gputwin::autoscaling
