#include "scheduler/plugins/node_unschedulable.h"

#include "cluster/scheduling_helpers.h"

namespace gputwin::scheduler {

NodeUnschedulable::NodeUnschedulable(ReasonTable* reasons)
    : reason_(reasons->Id("node(s) were unschedulable")) {}

std::vector<ClusterEvent> NodeUnschedulable::EventsToRegister() const {
  return {{EventResource::kNode, kAdd | kUpdateNodeSchedulable | kUpdateNodeTaint}};
}

Status NodeUnschedulable::Filter(const CycleState&, const cluster::PodRecord& pod,
                                 const NodeView& node) const {
  static const api::Taint kUnschedulable{"node.kubernetes.io/unschedulable", "", "NoSchedule"};
  if (node.unschedulable &&
      !cluster::TaintToleratedBy(kUnschedulable, pod.tmpl->spec.tolerations)) {
    return Status::Unresolvable(reason_);
  }
  return {};
}

}  // namespace gputwin::scheduler
