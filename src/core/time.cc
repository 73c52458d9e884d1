#include "core/time.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <limits>

#include "core/ascii.h"

namespace gputwin {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinInt64 = std::numeric_limits<int64_t>::min();

// Go's time.ParseDuration unit table.
std::optional<int64_t> UnitNanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1'000;
  if (u == "ms") return 1'000'000;
  if (u == "s") return 1'000'000'000;
  if (u == "m") return 60'000'000'000;
  if (u == "h") return 3'600'000'000'000;
  return std::nullopt;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view s, std::string* error) {
  const std::string orig(s);
  auto fail = [&](const std::string& why) -> std::optional<Duration> {
    if (error) *error = why;
    return std::nullopt;
  };
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return fail("invalid duration \"" + orig + "\"");
  // As Go: up to 2^63 - 1 ns, and 2^63 when negative (Go parses its own minimum back).
  const unsigned __int128 limit = static_cast<unsigned __int128>(kMaxInt64) + (neg ? 1 : 0);
  unsigned __int128 total = 0;
  while (!s.empty()) {
    if (!(IsDigit(s[0]) || s[0] == '.')) return fail("invalid duration \"" + orig + "\"");
    unsigned __int128 whole = 0;
    size_t i = 0;
    bool any = false;
    while (i < s.size() && IsDigit(s[i])) {
      whole = whole * 10 + static_cast<unsigned>(s[i] - '0');
      if (whole > limit) {
        return fail("invalid duration \"" + orig + "\"");
      }
      ++i;
      any = true;
    }
    unsigned __int128 frac = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && IsDigit(s[i])) {
        // Digits past the 19th are below a nanosecond of an hour; frac × unit stays in range.
        if (scale < 10'000'000'000'000'000'000ULL) {
          frac = frac * 10 + static_cast<unsigned>(s[i] - '0');
          scale *= 10;
        }
        ++i;
        any = true;
      }
    }
    if (!any) return fail("invalid duration \"" + orig + "\"");
    size_t u = i;
    while (u < s.size() && !(IsDigit(s[u]) || s[u] == '.')) ++u;
    if (u == i) return fail("missing unit in duration \"" + orig + "\"");
    auto unit = UnitNanos(s.substr(i, u - i));
    if (!unit) {
      return fail("unknown unit \"" + std::string(s.substr(i, u - i)) + "\" in duration \"" + orig +
                  "\"");
    }
    unsigned __int128 v = whole * static_cast<unsigned __int128>(*unit);
    v += frac * static_cast<unsigned __int128>(*unit) / scale;
    total += v;
    if (total > limit) {
      return fail("invalid duration \"" + orig + "\"");
    }
    s.remove_prefix(u);
  }
  const uint64_t out = static_cast<uint64_t>(total);
  return Duration{static_cast<int64_t>(neg ? 0 - out : out)};
}

std::string FormatDuration(Duration d) {
  if (d.ns == 0) return "0s";
  std::string out;
  bool neg = d.ns < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(d.ns + 1)) + 1 : static_cast<uint64_t>(d.ns);
  char buf[64];
  if (u < 1'000'000'000ULL) {
    // Sub-second: ns, µs or ms with a fraction, as Go prints it.
    const char* unit = "ns";
    uint64_t div = 1;
    if (u >= 1'000'000) {
      unit = "ms";
      div = 1'000'000;
    } else if (u >= 1'000) {
      unit = "\xC2\xB5s";
      div = 1'000;
    }
    std::string frac;
    uint64_t rem = u % div;
    if (rem) {
      std::snprintf(buf, sizeof buf, "%0*llu", div == 1'000 ? 3 : 6,
                    static_cast<unsigned long long>(rem));
      frac = buf;
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      frac = "." + frac;
    }
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(u / div));
    out = std::string(buf) + frac + unit;
  } else {
    uint64_t secs = u / 1'000'000'000ULL, nanos = u % 1'000'000'000ULL;
    uint64_t h = secs / 3600, m = (secs % 3600) / 60, s = secs % 60;
    std::string frac;
    if (nanos) {
      std::snprintf(buf, sizeof buf, "%09llu", static_cast<unsigned long long>(nanos));
      frac = buf;
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      frac = "." + frac;
    }
    if (h) {
      std::snprintf(buf, sizeof buf, "%lluh%llum", static_cast<unsigned long long>(h),
                    static_cast<unsigned long long>(m));
      out = buf;
    } else if (m) {
      std::snprintf(buf, sizeof buf, "%llum", static_cast<unsigned long long>(m));
      out = buf;
    }
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(s));
    out += std::string(buf) + frac + "s";
  }
  return neg ? "-" + out : out;
}

