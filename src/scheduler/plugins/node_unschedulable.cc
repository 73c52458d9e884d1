#include "scheduler/plugins/node_unschedulable.h"

#include "cluster/scheduling_helpers.h"
#include "scheduler/node_groups.h"

namespace gputwin::scheduler {

NodeUnschedulable::NodeUnschedulable(ReasonTable* reasons)
    : reason_(reasons->Id("node(s) were unschedulable")) {}

std::vector<ClusterEvent> NodeUnschedulable::EventsToRegister() const {
  return {{EventResource::kNode, kAdd | kUpdateNodeSchedulable | kUpdateNodeTaint}};
}

QueueingHint NodeUnschedulable::Hint(const ClusterEvent&, const EventObject& obj,
                                     const cluster::PodRecord& pod) const {
  // isSchedulableAfterNodeChange: the node takes the pod now and did not before.
  static const api::Taint kUnschedulable{"node.kubernetes.io/unschedulable", "", "NoSchedule"};
  const bool tolerates = cluster::TaintToleratedBy(kUnschedulable, pod.tmpl->spec->tolerations);
  if (obj.node->obj.unschedulable && !tolerates) return QueueingHint::kQueueSkip;
  if (obj.old_node && !obj.old_node->unschedulable) return QueueingHint::kQueueSkip;
  return QueueingHint::kQueue;
}

Status NodeUnschedulable::Filter(const CycleState&, const cluster::PodRecord& pod,
                                 const NodeView& node) const {
  static const api::Taint kUnschedulable{"node.kubernetes.io/unschedulable", "", "NoSchedule"};
  if (node.unschedulable &&
      !cluster::TaintToleratedBy(kUnschedulable, pod.tmpl->spec->tolerations)) {
    return Status::Unresolvable(reason_);
  }
  return {};
}

}  // namespace gputwin::scheduler
