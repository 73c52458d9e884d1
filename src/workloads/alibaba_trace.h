// Alibaba cluster-trace-gpu-v2023 (the "openb" trace of the ATC'23 FGD paper): node lists
// (sn, cpu_milli, memory_mib, gpu, model) and pod lists (name, cpu_milli, memory_mib,
// num_gpu, gpu_milli, gpu_spec, qos, pod_phase, creation_time, deletion_time,
// scheduled_time). Rows are validated; errors name file:line and column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"

namespace gputwin::workloads {

struct TraceNode {
  std::string name, model;  // model: G1..G3 (undisclosed), T4, P100, V100M16, ...; "" for CPU
  int64_t cpu_milli = 0, memory_mib = 0;
  int32_t gpus = 0;
  SourceRef source;
};

struct TracePod {
  std::string name, gpu_spec, qos, phase;  // gpu_spec: "" or models joined by '|'
  int64_t cpu_milli = 0, memory_mib = 0;
  int32_t num_gpu = 0, gpu_milli = 0;                                // gpu_milli per GPU (0..1000)
  int64_t creation_time = 0, deletion_time = 0, scheduled_time = 0;  // seconds
  SourceRef source;
};

std::vector<TraceNode> LoadTraceNodes(const std::string& path);
std::vector<TracePod> LoadTracePods(const std::string& path);

}  // namespace gputwin::workloads
