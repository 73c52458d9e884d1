// NodeUnschedulable (plugins/nodeunschedulable): a cordoned node (spec.unschedulable)
// takes only pods that tolerate node.kubernetes.io/unschedulable:NoSchedule.
#pragma once

#include "scheduler/framework.h"

namespace gputwin::scheduler {

class NodeUnschedulable final : public Plugin, public FilterPlugin {
 public:
  explicit NodeUnschedulable(ReasonTable* reasons);
  const char* Name() const override { return "NodeUnschedulable"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  QueueingHint Hint(const ClusterEvent& event, const EventObject& obj,
                    const cluster::PodRecord& pod) const override;
  Scope FilterScope(const cluster::PodRecord&) const override { return Scope::kGroup; }
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;

 private:
  uint16_t reason_;
};

}  // namespace gputwin::scheduler
