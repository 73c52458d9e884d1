// Kueue's part of the outputs: ClusterQueues, every Workload with its history, why the
// pending ones are not admitted (in Kueue's words), and Kueue's metrics over time.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin::kueue {
enum class WorkloadPhase : uint8_t;
struct WorkloadState;
}  // namespace gputwin::kueue

namespace gputwin::report {

// The "kueue" object of summary.json (null without Kueue).
nlohmann::ordered_json KueueJson(const sim::Simulation& sim, const results::Results& r);
// Streams `"workloads": [...]` and `"metrics": [...]`, one object per line, each
// preceded by ",\n  ". Nothing without Kueue.
// `workloads`: false leaves workloads[] empty (--detail summary).
void StreamKueue(std::ostream& out, const sim::Simulation& sim, bool workloads = true);
// Kueue's metrics over time, as summary.json's "metrics" holds them (empty without Kueue).
nlohmann::ordered_json KueueMetricsJson(const sim::Simulation& sim);
// Every Workload as summary.json's "workloads" holds them.
nlohmann::ordered_json WorkloadsJson(const sim::Simulation& sim);
// A Workload's `state` (Pending, Admitted, Finished), its `owner` ("Job NAME", the pod,
// group or object) and `waitSeconds` (time pending across requeues, to the run's end
// while still pending), as summary.json's workloads say them.
const char* WorkloadStateName(kueue::WorkloadPhase p);
std::string WorkloadOwner(const sim::Simulation& sim, const kueue::WorkloadState& w);
double WorkloadWaitSeconds(const sim::Simulation& sim, const kueue::WorkloadState& w);
// The text report's Kueue section ("" without Kueue).
std::string KueueText(const sim::Simulation& sim, const results::Results& r);

}  // namespace gputwin::report
