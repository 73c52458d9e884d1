// The simulation's event queue: a binary heap of plain structs (no allocation per event),
// ordered by time, then by the order events were scheduled, so runs are deterministic.
#pragma once

#include <cstdint>
#include <vector>

#include "core/time.h"

namespace gputwin {

// Something that reacts to its own events (a controller, the kubelet, a generator).
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual void OnEvent(Time now, uint64_t arg) = 0;
};

struct Event {
  Time at;
  uint64_t seq;  // insertion order: the deterministic tie-break
  EventHandler* handler;
  uint64_t arg;
};

class EventQueue {
 public:
  void Schedule(Time at, EventHandler* handler, uint64_t arg) {
    Push(Event{at, next_seq_++, handler, arg});
  }
  // After every other event at the same instant, even those scheduled later (an
  // observer: expectations checked at a time).
  void ScheduleLast(Time at, EventHandler* handler, uint64_t arg) {
    Push(Event{at, kLast + next_last_++, handler, arg});
  }
  bool empty() const { return !has_head_ && heap_.empty(); }
  size_t size() const { return heap_.size() + (has_head_ ? 1 : 0); }
  const Event& top() const { return has_head_ ? head_ : heap_.front(); }
  Event Pop() {
    if (has_head_) {
      has_head_ = false;
      return head_;
    }
    Event e = heap_.front();
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(0);
    return e;
  }

 private:
  static bool Before(const Event& a, const Event& b) {
    return a.at < b.at || (a.at == b.at && a.seq < b.seq);
  }
  // The earliest event may wait outside the heap (head_, never after the heap's top): a
  // handler that schedules its own next event, sooner than anything else (request
  // arrivals), then costs O(1) instead of a sift up and a sift down.
  void Push(const Event& e) {
    if (has_head_) {
      if (Before(e, head_)) {
        HeapPush(head_);
        head_ = e;
      } else {
        HeapPush(e);
      }
    } else if (heap_.empty() || Before(e, heap_.front())) {
      head_ = e;
      has_head_ = true;
    } else {
      HeapPush(e);
    }
  }
  void HeapPush(const Event& e) {
    heap_.push_back(e);
    SiftUp(heap_.size() - 1);
  }
  void SiftUp(size_t i) {
    while (i > 0) {
      size_t parent = (i - 1) / 2;
      if (!Before(heap_[i], heap_[parent])) break;
      std::swap(heap_[i], heap_[parent]);
      i = parent;
    }
  }
  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    for (;;) {
      size_t l = 2 * i + 1, best = i;
      if (l < n && Before(heap_[l], heap_[best])) best = l;
      if (l + 1 < n && Before(heap_[l + 1], heap_[best])) best = l + 1;
      if (best == i) return;
      std::swap(heap_[i], heap_[best]);
      i = best;
    }
  }

  static constexpr uint64_t kLast = uint64_t{1} << 62;
  std::vector<Event> heap_;
  Event head_{};
  bool has_head_ = false;
  uint64_t next_seq_ = 0, next_last_ = 0;
};

}  // namespace gputwin
