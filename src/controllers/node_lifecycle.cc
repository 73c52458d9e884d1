#include "controllers/node_lifecycle.h"

#include <algorithm>

#include "cluster/scheduling_helpers.h"

namespace gputwin::controllers {

using cluster::PodPhase;
using cluster::WatchKind;
using cluster::WatchOp;

namespace {
const api::Taint kUnschedulable{"node.kubernetes.io/unschedulable", "", "NoSchedule"};
const api::Taint kUnreachableNoSchedule{"node.kubernetes.io/unreachable", "", "NoSchedule"};
const api::Taint kUnreachableNoExecute{"node.kubernetes.io/unreachable", "", "NoExecute"};
}  // namespace

NodeLifecycleController::NodeLifecycleController(Store* store, EventQueue* queue)
    : Controller("node-lifecycle-controller", store, queue, cluster::Watches({WatchKind::kNode})) {}

void NodeLifecycleController::OnWatch(WatchKind kind, WatchOp, uint32_t id) {
  if (kind != WatchKind::kNode) return;
  dirty_.Add(id);
  RequestReconcile();
}

void NodeLifecycleController::Reconcile(Time now) {
  for (NodeId n : dirty_.Drain()) SyncNode(n, now);
}

void NodeLifecycleController::OnTimer(Time, uint64_t arg) {
  dirty_.Add(static_cast<uint32_t>(arg));
  RequestReconcile();
}

void NodeLifecycleController::SetTaint(NodeId id, const api::Taint& taint, bool present) {
  auto& taints = store_.node(id).obj.taints;
  auto it = std::find_if(taints.begin(), taints.end(), [&](const api::Taint& t) {
    return t.key == taint.key && t.effect == taint.effect;
  });
  if (present == (it != taints.end())) return;
  if (present) {
    taints.push_back(taint);
  } else {
    taints.erase(it);
  }
  store_.UpdateNode(id);
}

void NodeLifecycleController::SyncNode(NodeId id, Time now) {
  auto& node = store_.node(id);
  if (node.deleted) {
    // PodGC: pods bound to a node that no longer exists.
    std::vector<PodId> pods = node.pods;
    for (PodId p : pods) {
      auto& pod = store_.pod(p);
      if (pod.deleted) continue;
      pod.reason = "NodeLost";
      pod.message = "PodGC: node no longer exists";
      pod.disruption_target = "DeletionByPodGC";
      store_.SetPodPhase(p, PodPhase::kFailed);
      store_.DeletePod(p);
    }
    return;
  }
  SetTaint(id, kUnschedulable, store_.node(id).obj.unschedulable);
  auto& n = store_.node(id);
  if (!n.kubelet_posting) {
    Time unknown_at = n.kubelet_stopped_at + kNodeMonitorGracePeriod;
    if (now < unknown_at) {
      At(unknown_at, id);
      return;
    }
    if (n.ready) {
      store_.SetNodeReady(id, false);
      store_.RecordEvent("Normal", "NodeNotReady", "Node", "", n.name(),
                         "Node " + n.name() + " status is now: NodeNotReady", "node-controller");
    }
    SetTaint(id, kUnreachableNoSchedule, true);
    SetTaint(id, kUnreachableNoExecute, true);
  } else {
    if (!n.ready) {
      store_.SetNodeReady(id, true);
      store_.RecordEvent("Normal", "NodeReady", "Node", "", n.name(),
                         "Node " + n.name() + " status is now: NodeReady", "node-controller");
    }
    SetTaint(id, kUnreachableNoSchedule, false);
    SetTaint(id, kUnreachableNoExecute, false);
  }
}

TaintEvictionController::TaintEvictionController(Store* store, EventQueue* queue)
    : Controller("taint-eviction-controller", store, queue,
                 cluster::Watches({WatchKind::kNode, WatchKind::kPod})) {}

void TaintEvictionController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kNode && op == WatchOp::kModified) {
    dirty_nodes_.Add(id);
  } else if (kind == WatchKind::kPod && op == WatchOp::kModified) {
    const auto& p = store_.pod(id);
    if (!p.Bound() || p.Terminal() || p.scheduled_at != store_.now()) return;
    dirty_pods_.Add(id);  // just bound
  } else {
    return;
  }
  RequestReconcile();
}

void TaintEvictionController::Reconcile(Time now) {
  for (NodeId n : dirty_nodes_.Drain()) {
    std::vector<PodId> pods = store_.node(n).pods;
    for (PodId p : pods) ProcessPod(p, now);
  }
  for (PodId p : dirty_pods_.Drain()) ProcessPod(p, now);
}

void TaintEvictionController::ProcessPod(PodId id, Time now) {
  if (generation_.size() <= id) {
    generation_.resize(id + 1, 0);
    scheduled_at_.resize(id + 1, cluster::kNever);
  }
  const auto& p = store_.pod(id);
  if (p.deleted || p.Terminal() || !p.Bound()) return;
  const auto& node = store_.node(p.node);
  const auto& tolerations = p.tmpl->spec->tolerations;
  std::vector<const api::Taint*> no_execute;
  for (const auto& t : node.obj.taints) {
    if (t.effect == "NoExecute") no_execute.push_back(&t);
  }
  if (no_execute.empty()) {
    if (scheduled_at_[id] != cluster::kNever) {
      ++generation_[id];  // taints gone: cancel
      scheduled_at_[id] = cluster::kNever;
    }
    return;
  }
  // getMinTolerationTime over the tolerations used for the NoExecute taints.
  int64_t min_seconds = -1;  // -1: tolerated forever
  for (const auto* taint : no_execute) {
    const api::Toleration* used = nullptr;
    for (const auto& tol : tolerations) {
      if (cluster::ToleratesTaint(tol, *taint)) {
        used = &tol;
        break;
      }
    }
    if (!used) {
      min_seconds = 0;
      break;
    }
    if (used->toleration_seconds) {
      int64_t s = std::max<int64_t>(*used->toleration_seconds, 0);
      min_seconds = min_seconds < 0 ? s : std::min(min_seconds, s);
    }
  }
  if (min_seconds < 0) return;
  Time due = now + Duration::Seconds(min_seconds);
  if (scheduled_at_[id] != cluster::kNever && scheduled_at_[id] <= due) return;
  ++generation_[id];
  scheduled_at_[id] = due;
  At(due, (static_cast<uint64_t>(generation_[id]) << 32) | id);
}

void TaintEvictionController::OnTimer(Time, uint64_t arg) {
  PodId id = static_cast<PodId>(arg & 0xFFFFFFFF);
  if ((arg >> 32) != generation_[id]) return;
  scheduled_at_[id] = cluster::kNever;
  auto& p = store_.pod(id);
  if (p.deleted || p.Terminal()) return;
  store_.RecordEvent("Normal", "TaintManagerEviction", "Pod", p.namespace_, p.name,
                     "Marking for deletion Pod " + p.namespace_ + "/" + p.name, name_);
  p.reason = "DeletionByTaintManager";
  p.disruption_target = "DeletionByTaintManager";
  p.message = "Taint manager: deleting due to NoExecute taint";
  store_.DeletePod(id);
}

}  // namespace gputwin::controllers
