// Kubeflow Trainer v2.3's TrainJob controller (pkg/controller/trainjob_controller.go and the
// jobset plugin, pkg/runtime/framework/plugins/jobset): each reconcile
// - leaves a TrainJob managed by another controller (MultiKueue) alone;
// - drops a Failed condition other than DeadlineExceeded;
// - while the TrainJob is not finished, builds its JobSet (trainjob_builder.h) and applies
//   it: created once; rebuilt only while the TrainJob or the JobSet is suspended (the
//   resume edge carries Kueue's runtime patch and the new suspend into it);
// - sets Suspended (True/Suspended "TrainJob is suspended"; False/Resumed "TrainJob is
//   resumed" once it had been suspended; never set for a TrainJob never suspended);
// - copies the JobSet's Completed and Failed conditions as Complete and Failed (reason,
//   message and time as the JobSet has them) and its replicatedJobsStatus as jobsStatus;
// - fails the TrainJob past activeDeadlineSeconds (from creation, or from the resume)
//   with DeadlineExceeded "TrainJob exceeded its active deadline" and deletes the JobSet.
// There is no Created condition (removed before v2.0). The JobSet controller then runs the
// JobSet, whose pods form a gang.
#pragma once

#include <string>
#include <vector>

#include "api/types.h"
#include "cluster/controller.h"

namespace gputwin::controllers {

class TrainJobController : public cluster::Controller {
 public:
  TrainJobController(cluster::Store* store, EventQueue* queue,
                     const std::vector<api::TrainingRuntime>* runtimes);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using Record = cluster::TrainJobRecord;
  void Sync(uint32_t id, Time now);
  void ReconcileObjects(uint32_t id);
  void SetStatus(Record& r);
  void ReconcileDeadline(uint32_t id, Time now);
  static void SetCondition(Record& r, Record::Condition c);

  const std::vector<api::TrainingRuntime>& runtimes_;
  std::vector<uint32_t> owner_of_job_set_;  // JobSet id → TrainJob id + 1 (0: none)
  std::vector<Time> deadline_timer_;        // per TrainJob: the deadline a timer waits for
  cluster::WorkQueue dirty_;
};

}  // namespace gputwin::controllers
