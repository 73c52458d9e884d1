// A workload generator's arrival times from a CSV file (arrival type csv): one column of Go
// durations or seconds, with or without a header row naming it.
#pragma once

#include <vector>

#include "api/scenario.h"
#include "core/time.h"

namespace gputwin::sim {

// The offsets of `g.arrival.csv_file`, sorted. Throws InputError naming the file and line.
std::vector<Duration> ReadCsvArrivals(const api::WorkloadGenerator& g);

}  // namespace gputwin::sim
