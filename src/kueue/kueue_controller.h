// kueue-controller-manager in the twin: the Job webhook and reconciler
// (pkg/controller/jobframework, jobs/job) that turn queue-name Jobs into Workloads,
// suspend them until admitted, inject the flavor's node labels and tolerations on
// admission and suspend them again on eviction; the workload controller's
// waitForPodsReady timeouts and requeue backoff; the queue manager's batched requeue of
// inadmissible workloads; and the scheduler loop. Metrics are sampled on the virtual clock.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/controller.h"
#include "kueue/cache.h"
#include "kueue/kueue_scheduler.h"
#include "telemetry/series.h"

namespace gputwin::kueue {

using telemetry::Histogram;
using telemetry::Series;

class KueueController : public cluster::Controller, public KueueSchedulerActions {
 public:
  KueueController(cluster::Store* store, EventQueue* queue, const api::Manifests& m,
                  Diagnostics* diag, Duration metrics_interval);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;
  void Start();

  const Cache& cache() const { return cache_; }
  const KueueScheduler& scheduler() const { return scheduler_; }
  const std::vector<Series>& series() const { return series_; }
  std::vector<Histogram> histograms() const;
  // The Workload of a Job, or kNoWorkload.
  WorkloadId WorkloadOfJob(uint32_t job) const {
    return job < workload_of_job_.size() ? workload_of_job_[job] : kNoWorkload;
  }

  // KueueSchedulerActions.
  void Admit(WorkloadId wl) override;
  void Evict(WorkloadId victim, const std::string& reason, const std::string& preemption_reason,
             const std::string& message) override;
  bool AllAdmittedPodsReady() const override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  enum Timer : uint64_t { kRequeueTree = 1, kBackoffDone, kPodsReadyTimeout, kSample };
  static uint64_t TimerArg(Timer t, uint64_t payload) { return (uint64_t{t} << 56) | payload; }

  void CreateWorkload(uint32_t job);
  void SyncJob(uint32_t job, Time now);
  void ApplyAdmission(uint32_t job, WorkloadId id);
  void SuspendJob(uint32_t job);
  void ReleaseQuota(WorkloadId id);
  void Requeue(WorkloadId id, Time now);
  void QueueInadmissibleAfter(int32_t cq);
  void RecordHistory(WorkloadId id, const std::string& type, const std::string& reason,
                     const std::string& message);
  void Sample(Time now);
  Histogram& WaitHistogram(std::vector<Histogram>* set, const std::string& name, int32_t cq);

  Cache cache_;
  KueueScheduler scheduler_;
  Duration metrics_interval_;
  const api::Manifests& manifests_;
  std::vector<WorkloadId> workload_of_job_;
  std::vector<api::Job> original_jobs_;  // per workload: the Job as submitted
  cluster::WorkQueue dirty_jobs_;
  bool schedule_requested_ = false;
  std::set<int32_t> requeue_pending_roots_;  // cohort trees with a batched requeue queued
  uint64_t next_uid_ = 1;
  uint64_t admission_seq_ = 0;
  std::map<std::string, size_t> series_index_;
  std::vector<Series> series_;
  std::vector<Histogram> admission_wait_, quota_reserved_wait_;
};

}  // namespace gputwin::kueue
