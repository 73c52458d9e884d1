// TaintToleration (plugins/tainttoleration): Filter rejects a node with a NoSchedule or
// NoExecute taint the pod does not tolerate (reason names the first such taint); Score
// counts the PreferNoSchedule taints it does not tolerate, fewer being better
// (DefaultNormalizeScore reversed).
#pragma once

#include "scheduler/framework.h"

namespace gputwin::scheduler {

class TaintToleration final : public Plugin, public FilterPlugin, public ScorePlugin {
 public:
  explicit TaintToleration(ReasonTable* reasons) : reasons_(*reasons) {}
  const char* Name() const override { return "TaintToleration"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  QueueingHint Hint(const ClusterEvent& event, const EventObject& obj,
                    const cluster::PodRecord& pod) const override;
  Scope FilterScope(const cluster::PodRecord&) const override { return Scope::kGroup; }
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  bool Passes(const CycleState& state, const cluster::PodRecord& pod,
              const NodeView& node) const override;
  Scope ScoreScope(const cluster::PodRecord&) const override { return Scope::kGroup; }
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void NormalizeScore(const CycleState&, std::vector<int64_t>* scores) const override {
    DefaultNormalizeScore(true, scores);
  }
  bool HasNormalizeScore() const override { return true; }

 private:
  const api::Taint* Untolerated(const cluster::PodRecord& pod, const NodeView& node) const;
  ReasonTable& reasons_;
};

}  // namespace gputwin::scheduler
