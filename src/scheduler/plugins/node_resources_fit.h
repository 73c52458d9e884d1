// NodeResourcesFit (plugins/noderesources/fit.go): Filter rejects a node without room for
// the pod's requests (one more pod, and every requested resource: "Too many pods",
// "Insufficient <resource>"): Unschedulable, so preemption may help, unless some request
// is more than the node's allocatable, which even an empty node could not give:
// UnschedulableAndUnresolvable (fitsRequest's InsufficientResource.Unresolvable, since
// kubernetes v1.34, PR #131345); Score by the
// scoring strategy: LeastAllocated, MostAllocated or RequestedToCapacityRatio over the
// configured resources (NonZeroRequested for cpu and memory).
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "scheduler/framework.h"

namespace gputwin::scheduler {

enum class ScoringStrategy { kLeastAllocated, kMostAllocated, kRequestedToCapacityRatio };

struct NodeResourcesFitArgs {
  ScoringStrategy strategy = ScoringStrategy::kLeastAllocated;
  std::vector<api::ScoringResource> resources = {{"cpu", 1}, {"memory", 1}};
  std::vector<api::UtilizationShapePoint> shape;
};

class NodeResourcesFit final : public Plugin, public FilterPlugin, public ScorePlugin {
 public:
  // The pod's non-zero requests but pods, in resource order.
  using Requests = std::vector<std::pair<ResourceId, int64_t>>;

  NodeResourcesFit(const Handle& handle, NodeResourcesFitArgs args, cluster::ResourceRegistry* reg);
  const char* Name() const override { return "NodeResourcesFit"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  QueueingHint Hint(const ClusterEvent& event, const EventObject& obj,
                    const cluster::PodRecord& pod) const override;
  Scope FilterScope(const cluster::PodRecord&) const override { return Scope::kNode; }
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  bool Passes(const CycleState& state, const cluster::PodRecord& pod,
              const NodeView& node) const override;
  void Diagnose(const CycleState& state, const cluster::PodRecord& pod, const NodeView& node,
                std::vector<uint16_t>* reasons) const override;
  Scope ScoreScope(const cluster::PodRecord&) const override { return Scope::kNode; }
  bool ScoresByRequests() const override { return true; }
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  bool AddNodeScores(const cluster::PodRecord& pod, std::span<const NodeId> nodes, int64_t weight,
                     std::span<int64_t> out) const override;

  const Requests& RequestsOf(const cluster::PodTemplateInfo& t) const;
  // Some request is over the node's allocatable: preemption cannot help there.
  bool ExceedsAllocatable(const cluster::PodRecord& pod, const NodeView& node) const;
  // The scheduler's hot loop: the node's row of free amounts (allocatable - requested)
  // of the flat NodeInfo cache.
  static bool Fits(const Requests& requests, const int64_t* free, size_t stride) {
    if (free[cluster::kPods] < 1) return false;
    for (const auto& [r, amount] : requests) {
      if (r >= stride || amount > free[r]) return false;
    }
    return true;
  }

 private:
  Handle handle_;
  NodeResourcesFitArgs args_;
  int64_t ScoreNode(const cluster::PodTemplateInfo& t, NodeId n) const;

  std::vector<ResourceId> scoring_ids_;
  std::vector<bool> scalar_;  // per scoring resource: an extended (scalar) resource
  uint16_t too_many_pods_;
  mutable std::vector<uint16_t> insufficient_;               // per resource: "Insufficient <name>"
  mutable std::vector<std::unique_ptr<Requests>> requests_;  // per template id
};

}  // namespace gputwin::scheduler
