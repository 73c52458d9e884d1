// The shape every controller in the twin shares, as upstream: an informer's handler that
// only records what changed (the work queue), and a reconcile that runs later on the
// virtual clock and acts through the store. Controllers never call each other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/store.h"
#include "core/event_queue.h"

namespace gputwin::cluster {

class Controller : public EventHandler, public cluster::Watcher {
 public:
  // `watches`: the kinds of objects whose changes reach OnWatch (its informers).
  Controller(std::string name, Store* store, EventQueue* queue,
             cluster::WatchKinds watches = cluster::kAllKinds)
      : name_(std::move(name)), store_(*store), queue_(*queue) {
    store->AddWatcher(this, watches);
  }
  const std::string& name() const { return name_; }

  void OnEvent(Time now, uint64_t arg) override {
    if (arg == kReconcile) {
      reconcile_pending_ = false;
      Reconcile(now);
    } else {
      OnTimer(now, arg);
    }
  }

 protected:
  static constexpr uint64_t kReconcile = ~uint64_t{0};

  // Runs Reconcile at the current instant, once however often it is asked.
  void RequestReconcile() {
    if (reconcile_pending_) return;
    reconcile_pending_ = true;
    queue_.Schedule(store_.now(), this, kReconcile);
  }
  void After(Duration d, uint64_t arg) { queue_.Schedule(store_.now() + d, this, arg); }
  void At(Time t, uint64_t arg) { queue_.Schedule(t, this, arg); }

  virtual void Reconcile(Time now) = 0;
  virtual void OnTimer(Time /*now*/, uint64_t /*arg*/) {}

  std::string name_;
  Store& store_;
  EventQueue& queue_;

 private:
  bool reconcile_pending_ = false;
};

// A set of dirty keys (object ids) kept in first-dirtied order, without duplicates.
class WorkQueue {
 public:
  void Add(uint32_t id) {
    if (id >= queued_.size()) queued_.resize(id + 1, false);
    if (queued_[id]) return;
    queued_[id] = true;
    items_.push_back(id);
  }
  std::vector<uint32_t> Drain() {
    std::vector<uint32_t> out;
    out.swap(items_);
    for (uint32_t id : out) queued_[id] = false;
    return out;
  }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<uint32_t> items_;
  std::vector<bool> queued_;
};

}  // namespace gputwin::cluster
