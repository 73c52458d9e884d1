// Prometheus-style series sampled on the virtual clock, shared by the controllers that
// export metrics (Kueue, Karpenter): a gauge or counter's samples, and histograms.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"

namespace gputwin::telemetry {

using Labels = std::map<std::string, std::string>;

struct Series {
  std::string name;
  Labels labels;
  std::vector<std::pair<Time, double>> samples;
};

// A Prometheus histogram: per-bucket counts (not cumulative) for upper bounds `bounds`,
// plus the +Inf bucket.
struct Histogram {
  std::string name;
  Labels labels;
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
  uint64_t count = 0;
  void Observe(double v) {
    // The first bound >= v (le is inclusive), by binary search.
    const size_t i =
        static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
    if (counts.size() < bounds.size() + 1) counts.resize(bounds.size() + 1, 0);
    ++counts[i];
    sum += v;
    ++count;
  }
  // Adds observations a process counted on its own (per-bucket counts, +Inf last).
  void Merge(const std::vector<uint64_t>& more, double more_sum, uint64_t more_count) {
    if (counts.size() < bounds.size() + 1) counts.resize(bounds.size() + 1, 0);
    for (size_t i = 0; i < more.size() && i < counts.size(); ++i) counts[i] += more[i];
    sum += more_sum;
    count += more_count;
  }
};

}  // namespace gputwin::telemetry
