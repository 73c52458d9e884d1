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
  JobSetController(cluster::Store* store, EventQueue* queue, std::vector<api::JobSet> job_sets);
  void Start();
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  struct ReplicatedJobStatus {
    int32_t ready = 0, succeeded = 0, failed = 0, active = 0, suspended = 0;
  };
  struct Condition {
    Time at;
    std::string type, reason, message;
  };
  struct State {
    api::JobSet spec;
    Time created;
    int32_t restarts = 0, restarts_count_towards_max = 0;
    std::vector<uint32_t> jobs;  // current attempt's Jobs (store ids), by global index
    std::string terminal_state;  // "", Completed or Failed
    Time finished_at = cluster::kNever;
    std::vector<Condition> history;               // conditions as they turned True, in order
    std::vector<ReplicatedJobStatus> replicated;  // per replicatedJob
    uint32_t gang = cluster::kNone;               // its pods' gang (kubelet progress)
    bool startup_completed = false;               // InOrder: every replicatedJob started
    bool deleted = false;
  };
  const std::vector<State>& job_sets() const { return job_sets_; }

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void Sync(size_t index, Time now);
  void SetCondition(State& s, Time now, const std::string& type, const std::string& reason,
                    const std::string& message, bool warning = false);
  void Fail(State& s, Time now, const std::string& reason, const std::string& message);
  // Statuses of the current attempt's Jobs; returns whether every Job counts as started
  // (ready, succeeded or failed) for each replicatedJob.
  void CountStatuses(State& s);
  bool JobReady(uint32_t job) const;
  void CreateJob(size_t index, size_t rjob, int32_t job_index, Time now);
  void DeleteJobs(State& s, bool active_only);
  api::Job ConstructJob(const State& s, size_t rjob, int32_t job_index) const;

  std::vector<State> job_sets_;
  std::vector<uint32_t> owner_of_job_;  // Job id → JobSet index + 1 (0: none)
  cluster::WorkQueue dirty_;
};

}  // namespace gputwin::controllers
