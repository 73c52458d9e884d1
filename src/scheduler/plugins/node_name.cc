#include "scheduler/plugins/node_name.h"

#include "cluster/objects.h"

namespace gputwin::scheduler {

NodeName::NodeName(ReasonTable* reasons)
    : reason_(reasons->Id("node(s) didn't match the requested node name")) {}

std::vector<ClusterEvent> NodeName::EventsToRegister() const {
  return {{EventResource::kNode, kAdd}};
}

QueueingHint NodeName::Hint(const ClusterEvent&, const EventObject& obj,
                            const cluster::PodRecord& pod) const {
  return obj.node->name() == pod.tmpl->spec->node_name ? QueueingHint::kQueue
                                                       : QueueingHint::kQueueSkip;
}

Scope NodeName::FilterScope(const cluster::PodRecord& pod) const {
  return pod.tmpl->spec->node_name.empty() ? Scope::kSkip : Scope::kNode;
}

Status NodeName::Filter(const CycleState&, const cluster::PodRecord& pod,
                        const NodeView& node) const {
  const std::string& want = pod.tmpl->spec->node_name;
  if (!want.empty() && want != node.NodeName()) return Status::Unresolvable(reason_);
  return {};
}

}  // namespace gputwin::scheduler
