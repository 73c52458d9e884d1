// KEDA (keda.sh/v1alpha1 ScaledObject, KEDA 2.x) as its operator runs it: it creates an
// HPA named keda-hpa-<name> whose External metrics (s<i>-<trigger>) its metrics server
// answers, polls the triggers every pollingInterval to decide activation, scales the
// target between zero (or idleReplicaCount) and one itself, and leaves 1..max to the HPA.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "cluster/controller.h"
#include "core/cron_schedule.h"
#include "telemetry/promql.h"
#include "telemetry/registry.h"

namespace gputwin::autoscaling {

// The HPA KEDA creates for a ScaledObject (controllers/keda/hpa.go).
api::HorizontalPodAutoscaler HpaForScaledObject(const api::ScaledObject& so);

// Parses every prometheus trigger's query up front: unsupported PromQL is an input error
// naming the trigger's file:line.
void ValidateScaledObjects(const api::Manifests& m);

struct ScaledObjectStatus {
  std::string namespace_, name, hpa;
  std::vector<std::pair<Time, std::string>> activity;  // "activated" / "deactivated"
  int64_t query_errors = 0;
};

class KedaOperator : public cluster::Controller {
 public:
  KedaOperator(cluster::Store* store, EventQueue* queue, std::vector<api::ScaledObject> objects,
               telemetry::Registry* metrics);
  ~KedaOperator() override;
  void Start();
  const std::vector<ScaledObjectStatus>& statuses() const { return status_; }

 protected:
  void OnWatch(cluster::WatchKind, cluster::WatchOp, uint32_t) override {}
  void Reconcile(Time) override {}
  void OnTimer(Time now, uint64_t arg) override;

 private:
  struct Trigger {
    std::optional<telemetry::PromQuery> query;
    double threshold = 0, activation = 0;
    bool ignore_null = true;
    telemetry::Registry::SeriesId series = 0;
    int32_t failures = 0;  // consecutive (status.health[metric].numberOfFailures)
    std::optional<CronSchedule> cron_start, cron_end;  // cron triggers
    std::string cron_zone;
    double cron_desired = 1;
  };
  struct State {
    api::ScaledObject spec;
    std::vector<Trigger> triggers;
    std::optional<Time> last_active;
    Time created;
  };
  // Queries the triggers (as the metrics server does at the HPA's request, every 15 s);
  // returns whether any is active; `errors` counts failed queries.
  bool Evaluate(State& st, Time now, bool* errors);
  void Poll(uint32_t index, Time now);

  std::vector<State> states_;
  std::vector<ScaledObjectStatus> status_;
  telemetry::Registry* metrics_;
};

}  // namespace gputwin::autoscaling
