// The training operator's PyTorchJob controller (kubeflow/training-operator v1.9,
// pkg/controller.v1/pytorch and pkg/controller.v1/common/job.go): pods <job>-master-0 and
// <job>-worker-<i> created at once with the operator's labels; replica restart policies
// (OnFailure and Always restart in place; a Failed pod is deleted and recreated; ExitCode
// recreates on codes >= 128 and fails the job below); runPolicy's backoffLimit (restarts of
// Running pods, as upstream counts them), activeDeadlineSeconds (checked when a reconcile
// runs, as upstream has no timer for it), cleanPodPolicy, suspend and
// ttlSecondsAfterFinished; conditions Created, Running, Restarting, Succeeded (the Master
// succeeded, or every Worker without one), Failed, Suspended. Its pods form one gang.
#pragma once

#include <string>
#include <vector>

#include "cluster/controller.h"

namespace gputwin::controllers {

class PyTorchJobController : public cluster::Controller {
 public:
  PyTorchJobController(cluster::Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  using Record = cluster::PyTorchJobRecord;
  void Sync(uint32_t id, Time now);
  void SetCondition(Record& r, Time now, const std::string& type, const std::string& reason,
                    const std::string& message, bool warning = false);
  void CountStatuses(Record& r) const;
  void DeletePods(Record& r, bool running_or_pending_only);
  void CreatePod(uint32_t id, size_t type, int32_t index);
  cluster::WorkQueue dirty_;
};

}  // namespace gputwin::controllers
