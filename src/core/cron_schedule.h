// A cron schedule as KEDA's cron scaler and the CronJob controller read it
// (github.com/robfig/cron/v3, the standard five-field parser: minute hour day-of-month month
// day-of-week, with lists, ranges, steps, month and weekday names, `?`, and the
// @yearly/@monthly/@weekly/@daily/@hourly descriptors), and its next activation in an IANA time
// zone.
#pragma once

#include <cstdint>
#include <string>

#include "core/time.h"

namespace gputwin {

class CronSchedule {
 public:
  // Throws std::invalid_argument with robfig/cron's message for a bad spec.
  static CronSchedule Parse(const std::string& spec);
  // The first activation strictly after `after`, at a whole minute of `zone`'s local time
  // (Schedule.Next); Time{INT64_MAX} when none within five years. `zone` is an IANA name
  // already checked by ValidZone.
  Time Next(Time after, const std::string& zone) const;
  static bool ValidZone(const std::string& zone);

 private:
  static constexpr uint64_t kStar = uint64_t{1} << 63;  // the field was * or ?
  uint64_t minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;
};

}  // namespace gputwin
