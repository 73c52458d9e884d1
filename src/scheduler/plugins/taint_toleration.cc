#include "scheduler/plugins/taint_toleration.h"

#include <algorithm>

#include "cluster/scheduling_helpers.h"
#include "scheduler/node_groups.h"

namespace gputwin::scheduler {

std::vector<ClusterEvent> TaintToleration::EventsToRegister() const {
  return {{EventResource::kNode, kAdd | kUpdateNodeTaint}};
}

QueueingHint TaintToleration::Hint(const ClusterEvent&, const EventObject& obj,
                                   const cluster::PodRecord& pod) const {
  // isSchedulableAfterNodeChange: the node had an untolerated taint (a new node counts as
  // having had one) and has none now.
  const auto& tolerations = pod.tmpl->spec->tolerations;
  const bool was =
      !obj.old_node || cluster::FindUntoleratedTaint(obj.old_node->taints, tolerations, true, true);
  const bool is = cluster::FindUntoleratedTaint(obj.node->obj.taints, tolerations, true, true);
  return was && !is ? QueueingHint::kQueue : QueueingHint::kQueueSkip;
}

const api::Taint* TaintToleration::Untolerated(const cluster::PodRecord& pod,
                                               const NodeView& node) const {
  const auto& tolerations = pod.tmpl->spec->tolerations;
  if (!node.ignored_taints || node.ignored_taints->empty()) {
    return cluster::FindUntoleratedTaint(*node.taints, tolerations, true, true);
  }
  for (const auto& t : *node.taints) {
    if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
    if (std::find(node.ignored_taints->begin(), node.ignored_taints->end(), t) !=
        node.ignored_taints->end()) {
      continue;
    }
    if (!cluster::TaintToleratedBy(t, tolerations)) return &t;
  }
  return nullptr;
}

Status TaintToleration::Filter(const CycleState&, const cluster::PodRecord& pod,
                               const NodeView& node) const {
  if (const api::Taint* t = Untolerated(pod, node)) {
    return Status::Unresolvable(
        reasons_.Id("node(s) had untolerated taint {" + t->key + ": " + t->value + "}"));
  }
  return {};
}

bool TaintToleration::Passes(const CycleState&, const cluster::PodRecord& pod,
                             const NodeView& node) const {
  return Untolerated(pod, node) == nullptr;
}

int64_t TaintToleration::Score(const CycleState&, const cluster::PodRecord& pod,
                               const NodeView& node) const {
  // PreferNoSchedule taints not tolerated by tolerations with an empty or
  // PreferNoSchedule effect.
  int64_t count = 0;
  for (const auto& t : *node.taints) {
    if (t.effect != "PreferNoSchedule") continue;
    bool tolerated = false;
    for (const auto& tol : pod.tmpl->spec->tolerations) {
      if ((tol.effect.empty() || tol.effect == "PreferNoSchedule") &&
          cluster::ToleratesTaint(tol, t)) {
        tolerated = true;
        break;
      }
    }
    if (!tolerated) ++count;
  }
  return count;
}

}  // namespace gputwin::scheduler
