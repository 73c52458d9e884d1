// The CronJob controller (pkg/controller/cronjob, cronjob_controllerv2.go, Kubernetes 1.33):
// at each schedule time of spec.schedule (in spec.timeZone, else the controller's UTC) it
// creates a Job <name>-<minutes since the epoch> from jobTemplate, honouring suspend,
// concurrencyPolicy (Allow, Forbid: skip while one runs and start the most recent missed
// time once it ends, if still within startingDeadlineSeconds; Replace: delete the running
// Jobs first), startingDeadlineSeconds, and the successful/failed history limits.
#pragma once

#include <string>
#include <vector>

#include "cluster/controller.h"
#include "core/cron_schedule.h"

namespace gputwin::controllers {

class CronJobController : public cluster::Controller {
 public:
  CronJobController(cluster::Store* store, EventQueue* queue, std::vector<api::CronJob> cron_jobs);
  void Start();
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  struct State {
    api::CronJob spec;
    CronSchedule schedule;
    Time created;
    Time last_schedule_time = cluster::kNever;  // status.lastScheduleTime
    std::vector<uint32_t> jobs;                 // Jobs it created and has not deleted
    int64_t created_jobs = 0, skipped_forbid = 0, missed_deadline = 0;
  };
  const std::vector<State>& cron_jobs() const { return cron_jobs_; }

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void Sync(size_t index, Time now);
  std::string Zone(const State& s) const;
  std::vector<State> cron_jobs_;
  std::vector<size_t> owner_of_job_;  // Job id → CronJob index (+1; 0: none)
  cluster::WorkQueue dirty_;
};

}  // namespace gputwin::controllers
