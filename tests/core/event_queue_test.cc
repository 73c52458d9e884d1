#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

#include "core/event_queue.h"
#include "core/random.h"

namespace gputwin {
namespace {

struct Recorder : EventHandler {
  std::vector<uint64_t> seen;
  void OnEvent(Time, uint64_t arg) override { seen.push_back(arg); }
};

TEST(EventQueue, OrdersByTimeThenInsertion) {
  EventQueue q;
  Recorder r;
  q.Schedule(Time{20}, &r, 1);
  q.Schedule(Time{10}, &r, 2);
  q.Schedule(Time{20}, &r, 3);
  q.Schedule(Time{10}, &r, 4);
  q.Schedule(Time{5}, &r, 5);
  while (!q.empty()) {
    Event e = q.Pop();
    e.handler->OnEvent(e.at, e.arg);
  }
  EXPECT_EQ(r.seen, (std::vector<uint64_t>{5, 2, 4, 1, 3}));
}

// The order holds whatever the interleaving of pushes and pops, including the fast path
// for an event sooner than everything queued.
TEST(EventQueue, PopsInTimeThenSchedulingOrderUnderRandomInterleaving) {
  std::mt19937_64 rng(11);
  EventQueue q;
  std::set<std::tuple<int64_t, int, uint64_t>> want;  // (time, last?, order)
  uint64_t order = 0, last_order = 0;
  int64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 6 || want.empty()) {
      // Mostly soon (the arrival pattern), sometimes far, sometimes at the same instant.
      const int64_t at = now + (op < 3 ? 0 : op < 5 ? int64_t(rng() % 5) : int64_t(rng() % 1000));
      if (op == 5 && rng() % 4 == 0) {
        q.ScheduleLast(Time{at}, nullptr, 1'000'000 + last_order);
        want.insert({at, 1, last_order++});
      } else {
        q.Schedule(Time{at}, nullptr, order);
        want.insert({at, 0, order++});
      }
    } else {
      ASSERT_FALSE(q.empty());
      const Event e = q.Pop();
      const auto [at, last, n] = *want.begin();
      want.erase(want.begin());
      ASSERT_EQ(e.at.ns, at);
      ASSERT_EQ(e.arg, last ? 1'000'000 + n : n);
      now = at;
    }
    ASSERT_EQ(q.size(), want.size());
  }
}

TEST(RandomStream, StreamsAreIndependentPerComponent) {
  RandomStream a1(7, "default-scheduler"), a2(7, "default-scheduler");
  RandomStream other(7, "workload/web");
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a1.Next();
    EXPECT_EQ(x, a2.Next());
    (void)other.Next();  // drawing from another stream changes nothing here
  }
  RandomStream b(8, "default-scheduler");
  RandomStream c(7, "default-scheduler");
  EXPECT_NE(b.Next(), c.Next());
}

TEST(RandomStream, BelowAndExponentialAreInRange) {
  RandomStream r(1, "t");
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    EXPECT_LT(r.Below(7), 7u);
    sum += r.Exponential(2.0);
  }
  EXPECT_NEAR(sum / 20000, 2.0, 0.1);
}

}  // namespace
}  // namespace gputwin
