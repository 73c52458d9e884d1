// The scheduling queue (pkg/scheduler/backend/queue): activeQ ordered by PrioritySort
// (priority, then queue timestamp), backoffQ (podInitialBackoffSeconds doubling to
// podMaxBackoffSeconds per failed attempt), and unschedulablePods, moved back on cluster
// events or after podMaxInUnschedulablePodsDuration (5m).
#pragma once

#include <cstdint>
#include <vector>

#include "cluster/objects.h"
#include "core/time.h"

namespace gputwin::scheduler {

using cluster::PodId;

class SchedulingQueue {
 public:
  SchedulingQueue(Duration initial_backoff, Duration max_backoff)
      : initial_backoff_(initial_backoff), max_backoff_(max_backoff) {}

  void AddActive(PodId pod, int32_t priority, Time now);
  bool PopActive(PodId* pod);
  // After a failed attempt: parked as unschedulable until an event moves it.
  void AddUnschedulable(PodId pod, int32_t priority, Time now);
  // Moves unschedulable pods that `pred` accepts to activeQ, or to backoffQ if backing off.
  template <typename Pred>
  void MoveUnschedulable(Time now, Pred pred);
  // Backed-off pods whose backoff expired go to activeQ; returns the next expiry or kNever.
  Time FlushBackoff(Time now);
  // Unschedulable pods parked for longer than 5 minutes go back (flushed every 30s).
  void FlushUnschedulableLeftover(Time now);
  void Remove(PodId pod);
  bool Contains(PodId pod) const { return pod < state_.size() && state_[pod].where != kNowhere; }
  int32_t attempts(PodId pod) const { return pod < state_.size() ? state_[pod].attempts : 0; }
  size_t unschedulable_count() const { return unschedulable_.size(); }
  bool has_unschedulable() const { return !unschedulable_.empty(); }

  static constexpr Duration kMaxInUnschedulable = Duration::Minutes(5);

 private:
  enum Where : uint8_t { kNowhere, kActive, kBackoff, kUnschedulable };
  struct PodState {
    Where where = kNowhere;
    int32_t priority = 0;
    int32_t attempts = 0;
    uint32_t generation = 0;  // invalidates stale heap entries
    Time timestamp{0};        // queue timestamp (PrioritySort tie-break)
    Time last_attempt{0};
    Time parked_at{0};
    size_t unschedulable_pos = 0;
  };
  struct ActiveEntry {
    int32_t priority;
    Time timestamp;
    uint64_t seq;
    PodId pod;
    uint32_t generation;
  };
  struct BackoffEntry {
    Time expiry;
    uint64_t seq;
    PodId pod;
    uint32_t generation;
  };
  PodState& State(PodId pod);
  Time BackoffExpiry(const PodState& s) const;
  void PushActive(PodId pod);
  void PushBackoff(PodId pod);
  void Unpark(PodId pod);

  Duration initial_backoff_, max_backoff_;
  std::vector<PodState> state_;
  std::vector<ActiveEntry> active_;    // heap
  std::vector<BackoffEntry> backoff_;  // heap
  std::vector<PodId> unschedulable_;
  uint64_t seq_ = 0;
};

template <typename Pred>
void SchedulingQueue::MoveUnschedulable(Time now, Pred pred) {
  std::vector<PodId> keep;
  std::vector<PodId> moving;
  for (PodId p : unschedulable_) (pred(p) ? moving : keep).push_back(p);
  if (moving.empty()) return;
  unschedulable_.swap(keep);
  for (size_t i = 0; i < unschedulable_.size(); ++i)
    state_[unschedulable_[i]].unschedulable_pos = i;
  for (PodId p : moving) {
    PodState& s = state_[p];
    if (BackoffExpiry(s) > now) {
      PushBackoff(p);
    } else {
      s.timestamp = now;
      PushActive(p);
    }
  }
}

}  // namespace gputwin::scheduler
