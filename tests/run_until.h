// Runs a test's event queue by hand: every event up to `until`, then the clock set there.
#pragma once

#include "cluster/store.h"
#include "core/event_queue.h"
#include "core/time.h"

namespace gputwin {

inline void RunUntil(cluster::Store* store, EventQueue* q, Time until) {
  while (!q->empty() && q->top().at <= until) {
    Event e = q->Pop();
    store->set_now(e.at);
    e.handler->OnEvent(e.at, e.arg);
  }
  store->set_now(until);
}

}  // namespace gputwin
