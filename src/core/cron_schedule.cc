#include "core/cron_schedule.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <array>
#include <limits>
#include <stdexcept>
#include <vector>

namespace gputwin {
namespace {

struct Bounds {
  int min, max;
  const char* const* names;  // lowercase, index = value - min; nullptr when none
};
constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr Bounds kMinute{0, 59, nullptr}, kHour{0, 23, nullptr}, kDom{1, 31, nullptr},
    kMonth{1, 12, kMonths}, kDow{0, 6, kDays};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

int Number(const std::string& expr, const Bounds& b) {
  if (b.names) {
    std::string lower;
    for (char c : expr) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int i = 0; i <= b.max - b.min; ++i) {
      if (lower == b.names[i]) return b.min + i;
    }
  }
  size_t used = 0;
  int v = -1;
  try {
    v = std::stoi(expr, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != expr.size() || expr.empty() || v < 0) {
    throw std::invalid_argument("failed to parse int from " + expr);
  }
  return v;
}

// getRange: `*`/`?`, `a`, `a-b`, each with an optional `/step` (`a/step` runs to the max).
uint64_t Range(const std::string& expr, const Bounds& b) {
  const auto range_step = Split(expr, '/');
  const auto low_high = Split(range_step[0], '-');
  int start = 0, end = 0;
  uint64_t extra = 0;
  const bool single = low_high.size() == 1;
  if (low_high[0] == "*" || low_high[0] == "?") {
    start = b.min;
    end = b.max;
    extra = uint64_t{1} << 63;
  } else {
    start = Number(low_high[0], b);
    if (low_high.size() == 1) {
      end = start;
    } else if (low_high.size() == 2) {
      end = Number(low_high[1], b);
    } else {
      throw std::invalid_argument("too many hyphens: " + expr);
    }
  }
  int step = 1;
  if (range_step.size() == 2) {
    step = Number(range_step[1], b);
    if (single) end = b.max;  // "N/step" means "N-max/step"
    if (step > 1) extra = 0;
  } else if (range_step.size() > 2) {
    throw std::invalid_argument("too many slashes: " + expr);
  }
  if (start < b.min) {
    throw std::invalid_argument("beginning of range (" + std::to_string(start) +
                                ") below minimum (" + std::to_string(b.min) + "): " + expr);
  }
  if (end > b.max) {
    throw std::invalid_argument("end of range (" + std::to_string(end) + ") above maximum (" +
                                std::to_string(b.max) + "): " + expr);
  }
  if (start > end) {
    throw std::invalid_argument("beginning of range (" + std::to_string(start) +
                                ") beyond end of range (" + std::to_string(end) + "): " + expr);
  }
  if (step == 0) throw std::invalid_argument("step of range should be a positive number: " + expr);
  uint64_t bits = extra;
  for (int i = start; i <= end; i += step) bits |= uint64_t{1} << i;
  return bits;
}

uint64_t Field(const std::string& field, const Bounds& b) {
  uint64_t bits = 0;
  for (const auto& expr : Split(field, ',')) bits |= Range(expr, b);
  return bits;
}

bool Has(uint64_t bits, int v) {
  return (bits >> v) & 1;
}

}  // namespace

CronSchedule CronSchedule::Parse(const std::string& raw) {
  std::string spec = raw;
  while (!spec.empty() && spec.front() == ' ') spec.erase(spec.begin());
  while (!spec.empty() && spec.back() == ' ') spec.pop_back();
  if (spec.empty()) throw std::invalid_argument("empty spec string");
  if (spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=")) {
    throw std::invalid_argument(raw + ": a TZ= prefix is not modelled; use the trigger's timezone");
  }
  if (spec == "@yearly" || spec == "@annually") spec = "0 0 1 1 *";
  if (spec == "@monthly") spec = "0 0 1 * *";
  if (spec == "@weekly") spec = "0 0 * * 0";
  if (spec == "@daily" || spec == "@midnight") spec = "0 0 * * *";
  if (spec == "@hourly") spec = "0 * * * *";
  if (spec.starts_with("@")) {
    throw std::invalid_argument("unrecognized descriptor: " + spec +
                                (spec.starts_with("@every") ? " (@every is not modelled)" : ""));
  }
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < spec.size()) {
    while (i < spec.size() && (spec[i] == ' ' || spec[i] == '\t')) ++i;
    size_t j = i;
    while (j < spec.size() && spec[j] != ' ' && spec[j] != '\t') ++j;
    if (j > i) fields.push_back(spec.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    throw std::invalid_argument("expected exactly 5 fields, found " +
                                std::to_string(fields.size()) + ": " + raw);
  }
  CronSchedule s;
  s.minute_ = Field(fields[0], kMinute);
  s.hour_ = Field(fields[1], kHour);
  s.dom_ = Field(fields[2], kDom);
  s.month_ = Field(fields[3], kMonth);
  s.dow_ = Field(fields[4], kDow);
  return s;
}

bool CronSchedule::ValidZone(const std::string& zone) {
  absl::TimeZone tz;
  return absl::LoadTimeZone(zone, &tz);
}

Time CronSchedule::Next(Time after, const std::string& zone) const {
  absl::TimeZone tz;
  absl::LoadTimeZone(zone, &tz);
  // The next whole second, then the next whole minute (the standard parser's second is 0).
  const absl::Time t = absl::FromUnixNanos(after.ns);
  absl::CivilSecond start = absl::ToCivilSecond(t, tz) + 1;
  absl::CivilMinute first(start);
  if (start.second() != 0) first = first + 1;
  auto day_matches = [&](const absl::CivilDay& d) {
    // dayMatches: with either field a star both must match, else either may.
    const int dow = (static_cast<int>(absl::GetWeekday(d)) + 1) % 7;  // absl: Monday = 0
    const bool dom_ok = Has(dom_, d.day()), dow_ok = Has(dow_, dow);
    if ((dom_ & kStar) || (dow_ & kStar)) return dom_ok && dow_ok;
    return dom_ok || dow_ok;
  };
  const absl::CivilDay first_day(first);
  for (absl::CivilDay d = first_day; d - first_day <= 5 * 366; ++d) {
    if (!Has(month_, d.month()) || !day_matches(d)) continue;
    for (int h = d == first_day ? first.hour() : 0; h < 24; ++h) {
      if (!Has(hour_, h)) continue;
      const int m0 = d == first_day && h == first.hour() ? first.minute() : 0;
      for (int m = m0; m < 60; ++m) {
        if (!Has(minute_, m)) continue;
        const absl::Time at =
            absl::FromCivil(absl::CivilMinute(d.year(), d.month(), d.day(), h, m), tz);
        // A local time skipped by a DST change maps past the gap; never before `after`.
        if (at <= t) continue;
        return Time{absl::ToUnixNanos(at)};
      }
    }
  }
  return Time{std::numeric_limits<int64_t>::max()};
}

}  // namespace gputwin
