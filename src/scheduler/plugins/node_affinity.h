// NodeAffinity (plugins/nodeaffinity): Filter requires spec.nodeSelector and one of the
// required node-affinity terms (and, for a DaemonSet's pod, its node, as the DaemonSet
// controller's matchFields term does); Score sums the weights of the preferred terms the
// node matches (DefaultNormalizeScore).
#pragma once

#include "scheduler/framework.h"

namespace gputwin::scheduler {

class NodeAffinity final : public Plugin, public FilterPlugin, public ScorePlugin {
 public:
  NodeAffinity(ReasonTable* reasons, const cluster::Store* store);
  const char* Name() const override { return "NodeAffinity"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  QueueingHint Hint(const ClusterEvent& event, const EventObject& obj,
                    const cluster::PodRecord& pod) const override;
  // kNode when a term names nodes (matchFields, kubernetes.io/hostname) or the pod is a
  // DaemonSet's; else kGroup.
  Scope FilterScope(const cluster::PodRecord& pod) const override;
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  bool Passes(const CycleState& state, const cluster::PodRecord& pod,
              const NodeView& node) const override;
  Scope ScoreScope(const cluster::PodRecord& pod) const override;
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void NormalizeScore(const CycleState&, std::vector<int64_t>* scores) const override {
    DefaultNormalizeScore(false, scores);
  }
  bool HasNormalizeScore() const override { return true; }

  // Whether the pod's node selection names nodes (so it cannot be judged per group).
  static bool NamesNodes(const cluster::PodRecord& pod);

 private:
  uint16_t reason_;
  const cluster::Store& store_;
};

}  // namespace gputwin::scheduler
