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
  // What a DaemonSet's sync needs to look at again. Upstream's syncDaemonSet walks every
  // node; the outcome is the same if only the nodes whose state changed since the last sync
  // are visited (a node came, went or changed; its daemon pod ended), so a cluster with
  // node churn does not pay a walk of every node it ever had per node event.
  struct Dirty {
    bool full = true;            // the DaemonSet itself changed, or never synced
    WorkQueue nodes;             // else: these nodes
    std::vector<PodId> on_node;  // its live pod by NodeId (kNone: none)
    std::vector<NodeId> failed;  // nodes whose pod creation failed: retried on any change
  };
  // Its pods and nodes: all of them after a change of the DaemonSet, else the dirty nodes.
  void Sync(uint32_t ds);
  bool ShouldRun(uint32_t ds, NodeId node) const;
  // Creates the DaemonSet's pod for node n; false (and a FailedCreate event) if refused.
  bool CreateDaemonPod(uint32_t ds, NodeId n, PodId* created);
  Dirty& StateOf(uint32_t ds);
  bool all_dirty_ = false;
  WorkQueue dirty_;  // DaemonSets to sync, in the order they were touched
  std::vector<Dirty> state_;
};

}  // namespace gputwin::controllers
