// Doubles of nanoseconds (rates, exponential draws, work left at a speed) as Durations.
#pragma once

#include "core/time.h"

namespace gputwin {

// Truncated toward zero like a cast, but saturated at the int64 range (NaN: the end of
// time): a plain cast of an out-of-range double is undefined, and gave pods that finished in
// the year 1733.
inline Duration SaturatingNs(double ns) {
  if (!(ns < 9.2e18)) return {time_internal::kMax};  // also NaN
  if (ns <= -9.2e18) return {time_internal::kMin};
  return {static_cast<int64_t>(ns)};
}

}  // namespace gputwin
