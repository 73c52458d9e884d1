// The report's time series, rebuilt from a run's summary.json: pods Pending (and why) and
// Running, GPU devices by model, nodes by NodePool and capacity type, cost rate, Kueue per
// ClusterQueue, serving per traffic stream, alerts firing (docs/report.md).
#pragma once

#include <nlohmann/json.hpp>

#include "report/pod_spans.h"

namespace gputwin::report {

// The timelines the report draws, sampled on at most `points` instants from start to end:
// {"t": [unix seconds...], "pending", "running", "waiting": {reason: [...]}, "gpuCapacity",
// "gpuAllocated", "costPerHour", "gpusByModel", "nodes", "nodesByNodePool", "kueue",
// "serving", "alerts"}.
nlohmann::ordered_json Timelines(const nlohmann::json& summary, int points = 480);
// The same with the pods given apart (summary's own pods[] are then not read).
nlohmann::ordered_json Timelines(const nlohmann::json& summary, const PodSpans& spans,
                                 int points = 480);

// The same timelines on `n` instants over the first `seconds` of the run (a comparison
// puts runs of different lengths on one grid).
nlohmann::ordered_json TimelinesOn(const nlohmann::json& summary, double seconds, int n);
nlohmann::ordered_json TimelinesOn(const nlohmann::json& summary, const PodSpans& spans,
                                   double seconds, int n);

}  // namespace gputwin::report
