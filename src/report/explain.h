// gputwin explain OUT_DIR OBJECT: the causal chain of one object in a finished run, read
// back from the run's summary.json in upstream words (events with their components, Kueue's
// workload conditions, Karpenter's NodeClaim lifecycle, the kubelet's pod status).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gputwin::report {

// OUT_DIR (holding summary.json) or a summary.json file. Throws InputError.
nlohmann::json LoadRunSummary(const std::string& path);

// OBJECT: pod/NAMESPACE/NAME, job/NAMESPACE/NAME, workload/NAMESPACE/NAME (a Workload's or
// its Job's name), node/NAME or nodeclaim/NAME. Throws InputError when the run has no such
// object. The result: {"object", "kind", "state": {...}, "chain": [{"time", "offset",
// "component", "reason", "message"}...], "cost": ...}, the chain in time order.
nlohmann::ordered_json Explain(const nlohmann::json& summary, const std::string& object);

std::string RenderExplain(const nlohmann::ordered_json& explained);

}  // namespace gputwin::report
