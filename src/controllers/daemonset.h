// The DaemonSet controller (pkg/controller/daemon): one pod on every node the template's
// node selector, affinity and NoSchedule/NoExecute taints allow (NodeShouldRunDaemonPod).
// Its pods carry node affinity on the node's name and are placed by the scheduler.
#pragma once

#include "cluster/controller.h"

namespace gputwin::controllers {

using cluster::Controller;
using cluster::NodeId;
using cluster::PodId;
using cluster::Store;
using cluster::WorkQueue;

class DaemonSetController : public Controller {
 public:
  DaemonSetController(Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;

 private:
  void Sync(uint32_t ds);
  bool ShouldRun(uint32_t ds, NodeId node) const;
  bool all_dirty_ = false;
  WorkQueue dirty_;
};

}  // namespace gputwin::controllers
