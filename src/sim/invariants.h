// Invariants every run must keep, checked as the clock advances when `--check-invariants` is
// given (the test suite always gives it): a broken one is a bug in the twin, never a property
// of the input.
#pragma once

#include <limits>
#include <stdexcept>
#include <string>

#include "cluster/store.h"
#include "core/time.h"

namespace gputwin::sim {

// A broken invariant: the twin's bug (exit 3), not bad input (2) nor a failed expectation (1).
struct InvariantViolation : std::logic_error {
  using std::logic_error::logic_error;
};

class InvariantChecker {
 public:
  explicit InvariantChecker(const cluster::Store& store) : store_(store) {}
  // Throws InvariantViolation naming the first invariant that does not hold at `now`:
  // - the clock never goes back;
  // - every node's requested resources are the sum of the running pods bound to it, never
  //   negative, and its allocatable is never negative;
  // - every live bound pod is listed on its node, and only those are;
  // - the phase counts match the live pods;
  // - no device (GPU, MIG instance, shared replica) is held by a pod that is not live on its
  //   node, and no pod holds more devices of a resource than it requested.
  void Check(Time now);
  // Only that the clock does not go back (cheap enough for every event).
  void CheckClock(Time now) {
    if (now < last_) Fail(now, "the clock went back from " + FormatRFC3339(last_));
    last_ = now;
  }
  size_t checks() const { return checks_; }

 private:
  [[noreturn]] void Fail(Time now, const std::string& what) const;
  const cluster::Store& store_;
  Time last_{std::numeric_limits<int64_t>::min()};
  size_t checks_ = 0;
};

}  // namespace gputwin::sim
