#include "karpenter/cron.h"

#include <array>
#include <bitset>
#include <sstream>
#include <vector>

namespace gputwin::karpenter {
namespace {

struct Schedule {
  std::bitset<60> minute;
  std::bitset<24> hour;
  std::bitset<32> dom;
  std::bitset<13> month;
  std::bitset<7> dow;
  bool dom_star = false, dow_star = false;
};

bool ParseField(const std::string& field, int lo, int hi, std::vector<bool>* out, bool* star,
                std::string* error) {
  out->assign(static_cast<size_t>(hi + 1), false);
  *star = field == "*" || field == "?";
  std::stringstream ss(field);
  std::string part;
  while (std::getline(ss, part, ',')) {
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string::npos) {
      try {
        step = std::stoi(part.substr(slash + 1));
      } catch (...) {
        step = 0;
      }
      if (step <= 0) {
        *error = "bad step in \"" + part + "\"";
        return false;
      }
      part = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (part != "*" && part != "?") {
      try {
        auto dash = part.find('-');
        a = std::stoi(part.substr(0, dash));
        b = dash == std::string::npos ? (step > 1 ? hi : a) : std::stoi(part.substr(dash + 1));
      } catch (...) {
        *error = "\"" + part + "\" is not a number or range";
        return false;
      }
    }
    if (a < lo || b > hi || a > b) {
      *error = "\"" + part + "\" is outside " + std::to_string(lo) + "-" + std::to_string(hi);
      return false;
    }
    for (int v = a; v <= b; v += step) (*out)[static_cast<size_t>(v)] = true;
  }
  return true;
}

bool Parse(const std::string& expr, Schedule* s, std::string* error) {
  std::string e = expr;
  if (e == "@yearly" || e == "@annually") e = "0 0 1 1 *";
  if (e == "@monthly") e = "0 0 1 * *";
  if (e == "@weekly") e = "0 0 * * 0";
  if (e == "@daily" || e == "@midnight") e = "0 0 * * *";
  if (e == "@hourly") e = "0 * * * *";
  std::stringstream ss(e);
  std::vector<std::string> fields;
  std::string f;
  while (ss >> f) fields.push_back(f);
  if (fields.size() != 5) {
    *error = "expected 5 fields (minute hour day-of-month month day-of-week), found " +
             std::to_string(fields.size());
    return false;
  }
  std::vector<bool> v;
  bool star = false;
  const std::array<std::pair<int, int>, 5> ranges = {{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}};
  for (size_t i = 0; i < 5; ++i) {
    if (!ParseField(fields[i], ranges[i].first, ranges[i].second, &v, &star, error)) return false;
    for (size_t k = 0; k < v.size(); ++k) {
      if (!v[k]) continue;
      switch (i) {
        case 0:
          s->minute.set(k);
          break;
        case 1:
          s->hour.set(k);
          break;
        case 2:
          s->dom.set(k);
          break;
        case 3:
          s->month.set(k);
          break;
        case 4:
          s->dow.set(k % 7);
          break;
      }
    }
    if (i == 2) s->dom_star = star;
    if (i == 4) s->dow_star = star;
  }
  return true;
}

// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

bool Matches(const Schedule& s, int64_t minute_since_epoch) {
  int64_t days =
      minute_since_epoch >= 0 ? minute_since_epoch / 1440 : -((-minute_since_epoch + 1439) / 1440);
  int64_t in_day = minute_since_epoch - days * 1440;
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  auto dow = static_cast<size_t>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  if (!s.minute.test(static_cast<size_t>(in_day % 60)) ||
      !s.hour.test(static_cast<size_t>(in_day / 60)) || !s.month.test(m)) {
    return false;
  }
  bool dom = s.dom.test(d), dw = s.dow.test(dow);
  // Both restricted: either matches (cron's rule); else both must.
  if (!s.dom_star && !s.dow_star) return dom || dw;
  return dom && dw;
}

}  // namespace

std::string CronError(const std::string& expr) {
  Schedule s;
  std::string error;
  return Parse(expr, &s, &error) ? "" : error;
}

bool CronWindowActive(const std::string& expr, Duration duration, Time now) {
  Schedule s;
  std::string error;
  if (!Parse(expr, &s, &error)) return true;  // fail closed: an active budget of its value
  // Budget.IsActive: the first hit after now − duration is not after now, i.e. some hit h
  // (a whole minute) has now − duration < h ≤ now.
  constexpr int64_t kMinute = 60'000'000'000;
  const int64_t from = now.ns - duration.ns;
  for (int64_t t = now.ns / kMinute; t * kMinute > from; --t) {
    if (Matches(s, t)) return true;
  }
  return false;
}

}  // namespace gputwin::karpenter
