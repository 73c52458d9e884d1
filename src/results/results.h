// The results stage between a finished run and its writers: what a run means, computed
// once (cost, why pods and workloads wait, where cold starts went, work lost to
// evictions, Kueue's waits), so that summary.json, the text report and any later writer
// (HTML, OpenMetrics) render the same figures and never compute them again.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/objects.h"
#include "cost/cost.h"

namespace gputwin::sim {
class Simulation;
}
namespace gputwin::karpenter {
struct NodeClaim;
}

namespace gputwin::serving {
struct TrafficStats;
}

namespace gputwin::results {

// A served model's figures (one per traffic stream): what users saw and what it cost.
struct ServingSummary {
  const serving::TrafficStats* stats = nullptr;
  double gpu_hours = 0, cost = 0;  // the pods behind its Service
  int max_ready = 0, min_ready_after_first = 0;
  double seconds = 0;  // the run's length
};

// Pods (or workloads) that wait for the same reason, largest group first.
struct WaitGroup {
  std::string message;
  std::vector<std::string> members;  // namespace/name, in creation order
};

// A pod that waited for a node Karpenter launched for it: where its start-up went.
struct ColdStart {
  cluster::PodId pod;
  const karpenter::NodeClaim* claim;
  double decision, launch, gpu, bind, pull, total;  // seconds
};

// Karpenter's verdict on a pod it could not help (or has nominated a node for).
struct KarpenterPending {
  cluster::PodId pod;
  std::string message;
  bool forever = false;
  std::string nominated;
};

struct ClusterQueueWaits {
  double p50 = 0, p95 = 0, max = 0;  // seconds from creation to first admission
};

struct Results {
  // Pending pods by kube-scheduler's FailedScheduling message (or why none was tried).
  std::vector<WaitGroup> pending_pods;
  // Kueue: pending workloads by Kueue's message; waits per ClusterQueue (by index).
  std::vector<WaitGroup> pending_workloads;
  std::vector<ClusterQueueWaits> cluster_queue_waits;
  // Karpenter.
  std::vector<KarpenterPending> karpenter_pending;
  std::vector<ColdStart> cold_starts;
  // Work lost by pods deleted while running (evictions, interruptions, preemptions).
  std::vector<cluster::LostWork> lost_work;
  cost::CostReport cost;
  std::vector<ServingSummary> serving;
};

Results Compute(const sim::Simulation& sim);

// The nearest-rank percentile (p in (0, 1]) of `v`; 0 when empty.
double Percentile(std::vector<double> v, double p);

}  // namespace gputwin::results
