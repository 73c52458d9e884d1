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
  if (s.where == kUnschedulable) --unschedulable_count_;
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

void SchedulingQueue::AddUnschedulable(PodId pod, uint32_t template_id, int32_t priority, Time now,
                                       uint64_t rejectors) {
  PodState& s = State(pod);
  s.rejectors = rejectors;
  if (s.where == kUnschedulable) --unschedulable_count_;
  s.priority = priority;
  s.attempts++;
  s.last_attempt = now;
  s.timestamp = now;
  s.parked_at = now;
  s.where = kUnschedulable;
  ++s.generation;
  ++unschedulable_count_;
  if (lines_.size() <= template_id) {
    lines_.resize(template_id + 1);
    line_listed_.resize(template_id + 1, false);
    line_marked_.resize(template_id + 1, false);
  }
  lines_[template_id].push_back(Parked{pod, s.generation});
  if (!line_listed_[template_id]) {
    line_listed_[template_id] = true;
    nonempty_lines_.push_back(template_id);
  }
}

bool SchedulingQueue::MoveHead(uint32_t t, Time now, bool only_if_parked_before, Time before) {
  auto& line = lines_[t];
  while (!line.empty()) {
    Parked head = line.front();
    PodState& s = state_[head.pod];
    if (s.where != kUnschedulable || s.generation != head.generation) {
      line.pop_front();  // stale: bound, deleted or moved since
      continue;
    }
    if (only_if_parked_before && s.parked_at > before) return false;
    line.pop_front();
    --unschedulable_count_;
    if (BackoffExpiry(s) > now) {
      PushBackoff(head.pod);
    } else {
      s.timestamp = now;
      PushActive(head.pod);
    }
    return true;
  }
  return false;
}

bool SchedulingQueue::Head(uint32_t t, PodId* pod) {
  auto& line = lines_[t];
  while (!line.empty()) {
    Parked head = line.front();
    const PodState& s = state_[head.pod];
    if (s.where == kUnschedulable && s.generation == head.generation) {
      *pod = head.pod;
      return true;
    }
    line.pop_front();  // stale: bound, deleted or moved since
  }
  return false;
}

void SchedulingQueue::MarkAll() {
  for (uint32_t t : nonempty_lines_) line_marked_[t] = true;
  any_marked_ = !nonempty_lines_.empty();
}

void SchedulingQueue::MoveMarked(Time now) {
  if (!any_marked_) return;
  any_marked_ = false;
  std::vector<uint32_t> still;
  for (uint32_t t : nonempty_lines_) {
    if (line_marked_[t]) {
      line_marked_[t] = false;
      MoveHead(t, now, false, now);
    }
    if (lines_[t].empty()) {
      line_listed_[t] = false;
    } else {
      still.push_back(t);
    }
  }
  nonempty_lines_.swap(still);
}

void SchedulingQueue::MoveNextOfTemplate(uint32_t t, Time now) {
  if (t < lines_.size() && !lines_[t].empty()) MoveHead(t, now, false, now);
}

void SchedulingQueue::FlushUnschedulableLeftover(Time now) {
  for (uint32_t t : nonempty_lines_) MoveHead(t, now, true, Time{now.ns - kMaxInUnschedulable.ns});
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

void SchedulingQueue::Remove(PodId pod) {
  if (pod >= state_.size()) return;
  PodState& s = state_[pod];
  if (s.where == kUnschedulable) --unschedulable_count_;
  s.where = kNowhere;
  ++s.generation;
}

}  // namespace gputwin::scheduler
