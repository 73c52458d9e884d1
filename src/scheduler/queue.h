// The scheduling queue (pkg/scheduler/backend/queue): activeQ ordered by PrioritySort
// (priority, then queue timestamp), backoffQ (podInitialBackoffSeconds doubling to
// podMaxBackoffSeconds per failed attempt), and unschedulable pods, moved back on cluster
// events or after podMaxInUnschedulablePodsDuration (5m).
//
// Unschedulable pods are parked per pod template, in FIFO order, with the plugins that
// rejected them (QueuedPodInfo.UnschedulablePlugins). A cluster event marks the lines whose
// head one of those plugins' queueing hints says the event may help, and the marked
// heads move: pods of one template fail the same way on the same cluster, so upstream's
// retry of all of them would reject the rest anyway. When a head binds, the next pod of
// its template is moved at once. This keeps a backlog of 100,000 identical pods from
// costing 100,000 attempts per freed GPU.
#pragma once

#include <cstddef>
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
  // After a failed attempt: parked in its template's line until an event moves it.
  // `rejectors`: the filter plugins (by position) that rejected it; 0 for none named.
  void AddUnschedulable(PodId pod, uint32_t template_id, int32_t priority, Time now,
                        uint64_t rejectors = 0);
  // A cluster event: marks each line whose head `may_help(head, rejectors)`.
  template <typename F>
  void MarkLines(F may_help) {
    for (uint32_t t : nonempty_lines_) {
      if (line_marked_[t]) continue;
      PodId head;
      if (Head(t, &head) && may_help(head, state_[head].rejectors)) {
        line_marked_[t] = true;
        any_marked_ = true;
      }
    }
  }
  void MarkAll();
  void MarkLine(uint32_t template_id) {
    line_marked_[template_id] = true;
    any_marked_ = true;
  }
  bool any_marked() const { return any_marked_; }
  // The heads of the marked lines go to activeQ, or to backoffQ if still backing off.
  void MoveMarked(Time now);
  // Marks and moves every line (a test's cluster event that helps every pod).
  void MoveAllUnschedulable(Time now) {
    MarkAll();
    MoveMarked(now);
  }
  // A pod of this template just bound: the next one in its line gets a chance too.
  void MoveNextOfTemplate(uint32_t template_id, Time now);
  // Backed-off pods whose backoff expired go to activeQ; returns the next expiry or kNever.
  Time FlushBackoff(Time now);
  // Heads parked for longer than 5 minutes go back (checked every 30s).
  void FlushUnschedulableLeftover(Time now);
  void Remove(PodId pod);
  int32_t attempts(PodId pod) const { return pod < state_.size() ? state_[pod].attempts : 0; }
  size_t unschedulable_count() const { return unschedulable_count_; }
  bool has_unschedulable() const { return unschedulable_count_ > 0; }

  static constexpr Duration kMaxInUnschedulable = Duration::Minutes(5);

 private:
  enum Where : uint8_t { kNowhere, kActive, kBackoff, kUnschedulable };
  struct PodState {
    Where where = kNowhere;
    int32_t priority = 0;
    int32_t attempts = 0;
    uint32_t generation = 0;  // invalidates stale heap and line entries
    Time timestamp{0};        // queue timestamp (PrioritySort tie-break)
    Time last_attempt{0};
    Time parked_at{0};
    uint64_t rejectors = 0;  // the filter plugins that rejected it last
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
  struct Parked {
    PodId pod;
    uint32_t generation;
  };
  // A FIFO of parked pods that holds no memory while empty (a std::deque allocates even
  // then, and there is a line per template id a run ever had).
  class Line {
   public:
    bool empty() const { return head_ == items_.size(); }
    const Parked& front() const { return items_[head_]; }
    void push_back(Parked p) { items_.push_back(p); }
    void pop_front() {
      if (++head_ == items_.size()) {
        std::vector<Parked>().swap(items_);
        head_ = 0;
      } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
        items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
    }

   private:
    std::vector<Parked> items_;
    size_t head_ = 0;
  };
  PodState& State(PodId pod);
  Time BackoffExpiry(const PodState& s) const;
  void PushActive(PodId pod);
  void PushBackoff(PodId pod);
  // Moves the first live pod of a line out of the unschedulable pool; false if none.
  bool MoveHead(uint32_t template_id, Time now, bool only_if_parked_before, Time before);
  // The first live pod of a line (stale entries dropped); false if none.
  bool Head(uint32_t template_id, PodId* pod);

  Duration initial_backoff_, max_backoff_;
  std::vector<PodState> state_;
  std::vector<ActiveEntry> active_;       // heap
  std::vector<BackoffEntry> backoff_;     // heap
  std::vector<Line> lines_;               // per template id
  std::vector<uint32_t> nonempty_lines_;  // template ids that may hold parked pods
  std::vector<bool> line_listed_;
  std::vector<bool> line_marked_;
  bool any_marked_ = false;
  size_t unschedulable_count_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace gputwin::scheduler
