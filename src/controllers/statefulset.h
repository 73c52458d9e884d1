// The StatefulSet controller (pkg/controller/statefulset, stateful_set_control.go): pods
// <name>-<ordinal> for ordinals [ordinals.start, start + replicas), each with the labels
// statefulset.kubernetes.io/pod-name and apps.kubernetes.io/pod-index. OrderedReady (the
// default) creates ordinal i only once every lower one is Running and Ready (and has been
// for minReadySeconds: available), and stops at the first that is not; Parallel creates them all at
// once. A pod that failed or was deleted is replaced under the same name; ordinals beyond replicas
// are deleted, highest first.
#pragma once

#include "cluster/controller.h"

namespace gputwin::controllers {

class StatefulSetController : public cluster::Controller {
 public:
  StatefulSetController(cluster::Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void Sync(uint32_t id, Time now);
  cluster::PodId CreatePod(uint32_t id, int32_t ordinal);
  cluster::WorkQueue dirty_;
};

}  // namespace gputwin::controllers
