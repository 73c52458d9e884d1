// What a run produced: summary.json (docs/summary-schema.md), the text summary on stdout,
// and the atomic writing of output files.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "report/atomic_write.h"
#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin::report {

using Json = nlohmann::ordered_json;

// How much summary.json holds (`--detail`): every pod and event, or the same schema with
// pods[] and events[] left empty (a million-pod month: the --db database has the rows).
enum class Detail { kFull, kSummary };

// summary.json without its streamed arrays (nodes, Jobs, Karpenter's NodeClaims, Kueue's
// workloads and metrics, pods, events; the first three are null in their places):
// computed once when a run writes both summary.json and the HTML report.
Json SummaryHead(const sim::Simulation& sim, const results::Results& r);
// Streams summary.json (pods[] and events[] one object per line, the rest indented), from
// `head` when given (SummaryHead of the same run).
void WriteSummaryJson(std::ostream& out, const sim::Simulation& sim, const results::Results& r,
                      Detail detail = Detail::kFull, const Json* head = nullptr);
// What the HTML report is drawn from: the head and Kueue's metrics, in the key-sorted form
// RenderHtml reads summary.json in, with nodes[] (the Gantt's first kGanttNodeRows) and
// NodeClaims holding only the fields the page draws; pods, Kueue's workloads and every
// node's span come apart (PodSpans::FromStore).
nlohmann::json ReportJson(const sim::Simulation& sim, Json head);
// The readable report printed on stdout.
std::string RenderText(const sim::Simulation& sim, const results::Results& r);
// The NVIDIA devices a pod asks for (nvidia.com/gpu, MIG instances, shared replicas):
// summary.json's `gpus`.
int64_t PodGpus(const cluster::Store& s, const cluster::PodRecord& p);
// Whether summary.json gives a node its "gpus" object: it has GPUs or advertised devices.
inline bool HasGpuSection(const cluster::NodeRecord& n) {
  return n.gpu_count > 0 || !n.devices.empty();
}

}  // namespace gputwin::report
