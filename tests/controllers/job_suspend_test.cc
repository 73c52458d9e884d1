// The Job controller's suspend semantics, which Kueue relies on (KEP-2232 "Suspend Job";
// JobSpec.activeDeadlineSeconds doc: the timer "will effectively be stopped and reset when
// the Job is resumed"): suspending deletes the active pods without counting them as
// failures and clears startTime; resuming creates pods again and starts the clock anew.
#include <gtest/gtest.h>

#include "controllers/job.h"
#include "tests/run_until.h"

namespace gputwin {
namespace {

TEST(JobSuspend, DeletesPodsWithoutCountingFailuresAndRestartsTheClock) {
  cluster::Store store;
  EventQueue queue;
  controllers::JobController jobs(&store, &queue);
  api::Job j;
  j.metadata.name = "train";
  j.metadata.namespace_ = "default";
  j.parallelism = 2;
  j.completions = 2;
  j.active_deadline_seconds = 600;
  j.template_->spec.restart_policy = "Never";
  api::Container c;
  c.name = "c";
  c.image = "img";
  j.template_->spec.containers.push_back(c);
  store.AddNamespace("default");
  uint32_t id = store.AddJob(j);
  RunUntil(&store, &queue, Time{0});
  ASSERT_EQ(store.jobs()[id].pods.size(), 2u);
  EXPECT_EQ(store.jobs()[id].start_time, Time{0});

  RunUntil(&store, &queue, Time{0} + Duration::Minutes(5));
  store.jobs()[id].obj.suspend = true;
  store.UpdateWorkload(cluster::WatchKind::kJob, id);
  // Past the first deadline (10m): a suspended Job does not fail by it.
  RunUntil(&store, &queue, Time{0} + Duration::Minutes(20));
  EXPECT_TRUE(store.jobs()[id].pods.empty());
  EXPECT_EQ(store.jobs()[id].failed, 0);
  EXPECT_EQ(store.jobs()[id].start_time, cluster::kNever);
  for (cluster::PodId p = 0; p < store.pod_count(); ++p) EXPECT_TRUE(store.pod(p).deleted);
  EXPECT_EQ(store.jobs()[id].condition, "");

  // Resumed at 20m: new pods, and the 10-minute deadline counts from 20m, not from 0.
  store.jobs()[id].obj.suspend = false;
  store.UpdateWorkload(cluster::WatchKind::kJob, id);
  RunUntil(&store, &queue, Time{0} + Duration::Minutes(21));
  EXPECT_EQ(store.jobs()[id].pods.size(), 2u);
  EXPECT_EQ(store.jobs()[id].start_time, Time{0} + Duration::Minutes(20));
  RunUntil(&store, &queue, Time{0} + Duration::Hours(1));
  for (cluster::PodId p : store.jobs()[id].pods) {
    EXPECT_TRUE(store.pod(p).deleted);  // the deadline at 30m ended it
  }
  EXPECT_EQ(store.jobs()[id].condition, "Failed");
  EXPECT_EQ(store.jobs()[id].condition_reason, "DeadlineExceeded");
  EXPECT_EQ(store.jobs()[id].completion_time, Time{0} + Duration::Minutes(30));
  // The two pods the deadline killed count as failed (isPodFailed: a deleted pod that did
  // not succeed); the ones the suspension deleted did not.
  EXPECT_EQ(store.jobs()[id].failed, 2);
}

}  // namespace
}  // namespace gputwin
