// Node lifecycle (pkg/controller/nodelifecycle) and the taint-eviction controller
// (pkg/controller/tainteviction), plus PodGC's orphan clean-up:
// - a node whose kubelet stops posting status turns Ready=Unknown after
//   node-monitor-grace-period (50s) and gets node.kubernetes.io/unreachable NoSchedule and
//   NoExecute taints; they go when it posts again;
// - spec.unschedulable (cordon) is mirrored as node.kubernetes.io/unschedulable:NoSchedule;
// - pods that do not tolerate a NoExecute taint are deleted at once, tolerating pods after
//   the smallest tolerationSeconds (pods get 300s for not-ready/unreachable by default);
// - pods bound to a deleted node are marked Failed and deleted (PodGC).
#pragma once

#include "cluster/controller.h"

namespace gputwin::controllers {

using cluster::Controller;
using cluster::NodeId;
using cluster::PodId;
using cluster::Store;
using cluster::WorkQueue;

class NodeLifecycleController : public Controller {
 public:
  NodeLifecycleController(Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

  static constexpr Duration kNodeMonitorGracePeriod = Duration::Seconds(50);

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void SyncNode(NodeId id, Time now);
  void SetTaint(NodeId id, const api::Taint& taint, bool present);
  WorkQueue dirty_;
};

class TaintEvictionController : public Controller {
 public:
  TaintEvictionController(Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void ProcessPod(PodId pod, Time now);
  WorkQueue dirty_nodes_, dirty_pods_;
  std::vector<uint32_t> generation_;  // per pod: invalidates scheduled evictions
  std::vector<Time> scheduled_at_;    // per pod: when its eviction is due (kNever: none)
};

}  // namespace gputwin::controllers
