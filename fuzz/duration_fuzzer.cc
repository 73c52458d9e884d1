// Go durations, Prometheus durations and RFC 3339 times (core/time.h). Besides crashes and
// sanitizer reports, checks what Go's time package guarantees:
//   - ParseDuration(d.String()) == d for every int64 d (Go parses its own minimum,
//     "-2562047h47m16.854775808s");
//   - a parsed duration is the sum of its parts (checked against long double arithmetic, so a
//     wrapped intermediate shows), and one Go accepts (within int64) is not refused;
//   - an RFC 3339 time formats back to the same instant.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"

namespace {

using gputwin::Duration;
using gputwin::Time;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::abort();
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Go's grammar, [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with its units, summed in long double.
std::optional<long double> ReferenceNanos(std::string_view s, int* parts) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0.0L;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  *parts = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double value = 0, scale = 1;
    bool any = false;
    while (i < s.size() && IsDigit(s[i])) value = value * 10 + (s[i++] - '0'), any = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && IsDigit(s[i])) {
        scale /= 10;
        value += (s[i++] - '0') * scale;
        any = true;
      }
    }
    if (!any) return std::nullopt;
    size_t u = i;
    while (u < s.size() && !IsDigit(s[u]) && s[u] != '.') ++u;
    const std::string_view unit = s.substr(i, u - i);
    long double ns = 0;
    if (unit == "ns")
      ns = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      ns = 1e3L;
    else if (unit == "ms")
      ns = 1e6L;
    else if (unit == "s")
      ns = 1e9L;
    else if (unit == "m")
      ns = 60e9L;
    else if (unit == "h")
      ns = 3600e9L;
    else
      return std::nullopt;
    total += value * ns;
    ++*parts;
    s.remove_prefix(u);
  }
  return negative ? -total : total;
}

void CheckDurationRoundTrip(Duration d) {
  const std::string text = gputwin::FormatDuration(d);
  std::string error;
  auto back = gputwin::ParseDuration(text, &error);
  if (!back || *back != d) {
    Fail("duration round trip: " + std::to_string(d.ns) + "ns -> \"" + text + "\" -> " +
         (back ? std::to_string(back->ns) + "ns" : "error: " + error));
  }
}

void CheckTimeRoundTrip(Time t) {
  const std::string text = gputwin::FormatRFC3339(t);
  std::string error;
  auto back = gputwin::ParseRFC3339(text, &error);
  if (!back || *back != t) {
    Fail("RFC 3339 round trip: " + std::to_string(t.ns) + " -> \"" + text + "\" -> " +
         (back ? std::to_string(back->ns) : "error: " + error));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 8) {
    int64_t v = 0;
    std::memcpy(&v, data, 8);
    CheckDurationRoundTrip(Duration{v});
    CheckTimeRoundTrip(Time{v});
  }
  const std::string s(reinterpret_cast<const char*>(data), size);
  std::string error;
  int parts = 0;
  const auto ref = ReferenceNanos(s, &parts);
  // long double holds 64 bits of mantissa: a few ns of error per part near the int64 range.
  const long double slack = 4.0L * (parts + 1);
  if (auto d = gputwin::ParseDuration(s, &error)) {
    if (!ref || std::fabs(static_cast<long double>(d->ns) - *ref) > slack) {
      Fail("\"" + s + "\" parsed as " + std::to_string(d->ns) + "ns; by its parts it is " +
           (ref ? std::to_string(static_cast<double>(*ref)) : std::string("not a duration")));
    }
    CheckDurationRoundTrip(*d);
  } else {
    if (error.empty()) Fail("no error for \"" + s + "\"");
    if (ref && std::fabs(*ref) < 9.2e18L) {
      Fail("\"" + s + "\" refused (" + error + "), but Go reads it as " +
           std::to_string(static_cast<double>(*ref)) + "ns");
    }
  }
  size_t pos = 0;
  if (auto d = gputwin::ParsePrometheusDuration(s, &pos)) {
    if (pos > s.size() || d->ns < 0) Fail("Prometheus duration \"" + s + "\" out of range");
  }
  if (auto t = gputwin::ParseRFC3339(s, &error)) CheckTimeRoundTrip(*t);
  return 0;
}
