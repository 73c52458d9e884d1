// Deployment and ReplicaSet controllers (pkg/controller/deployment, pkg/controller/replicaset):
// a Deployment owns one ReplicaSet named <deployment>-<pod-template-hash>; the ReplicaSet
// keeps `replicas` active pods, recreating any that are deleted or fail.
#pragma once

#include "cluster/controller.h"

namespace gputwin::controllers {

using cluster::Controller;
using cluster::NodeId;
using cluster::PodId;
using cluster::Store;
using cluster::WorkQueue;

class ReplicaSetController : public Controller {
 public:
  ReplicaSetController(Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void SyncDeployment(uint32_t id);
  void SyncReplicaSet(uint32_t id);
  WorkQueue deployments_, replica_sets_;
  std::vector<int32_t> create_failures_;  // per ReplicaSet, for the retry backoff
};

}  // namespace gputwin::controllers
