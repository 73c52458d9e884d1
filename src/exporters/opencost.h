// OpenCost's cost-model metrics as Prometheus scrapes them: each node's hourly price split
// into per-vCPU, per-GiB and per-GPU rates the way OpenCost splits a cloud price it has no
// breakdown for (costmodel.go: by Kubecost's default rates' ratios), whether it is spot,
// and what each running container is allocated (its requests). Runs when the manifests
// deploy OpenCost (or Kubecost's cost-model) and the run's metrics are recorded.
#pragma once

#include <map>
#include <vector>

#include "api/manifests.h"
#include "cluster/controller.h"
#include "cost/pricing.h"
#include "telemetry/registry.h"

namespace gputwin::exporters {

// OpenCost's rates for a node: USD per hour per vCPU, per GiB of memory and per GPU.
struct OpenCostRates {
  double cpu = 0, ram = 0, gpu = 0;
};
OpenCostRates SplitOpenCost(double price, double vcpu, double ram_gib, double gpus);

// Whether the manifests run OpenCost (or Kubecost's cost-model), by container image.
bool OpenCostDeployed(const api::Manifests& m);

class OpenCost : public cluster::Controller {
 public:
  OpenCost(cluster::Store* store, EventQueue* queue, telemetry::Registry* metrics,
           const cloud::Ec2* ec2, Duration interval);
  void Start();

 protected:
  void OnWatch(cluster::WatchKind, cluster::WatchOp, uint32_t) override {}
  void Reconcile(Time) override {}
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using SeriesId = telemetry::Registry::SeriesId;
  struct Tracked {
    std::vector<SeriesId> series;
    cost::NodePrice price;  // nodes: from the price list, read once
    bool priced = false;
    double vcpu = -1, ram_gib = 0;  // read once
    uint64_t seen = 0;              // the last scrape it was emitted in
  };
  void Scrape(Time now);

  telemetry::Registry* metrics_;
  cost::NodePricing pricing_;
  Duration interval_;
  bool enabled_ = false;
  uint64_t scrape_ = 0;
  std::map<cluster::NodeId, Tracked> nodes_;
  std::map<cluster::PodId, Tracked> pods_;
};

}  // namespace gputwin::exporters
