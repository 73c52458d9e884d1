// kube-state-metrics (v2.x) as Prometheus scrapes it: gauges describing the objects in the
// API server — pods (info, owner, phase, container requests and limits), nodes (info,
// capacity, allocatable, taints, labels), Deployments and Jobs — with its metric and label
// names. Runs when the run's metrics are recorded (`--metrics`); an object's series end
// (staleness) when it is deleted.
#pragma once

#include <vector>

#include "cluster/controller.h"
#include "telemetry/registry.h"

namespace gputwin::exporters {

class KubeStateMetrics : public cluster::Controller {
 public:
  KubeStateMetrics(cluster::Store* store, EventQueue* queue, telemetry::Registry* metrics,
                   Duration interval);
  void Start();

 protected:
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;
  void Reconcile(Time) override {}
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using SeriesId = telemetry::Registry::SeriesId;
  static constexpr SeriesId kNoSeries = UINT32_MAX;
  struct PodSeries {
    bool live = false;
    std::vector<SeriesId> fixed;         // info, owner, requests, limits: set once
    SeriesId phase[5] = {};              // one per phase, 1 for the current one
    SeriesId unschedulable = kNoSeries;  // while PodScheduled is False
    cluster::NodeId node = cluster::kNone;
  };
  struct NodeSeries {
    bool live = false;
    std::vector<SeriesId> all;
  };
  void Scrape(Time now);
  void UpdatePod(uint32_t id, Time now);
  void UpdateNode(uint32_t id, Time now);

  telemetry::Registry* metrics_;
  Duration interval_;
  bool enabled_ = false;
  cluster::WorkQueue dirty_pods_, dirty_nodes_;
  std::vector<PodSeries> pods_;
  std::vector<NodeSeries> nodes_;
  std::vector<std::vector<SeriesId>> deployments_, jobs_;
};

}  // namespace gputwin::exporters
