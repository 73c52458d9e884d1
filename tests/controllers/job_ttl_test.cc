// The TTL-after-finished controller (pkg/controller/ttlafterfinished; JobSpec
// ttlSecondsAfterFinished: "the Job becomes eligible to be automatically deleted"
// that many seconds after it finishes, its pods with it by cascading deletion).
#include <gtest/gtest.h>

#include "controllers/job.h"
#include "tests/run_until.h"

namespace gputwin {
namespace {

uint32_t AddJob(cluster::Store* store, const std::string& name, std::optional<int64_t> ttl) {
  api::Job j;
  j.metadata.name = name;
  j.metadata.namespace_ = "default";
  j.parallelism = 2;
  j.completions = 2;
  j.ttl_seconds_after_finished = ttl;
  j.template_->spec.restart_policy = "Never";
  api::Container c;
  c.name = "c";
  c.image = "img";
  j.template_->spec.containers.push_back(c);
  return store->AddJob(j);
}

TEST(JobTtlAfterFinished, DeletesTheJobAndItsFinishedPodsAfterTheTtl) {
  cluster::Store store;
  EventQueue queue;
  controllers::JobController jobs(&store, &queue);
  store.AddNamespace("default");
  const uint32_t with_ttl = AddJob(&store, "cleaned", 100);
  const uint32_t without = AddJob(&store, "kept", std::nullopt);
  RunUntil(&store, &queue, Time{0});
  // Both Jobs' pods succeed at 10m: the Jobs complete then.
  for (cluster::PodId p = 0; p < store.pod_count(); ++p) {
    store.SetPodPhase(p, cluster::PodPhase::kRunning);
  }
  RunUntil(&store, &queue, Time{0} + Duration::Minutes(10));
  for (cluster::PodId p = 0; p < store.pod_count(); ++p) {
    store.SetPodPhase(p, cluster::PodPhase::kSucceeded);
  }
  RunUntil(&store, &queue, Time{0} + Duration::Minutes(10));
  ASSERT_EQ(store.jobs()[with_ttl].condition, "Complete");
  // 99 s after: still there; at 100 s the Job and its two finished pods are gone.
  RunUntil(&store, &queue, Time{0} + Duration::Minutes(10) + Duration::Seconds(99));
  EXPECT_FALSE(store.jobs()[with_ttl].deleted);
  RunUntil(&store, &queue, Time{0} + Duration::Minutes(10) + Duration::Seconds(100));
  EXPECT_TRUE(store.jobs()[with_ttl].deleted);
  int deleted = 0, kept = 0;
  for (cluster::PodId p = 0; p < store.pod_count(); ++p) {
    const auto& pod = store.pod(p);
    if (pod.owner.index == with_ttl) deleted += pod.deleted ? 1 : 0;
    if (pod.owner.index == without) kept += pod.deleted ? 0 : 1;
  }
  EXPECT_EQ(deleted, 2);
  // Without a TTL, the Job and its Succeeded pods stay.
  EXPECT_EQ(kept, 2);
  RunUntil(&store, &queue, Time{0} + Duration::Hours(24));
  EXPECT_FALSE(store.jobs()[without].deleted);
}

}  // namespace
}  // namespace gputwin
