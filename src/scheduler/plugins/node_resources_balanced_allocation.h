// NodeResourcesBalancedAllocation (plugins/noderesources/balanced_allocation.go): favours
// nodes whose cpu and memory would be used in equal fractions after placing the pod.
#pragma once

#include "scheduler/framework.h"

namespace gputwin::scheduler {

class NodeResourcesBalancedAllocation final : public Plugin, public ScorePlugin {
 public:
  explicit NodeResourcesBalancedAllocation(const Handle& handle) : handle_(handle) {}
  const char* Name() const override { return "NodeResourcesBalancedAllocation"; }
  Scope ScoreScope(const cluster::PodRecord&) const override { return Scope::kNode; }
  bool ScoresByRequests() const override { return true; }
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  bool AddNodeScores(const cluster::PodRecord& pod, std::span<const NodeId> nodes, int64_t weight,
                     std::span<int64_t> out) const override;

 private:
  int64_t ScoreNode(const cluster::PodTemplateInfo& t, NodeId n) const;

  Handle handle_;
};

}  // namespace gputwin::scheduler
