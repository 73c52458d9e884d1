// The LeaderWorkerSet controller (kubernetes-sigs/lws v0.7: pkg/controllers/
// leaderworkerset_controller.go, pod_controller.go, pkg/webhooks/pod_webhook.go), with the
// StatefulSets it drives folded in: the leader StatefulSet <lws> (Parallel) keeps a leader
// pod <lws>-<i> per group; once a leader exists (startupPolicy LeaderCreated) or is Ready
// (LeaderReady), the worker StatefulSet <lws>-<i> (Parallel, owned by the leader pod) keeps
// its workers <lws>-<i>-<j>, j in [1, size). Pods carry the labels the pod webhook adds
// (name, group-index, group-key, worker-index) and the size annotation.
//
// restartPolicy RecreateGroupOnPodRestart (the default): a group pod whose container
// restarted or that was deleted (a failed pod is deleted by its StatefulSet) makes the
// controller delete the group's leader; the garbage collector then deletes the worker
// StatefulSet and its pods, and the group comes back whole. None: only the pod is replaced.
// exclusive-topology: leaders repel other groups' leaders and attract nothing else per
// topology domain; workers are pinned to their leader's domain with a nodeSelector.
// Status: readyReplicas (leader Running and Ready, every worker created), the Available or
// Progressing condition and its event.
#pragma once

#include <string>

#include "cluster/controller.h"

namespace gputwin::controllers {

class LeaderWorkerSetController : public cluster::Controller {
 public:
  LeaderWorkerSetController(cluster::Store* store, EventQueue* queue);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;

 private:
  using Record = cluster::LeaderWorkerSetRecord;
  void Sync(uint32_t id, Time now);
  // handleRestartPolicy: true when the group's leader was deleted to recreate the group.
  bool HandleRestartPolicy(uint32_t id, size_t group);
  // The garbage collector removing a deleted leader's worker StatefulSet and its pods.
  void DeleteWorkers(uint32_t id, size_t group);
  void CreateLeader(uint32_t id, size_t group);
  void CreateWorkerStatefulSet(uint32_t id, size_t group);
  cluster::PodId CreatePod(uint32_t id, size_t group, int32_t worker);
  void UpdateStatus(uint32_t id, Time now);

  cluster::WorkQueue dirty_;
};

}  // namespace gputwin::controllers