std::optional<Time> ParseRFC3339(std::string_view s, std::string* error) {
  auto fail = [&]() -> std::optional<Time> {
    if (error) *error = "\"" + std::string(s) + "\" is not an RFC 3339 time";
    return std::nullopt;
  };
  auto num = [&](size_t pos, size_t len, int64_t* out) {
    if (pos + len > s.size()) return false;
    int64_t v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!IsDigit(s[i])) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int64_t y, mo, d, h, mi, sec;
  if (!num(0, 4, &y) || s.size() < 20 || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' ||
      !num(8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, &h) ||
      s[13] != ':' || !num(14, 2, &mi) || s[16] != ':' || !num(17, 2, &sec)) {
    return fail();
  }
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && !leap && d > 28) || h > 23 ||
      mi > 59 || sec > 59) {
    return fail();
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && IsDigit(s[pos])) {
      if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return fail();
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int64_t oh, om;
    if (!num(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !num(pos + 4, 2, &om)) {
      return fail();
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return fail();
  }
  if (pos != s.size()) return fail();
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
  // Instants are int64 nanoseconds: years 1678 to 2262 (Go's time.Time goes further).
  const __int128 ns = static_cast<__int128>(secs) * 1'000'000'000 + nanos;
  if (ns < kMinInt64 || ns > kMaxInt64) {
    if (error) {
      *error = "\"" + std::string(s) + "\" is outside the times the twin can hold (" +
               FormatRFC3339(Time{kMinInt64}) + " to " + FormatRFC3339(Time{kMaxInt64}) + ")";
    }
    return std::nullopt;
  }
  return Time{static_cast<int64_t>(ns)};
}

std::string FormatRFC3339(Time t) {
  int64_t secs = t.ns / 1'000'000'000, nanos = t.ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y),
                m, d, static_cast<long long>(rem / 3600), static_cast<long long>(rem % 3600 / 60),
                static_cast<long long>(rem % 60));
  std::string out = buf;
  if (nanos) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nanos));
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out + "Z";
}

std::optional<Duration> ParsePrometheusDuration(std::string_view s, size_t* pos) {
  size_t i = *pos;
  int64_t total = 0;
  bool any = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    int64_t n = 0;
    bool overflow = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      overflow |= __builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[i++] - '0', &n);
    }
    int64_t unit = 0;
    if (s.substr(i, 2) == "ms") {
      unit = 1'000'000;
      i += 2;
    } else if (i < s.size()) {
      constexpr int64_t kDay = 86'400'000'000'000;
      switch (s[i]) {
        case 's':
          unit = 1'000'000'000;
          break;
        case 'm':
          unit = 60'000'000'000;
          break;
        case 'h':
          unit = 3'600'000'000'000;
          break;
        case 'd':
          unit = kDay;
          break;
        case 'w':
          unit = 7 * kDay;
          break;
        case 'y':
          unit = 365 * kDay;
          break;
        default:
          break;
      }
      if (unit) ++i;
    }
    // Past the int64 range of nanoseconds: refused, as model.ParseDuration's "duration out
    // of range".
    int64_t part = 0;
    if (!unit || overflow || __builtin_mul_overflow(n, unit, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      *pos = i;
      return std::nullopt;
    }
    any = true;
  }
  *pos = i;
  if (!any) return std::nullopt;
  return Duration{total};
}

}  // namespace gputwin
