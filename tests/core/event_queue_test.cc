#include <gtest/gtest.h>

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
