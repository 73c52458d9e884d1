// Cron schedules of disruption budgets (robfig/cron's standard parser, as Karpenter
// uses it): five fields (minute hour day-of-month month day-of-week) with *, lists,
// ranges and steps, and the @yearly/@monthly/@weekly/@daily/@hourly macros, in UTC.
#pragma once

#include <string>

#include "core/time.h"

namespace gputwin::karpenter {

// Empty when `expr` parses, else why not.
std::string CronError(const std::string& expr);
// Whether the schedule fired within [now − duration, now].
bool CronWindowActive(const std::string& expr, Duration duration, Time now);

}  // namespace gputwin::karpenter
