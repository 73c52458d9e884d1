#include <gtest/gtest.h>

#include "scheduler/queue.h"
#include "scheduler/scheduler.h"

namespace gputwin::scheduler {
namespace {

// schedule_one.go numFeasibleNodesToFind: minFeasibleNodesToFind = 100,
// adaptive percentage 50 - nodes/125 with a floor of 5%.
TEST(NumFeasibleNodesToFind, UpstreamFormula) {
  EXPECT_EQ(NumFeasibleNodesToFind(0, 50), 50);
  EXPECT_EQ(NumFeasibleNodesToFind(0, 100), 100);    // 50% of 100 is 50, raised to 100
  EXPECT_EQ(NumFeasibleNodesToFind(0, 1000), 420);   // 50 - 8 = 42%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 5000), 500);   // 50 - 40 = 10%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 6000), 300);   // 50 - 48 = 2%, floor 5%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 10000), 500);  // 5%
  EXPECT_EQ(NumFeasibleNodesToFind(30, 1000), 300);
  EXPECT_EQ(NumFeasibleNodesToFind(1, 1000), 100);
  EXPECT_EQ(NumFeasibleNodesToFind(100, 1000), 1000);
}

TEST(SchedulingQueue, PrioritySortThenTimestamp) {
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  q.AddActive(0, 10, Time{100});
  q.AddActive(1, 50, Time{200});
  q.AddActive(2, 10, Time{50});
  q.AddActive(3, 50, Time{100});
  std::vector<cluster::PodId> order;
  cluster::PodId p;
  while (q.PopActive(&p)) order.push_back(p);
  EXPECT_EQ(order, (std::vector<cluster::PodId>{3, 1, 2, 0}));
}

TEST(SchedulingQueue, BackoffDoublesFromOneSecondToTen) {
  // podInitialBackoffSeconds 1, podMaxBackoffSeconds 10: 1s, 2s, 4s, 8s, 10s.
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  Time t{0};
  cluster::PodId p;
  const int64_t want[] = {1, 2, 4, 8, 10, 10};
  for (int64_t expected : want) {
    q.AddUnschedulable(0, /*template_id=*/0, 0, t);
    q.MoveAllUnschedulable(t);  // a cluster event
    EXPECT_FALSE(q.PopActive(&p)) << "still backing off";
    Time next = q.FlushBackoff(t);
    EXPECT_EQ((next - t).ns, Duration::Seconds(expected).ns);
    EXPECT_EQ(q.FlushBackoff(next), cluster::kNever);
    ASSERT_TRUE(q.PopActive(&p));
    t = next;
  }
}

TEST(SchedulingQueue, UnschedulablePodsReturnAfterFiveMinutes) {
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  q.AddUnschedulable(7, 0, 0, Time{0});
  cluster::PodId p;
  q.FlushUnschedulableLeftover(Time{0} + Duration::Minutes(4));
  EXPECT_FALSE(q.PopActive(&p));
  q.FlushUnschedulableLeftover(Time{0} + Duration::Minutes(5));
  ASSERT_TRUE(q.PopActive(&p));
  EXPECT_EQ(p, 7u);
}

TEST(SchedulingQueue, EventsMoveTheHeadOfEachTemplateLine) {
  SchedulingQueue q(Duration::Seconds(1), Duration::Seconds(10));
  for (cluster::PodId p = 0; p < 5; ++p) q.AddUnschedulable(p, p < 3 ? 0 : 1, 0, Time{0});
  EXPECT_EQ(q.unschedulable_count(), 5u);
  Time later = Time{0} + Duration::Minutes(1);
  q.MoveAllUnschedulable(later);
  std::vector<cluster::PodId> moved;
  cluster::PodId p;
  while (q.PopActive(&p)) moved.push_back(p);
  EXPECT_EQ(moved, (std::vector<cluster::PodId>{0, 3}));
  q.MoveNextOfTemplate(0, later);  // pod 0 bound: pod 1 gets its chance
  ASSERT_TRUE(q.PopActive(&p));
  EXPECT_EQ(p, 1u);
  EXPECT_EQ(q.unschedulable_count(), 2u);
}

}  // namespace
}  // namespace gputwin::scheduler
