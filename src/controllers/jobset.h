// The JobSet controller (kubernetes-sigs/jobset v0.12, pkg/controllers/jobset_controller.go):
// Jobs <jobset>-<replicatedJob>-<index> from each replicatedJob's template, labelled as
// upstream labels them; startupPolicy InOrder and dependsOn; suspend and resume; the
// success policy (All or Any of the targeted Jobs complete: the JobSet completes and its
// active Jobs are deleted); the failure policy (no policy: the first failed Job fails the
// JobSet; rules matched on the Job's failure reason, message and replicatedJob, actions
// FailJobSet, RestartJobSet (counted against maxRestarts), RestartJobSetAndIgnoreMaxRestarts;
// a restart deletes every Job and creates them again with the next restart-attempt);
// exclusive placement per topology domain; ttlSecondsAfterFinished.
//
// Its pods form one gang (gputwin.io/gang, default on): the kubelet advances their work
// only while every pod of the JobSet runs, as a distributed training job's collectives do.
#pragma once

#include <string>
#include <vector>

#include "cluster/controller.h"

namespace gputwin::controllers {

class JobSetController : public cluster::Controller {
 public:
  JobSetController(cluster::Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using State = cluster::JobSetRecord;
  void Sync(uint32_t id, Time now);
  void SetCondition(State& s, Time now, const std::string& type, const std::string& reason,
                    const std::string& message, bool warning = false);
  void Fail(State& s, Time now, const std::string& reason, const std::string& message);
  // The current attempt's Jobs counted per replicatedJob (status.replicatedJobsStatus).
  void CountStatuses(State& s);
  bool JobReady(uint32_t job) const;
  void CreateJob(uint32_t id, size_t rjob, int32_t job_index);
  void DeleteJobs(State& s, bool active_only);
  // Suspends the active Jobs, or resumes the suspended ones of a replicatedJob with its
  // template's scheduling fields (what Kueue set) merged in.
  void SuspendJobs(State& s);
  void ResumeJobs(State& s, size_t rjob);
  api::Job ConstructJob(const State& s, size_t rjob, int32_t job_index) const;

  std::vector<uint32_t> owner_of_job_;  // Job id → JobSet id + 1 (0: none)
  cluster::WorkQueue dirty_;
};

}  // namespace gputwin::controllers
