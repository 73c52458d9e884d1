// Replays a trace in a scenario: Alibaba's GPU trace nodes become Nodes that declare their
// GPUs for GPU sharing (alibabacloud.com/gpu-count, gpu-card-model), pods become Pods with
// their CPU, memory and GPU share (alibabacloud.com/gpu-milli, gpu-count), gpu_spec as
// required node affinity on the GPU model, created at their creation times and running
// for deletion - scheduled time.
#pragma once

#include <vector>

#include "api/scenario.h"
#include "api/types.h"

namespace gputwin::sim {

struct TraceArrival {
  Duration at;
  api::Pod pod;
};

// Appends the trace's nodes to `nodes` and returns its pods in arrival order.
// Throws InputError naming the CSV file and line.
std::vector<TraceArrival> ImportTrace(const api::TraceSpec& spec, std::vector<api::Node>* nodes);

}  // namespace gputwin::sim
