// Reading a run's summary.json leniently: a missing or null section reads as empty, so
// the HTML report and explain draw what a run has (a run without Kueue has no workloads).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/time.h"

namespace gputwin::report {

// j[key] when it is an object, else an empty object (summary sections may be null).
inline const nlohmann::json& Obj(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  auto it = j.find(key);
  return it == j.end() || !it->is_object() ? kEmpty : *it;
}
inline const nlohmann::json& Arr(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  auto it = j.find(key);
  return it == j.end() || !it->is_array() ? kEmpty : *it;
}

inline std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || !it->is_string() ? "" : it->get<std::string>();
}

// Seconds since the epoch of an RFC 3339 time, or `fallback` when absent.
inline double Seconds(const nlohmann::json& j, const char* key, double fallback) {
  const std::string s = Str(j, key);
  if (s.empty()) return fallback;
  std::string error;
  auto t = ParseRFC3339(s, &error);
  return t ? static_cast<double>(t->ns) / 1e9 : fallback;
}

}  // namespace gputwin::report
