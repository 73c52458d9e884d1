// The experiment of the FGD paper (ATC'23, Sec. 6): pods of a trace are shuffled with a
// seed and resampled with replacement until their GPU requests reach `tune` × the
// cluster's GPU capacity, then placed one at a time with no departures; the GPU
// allocation ratio is recorded at each 1% step of arrived GPU demand (0% to 130%).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpushare/gpushare.h"
#include "workloads/alibaba_trace.h"

namespace gputwin::workloads {

struct PlacementResult {
  std::vector<double> allocation_percent;  // index = step (percent of GPU capacity arrived)
  int64_t capacity_gpu_milli = 0;
  int64_t used_gpu_milli = 0, arrived_gpu_milli = 0;
  int64_t scheduled = 0, failed = 0;
  std::vector<int32_t> node_of;  // per arrival: node index, or -1 when it did not fit
};

gpushare::PodShape ShapeOf(const TracePod& p);

// Shuffle, then resample with replacement until the next pod would take the GPU demand
// past tune × capacity. Returns indexes into `pods`.
std::vector<size_t> TunedArrivals(const std::vector<TracePod>& pods, int64_t capacity_gpu_milli,
                                  double tune, uint64_t seed);

// The arrival order of a published run (a steps CSV with an `orig_pod` column).
std::vector<size_t> ArrivalsFromSteps(const std::vector<TracePod>& pods, const std::string& path);

PlacementResult RunPlacement(const std::vector<TraceNode>& nodes, const std::vector<TracePod>& pods,
                             const std::vector<size_t>& arrivals, gpushare::Policy policy,
                             uint64_t seed, int max_step = 130);

}  // namespace gputwin::workloads
