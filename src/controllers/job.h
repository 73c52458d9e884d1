// The Job controller (pkg/controller/job, Kubernetes 1.33): keeps min(parallelism,
// remaining completions) pods active, counts successes and failures (a deleted pod that
// had not succeeded ends Failed), matches failures against spec.podFailurePolicy (FailJob,
// Ignore, Count, FailIndex), gives each index its own budget with backoffLimitPerIndex,
// recreates failed pods with the pod failure backoff (10s doubling, at most 10m), and ends
// the Job Complete (completions or successPolicy), or Failed with PodFailurePolicy,
// BackoffLimitExceeded, DeadlineExceeded, MaxFailedIndexesExceeded or FailedIndexes.
#pragma once

#include "cluster/controller.h"

namespace gputwin::controllers {

using cluster::Controller;
using cluster::NodeId;
using cluster::PodId;
using cluster::Store;
using cluster::WorkQueue;

class JobController : public Controller {
 public:
  JobController(Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  static constexpr Duration kPodFailureBackoff = Duration::Seconds(10);
  static constexpr Duration kMaxPodFailureBackoff = Duration::Minutes(10);

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void Sync(uint32_t id, Time now);
  void Finish(uint32_t id, const std::string& condition, const std::string& reason,
              const std::string& message, Time now);
  void CreatePod(uint32_t id, int32_t index);
  // The TTL-after-finished controller: the Job and its pods deleted ttl after it finished.
  void DeleteExpired(uint32_t id);
  static constexpr uint64_t kTtlTimer = uint64_t{1} << 32;
  WorkQueue dirty_;
  std::vector<int32_t> failures_since_success_;
  std::vector<bool> deadline_armed_;
};

}  // namespace gputwin::controllers
