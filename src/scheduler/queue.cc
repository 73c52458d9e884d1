#include "scheduler/queue.h"

#include <algorithm>

namespace gputwin::scheduler {
namespace {

// PrioritySort.Less: higher priority first, then the earlier queue timestamp.
bool ActiveBefore(const auto& a, const auto& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
  return a.seq < b.seq;
}
// std heaps put the "largest" on top; invert the order.
auto kActiveCmp = [](const auto& a, const auto& b) { return ActiveBefore(b, a); };
auto kBackoffCmp = [](const auto& a, const auto& b) {
  return b.expiry < a.expiry || (b.expiry == a.expiry && b.seq < a.seq);
};

}  // namespace

SchedulingQueue::PodState& SchedulingQueue::State(PodId pod) {
  if (state_.size() <= pod) state_.resize(pod + 1);
  return state_[pod];
}

Time SchedulingQueue::BackoffExpiry(const PodState& s) const {
  if (s.attempts == 0) return s.last_attempt;
  Duration d = initial_backoff_;
  for (int32_t i = 1; i < s.attempts && d < max_backoff_; ++i) d = d * 2;
  return s.last_attempt + std::min(d, max_backoff_);
}

void SchedulingQueue::PushActive(PodId pod) {
  PodState& s = state_[pod];
  s.where = kActive;
  ++s.generation;
  active_.push_back(ActiveEntry{s.priority, s.timestamp, seq_++, pod, s.generation});
  std::push_heap(active_.begin(), active_.end(), kActiveCmp);
}

void SchedulingQueue::PushBackoff(PodId pod) {
  PodState& s = state_[pod];
  s.where = kBackoff;
  ++s.generation;
  backoff_.push_back(BackoffEntry{BackoffExpiry(s), seq_++, pod, s.generation});
  std::push_heap(backoff_.begin(), backoff_.end(), kBackoffCmp);
}

void SchedulingQueue::AddActive(PodId pod, int32_t priority, Time now) {
  PodState& s = State(pod);
  if (s.where == kUnschedulable) Unpark(pod);
  s.priority = priority;
  s.timestamp = now;
  PushActive(pod);
}

bool SchedulingQueue::PopActive(PodId* pod) {
  while (!active_.empty()) {
    std::pop_heap(active_.begin(), active_.end(), kActiveCmp);
    ActiveEntry e = active_.back();
    active_.pop_back();
    PodState& s = state_[e.pod];
    if (s.where != kActive || s.generation != e.generation) continue;
    s.where = kNowhere;
    *pod = e.pod;
    return true;
  }
  return false;
}

void SchedulingQueue::AddUnschedulable(PodId pod, int32_t priority, Time now) {
  PodState& s = State(pod);
  s.priority = priority;
  s.attempts++;
  s.last_attempt = now;
  s.timestamp = now;
  s.parked_at = now;
  s.where = kUnschedulable;
  ++s.generation;
  s.unschedulable_pos = unschedulable_.size();
  unschedulable_.push_back(pod);
}

void SchedulingQueue::Unpark(PodId pod) {
  PodState& s = state_[pod];
  size_t pos = s.unschedulable_pos;
  PodId last = unschedulable_.back();
  unschedulable_[pos] = last;
  state_[last].unschedulable_pos = pos;
  unschedulable_.pop_back();
  s.where = kNowhere;
}

Time SchedulingQueue::FlushBackoff(Time now) {
  while (!backoff_.empty()) {
    const BackoffEntry& top = backoff_.front();
    PodState& s = state_[top.pod];
    if (s.where != kBackoff || s.generation != top.generation) {
      std::pop_heap(backoff_.begin(), backoff_.end(), kBackoffCmp);
      backoff_.pop_back();
      continue;
    }
    if (top.expiry > now) return top.expiry;
    PodId pod = top.pod;
    std::pop_heap(backoff_.begin(), backoff_.end(), kBackoffCmp);
    backoff_.pop_back();
    s.timestamp = now;
    PushActive(pod);
  }
  return cluster::kNever;
}

void SchedulingQueue::FlushUnschedulableLeftover(Time now) {
  MoveUnschedulable(now, [&](PodId p) { return now - state_[p].parked_at >= kMaxInUnschedulable; });
}

void SchedulingQueue::Remove(PodId pod) {
  if (pod >= state_.size()) return;
  PodState& s = state_[pod];
  if (s.where == kUnschedulable) Unpark(pod);
  s.where = kNowhere;
  ++s.generation;
}

}  // namespace gputwin::scheduler
