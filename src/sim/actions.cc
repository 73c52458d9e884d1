// The scenario's actions, carried out at their times as an operator with kubectl would:
// every change is written through the store, where the controllers see it.
#include <algorithm>

#include "core/glob.h"
#include "sim/drivers.h"
#include "sim/simulation.h"

namespace gputwin::sim {

std::string ObjKey(const api::ObjectMeta& m) {
  return m.namespace_ + "/" + m.name;
}

void ActionRunner::OnEvent(Time now, uint64_t arg) {
  const auto& a = sim_.scenario_.actions[arg];
  auto& store = sim_.store_;
  (void)now;
  if (a.action == "scale") {
    // `kubectl scale deployment`: spec.replicas, written through the API server.
    for (uint32_t i = 0; i < store.deployments().size(); ++i) {
      auto& d = store.deployments()[i];
      if (d.obj.metadata.name == a.target || ObjKey(d.obj.metadata) == a.target) {
        d.obj.replicas = a.replicas;
        store.UpdateWorkload(cluster::WatchKind::kDeployment, i);
      }
    }
    return;
  }
  if (a.action == "delete-pod" || a.action == "remove-scheduling-gate") {
    std::string ns = "default", name = a.target;
    if (auto slash = a.target.find('/'); slash != std::string::npos) {
      ns = a.target.substr(0, slash);
      name = a.target.substr(slash + 1);
    }
    // A glob deletes every live pod it matches, like `kubectl delete pod` on a list.
    for (cluster::PodId p = 0; p < store.pod_count(); ++p) {
      const auto& pod = store.pod(p);
      if (pod.deleted || pod.namespace_ != ns || !Glob(name.c_str(), pod.name.c_str())) continue;
      if (a.action == "delete-pod") {
        store.DeletePod(p);
      } else {
        store.RemoveSchedulingGates(p, a.gate);  // as the controller that owns the gate would
      }
    }
    return;
  }
  cluster::NodeId n = store.FindNode(a.target);
  if (n == cluster::kNone) return;  // already deleted
  auto& node = store.node(n);
  if (a.action == "cordon" || a.action == "uncordon") {
    node.obj.unschedulable = a.action == "cordon";
    store.UpdateNode(n);
  } else if (a.action == "drain") {
    // kubectl drain --ignore-daemonsets: cordon, then evict every other pod.
    node.obj.unschedulable = true;
    store.UpdateNode(n);
    std::vector<cluster::PodId> pods = store.node(n).pods;
    for (cluster::PodId p : pods) {
      auto& pod = store.pod(p);
      if (pod.owner.kind == cluster::OwnerKind::kDaemonSet) continue;
      pod.reason = "Evicted";
      pod.message = "Evicted by kubectl drain " + a.target;
      pod.disruption_target = "EvictionByEvictionAPI";
      store.DeletePod(p);
    }
  } else if (a.action == "node-not-ready") {
    node.kubelet_posting = false;
    node.kubelet_stopped_at = store.now();
    store.UpdateNode(n);
  } else if (a.action == "node-ready") {
    node.kubelet_posting = true;
    store.UpdateNode(n);
  } else if (a.action == "delete-node") {
    store.DeleteNode(n);
  } else if (a.action == "taint" || a.action == "untaint") {
    auto& taints = node.obj.taints;
    auto it = std::find_if(taints.begin(), taints.end(), [&](const api::Taint& t) {
      return t.key == a.taint.key && t.effect == a.taint.effect;
    });
    if (it != taints.end()) taints.erase(it);
    if (a.action == "taint") taints.push_back(a.taint);
    store.UpdateNode(n);
  }
}

}  // namespace gputwin::sim
