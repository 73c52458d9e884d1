// How summary.json's sections write times and figures.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>

#include "cluster/objects.h"
#include "core/time.h"

namespace gputwin::report {

// Figures to 1/10,000 (serving latencies to 0.1 ms, dollars to 1/100 of a cent).
inline double Round(double v) {
  return std::round(v * 1e4) / 1e4;
}

// A time in RFC 3339, or null for one that never came.
inline nlohmann::ordered_json TimeOrNull(Time t) {
  if (t == cluster::kNever) return nullptr;
  return FormatRFC3339(t);
}

// The same through a JSON writer's calls (report/json_writer.h).
template <class Writer>
void WriteTimeOrNull(Writer& w, Time t) {
  if (t == cluster::kNever) {
    w.Null();
  } else {
    w.String(FormatRFC3339(t));
  }
}

}  // namespace gputwin::report
