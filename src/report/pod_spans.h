// What the HTML report reads of each pod (its times, GPU devices, node and waits) and of
// each node (its life, NodePool, capacity type and GPU devices), compact. A million-pod
// run gives them straight from the store; `gputwin report` reads them back from
// summary.json's pods and nodes. Both give the same numbers (times are nanosecond-exact
// in RFC 3339), so the page is byte-identical either way.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/store.h"
#include "kueue/kueue_controller.h"

namespace gputwin::report {

struct PodSpans {
  struct Span {
    // Unix seconds; NaN: never (summary.json's null).
    double created = NAN, scheduled = NAN, started = NAN, finished = NAN, deleted = NAN;
    double gpus = 0;
    int32_t node = -1;                   // index into node_names, -1: never bound
    uint32_t first_wait = 0, waits = 0;  // a range of wait_at / wait_reason
  };
  std::vector<Span> spans;
  std::vector<std::string> node_names;
  // Every node, in summary.json's order (creation): what the node and GPU timelines and
  // the Gantt's row count read.
  struct NodeSpan {
    double created = NAN, ready = NAN, deleted = NAN;  // unix seconds; NaN: never
    double devices = 0;                                // NVIDIA devices advertised (GpuDevices)
    uint32_t name = 0;                                 // index into node_names
    uint32_t capacity_type = 0;  // index into node_values: karpenter.sh/capacity-type, "static"
    uint32_t nodepool = 0;       // karpenter.sh/nodepool, "" when none
    uint32_t model = 0;          // the GPU model (GpuModel)
  };
  std::vector<NodeSpan> nodes;
  std::vector<std::string> node_values;
  std::vector<double> wait_at;        // unix seconds
  std::vector<uint16_t> wait_reason;  // index into reasons
  std::vector<std::string> reasons;
  // Kueue workloads with a ClusterQueue, for its pending/admitted timeline: the changes of
  // their history (summary.json's workloads[].history) that timeline reads.
  enum class WorkloadChange : uint8_t { kQueued, kAdmitted, kEvicted, kEnded };
  struct Workload {
    uint32_t cluster_queue = 0;  // index into cluster_queues
    uint32_t first_change = 0, changes = 0;
  };
  std::vector<Workload> workloads;
  std::vector<std::string> cluster_queues;
  std::vector<double> change_at;  // unix seconds, NaN: no time
  std::vector<WorkloadChange> change;

  static PodSpans FromSummary(const nlohmann::json& summary);
  static PodSpans FromStore(const cluster::Store& store, const kueue::KueueController* kueue);

  // The time, or `fallback` when it never happened.
  static double Or(double t, double fallback) { return std::isnan(t) ? fallback : t; }
};

}  // namespace gputwin::report
