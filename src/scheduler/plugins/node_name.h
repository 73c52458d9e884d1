// NodeName (plugins/nodename): a pod with spec.nodeName fits only that node. (Such pods
// skip the scheduler in the twin, as the kubelet takes them; the filter serves preemption
// and simulations that ask.)
#pragma once

#include "scheduler/framework.h"

namespace gputwin::scheduler {

class NodeName final : public Plugin, public FilterPlugin {
 public:
  explicit NodeName(ReasonTable* reasons);
  const char* Name() const override { return "NodeName"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  QueueingHint Hint(const ClusterEvent& event, const EventObject& obj,
                    const cluster::PodRecord& pod) const override;
  Scope FilterScope(const cluster::PodRecord& pod) const override;
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;

 private:
  uint16_t reason_;
};

}  // namespace gputwin::scheduler
