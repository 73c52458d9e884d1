// Virtual time. Durations and instants are int64 nanoseconds, as Go's time.Duration,
// so that every Go-style duration a manifest can hold round-trips exactly.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace gputwin {

// Time arithmetic saturates at the int64 range instead of overflowing (undefined behaviour):
// a sum past the end of time is the end of time (kNever), whatever a manifest holds.
namespace time_internal {
inline constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t Add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMax : kMin;
  return r;
}
constexpr int64_t Sub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? kMax : kMin;
  return r;
}
constexpr int64_t Mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? kMin : kMax;
  return r;
}
}  // namespace time_internal

struct Duration {
  int64_t ns = 0;

  static constexpr Duration Nanoseconds(int64_t v) { return {v}; }
  static constexpr Duration Milliseconds(int64_t v) { return {time_internal::Mul(v, 1'000'000)}; }
  static constexpr Duration Seconds(int64_t v) { return {time_internal::Mul(v, 1'000'000'000)}; }
  static constexpr Duration Minutes(int64_t v) { return Seconds(time_internal::Mul(v, 60)); }
  static constexpr Duration Hours(int64_t v) { return Seconds(time_internal::Mul(v, 3600)); }

  double seconds() const { return static_cast<double>(ns) / 1e9; }
  auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return {time_internal::Add(ns, o.ns)}; }
  constexpr Duration operator-(Duration o) const { return {time_internal::Sub(ns, o.ns)}; }
  constexpr Duration operator*(int64_t k) const { return {time_internal::Mul(ns, k)}; }
};

// An instant on the virtual clock: nanoseconds since the Unix epoch (UTC).
struct Time {
  int64_t ns = 0;
  auto operator<=>(const Time&) const = default;
  constexpr Time operator+(Duration d) const { return {time_internal::Add(ns, d.ns)}; }
  constexpr Duration operator-(Time o) const { return {time_internal::Sub(ns, o.ns)}; }
};

// Parses a Go duration ("90s", "1h30m", "1.5h", "-2m", "0"). Returns nullopt with
// `error` set on failure, using Go's own wording.
std::optional<Duration> ParseDuration(std::string_view s, std::string* error);
// Formats as Go's Duration.String() does ("1h30m0s", "2m0s", "500ms", "0s").
std::string FormatDuration(Duration d);
// A Prometheus duration (model.ParseDuration: 100ms, 30s, 5m, 1h30m, 1d, 1w, 1y) read from
// `s` at `*pos` as far as it goes; nullopt, with *pos where it stopped, when none is there,
// a number lacks its unit or the sum leaves the int64 range of nanoseconds.
std::optional<Duration> ParsePrometheusDuration(std::string_view s, size_t* pos);

// RFC 3339 ("2026-01-01T00:00:00Z", "2026-01-01T02:00:00.5+02:00").
std::optional<Time> ParseRFC3339(std::string_view s, std::string* error);
// Formats in UTC with "Z", with fractional seconds only when non-zero.
std::string FormatRFC3339(Time t);

}  // namespace gputwin
