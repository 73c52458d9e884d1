// What the HTML report reads of each pod: its times, GPU devices, node and waits, compact.
// A million-pod run gives them straight from the store; `gputwin report` reads them back
// from summary.json's pods. Both give the same numbers (times are nanosecond-exact in
// RFC 3339), so the page is byte-identical either way.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/store.h"

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
  std::vector<double> wait_at;        // unix seconds
  std::vector<uint16_t> wait_reason;  // index into reasons
  std::vector<std::string> reasons;

  static PodSpans FromSummary(const nlohmann::json& summary);
  static PodSpans FromStore(const cluster::Store& store);

  // The time, or `fallback` when it never happened.
  static double Or(double t, double fallback) { return std::isnan(t) ? fallback : t; }
};

}  // namespace gputwin::report
