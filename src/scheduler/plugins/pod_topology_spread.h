// PodTopologySpread (plugins/podtopologyspread): spreads the pods a constraint's selector
// matches over the domains of its topologyKey.
// - Filter (whenUnsatisfiable: DoNotSchedule): a node passes when
//   matching pods in its domain + (the pod matches itself) − the global minimum ≤ maxSkew,
//   the minimum being 0 while fewer than minDomains domains exist. Domains and counts come
//   from every node that has all the constraints' keys and passes the inclusion policies
//   (nodeAffinityPolicy Honor by default, nodeTaintsPolicy Ignore). A node without the key:
//   UnschedulableAndUnresolvable "(missing required label)"; too much skew: Unschedulable.
// - Score (ScheduleAnyway, or the cluster defaults for pods without constraints: System
//   defaulting spreads a ReplicaSet's pods over hostnames, maxSkew 3, and zones, maxSkew 5):
//   Σ count × ln(domains + 2) + maxSkew − 1, fewer being better (its NormalizeScore).
// Counts are of pods bound to nodes in the pod's namespace; a constraint whose selector is
// absent or empty counts no pods (countPodsMatchSelector's Empty() check, v1.27 on).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "scheduler/framework.h"
#include "scheduler/profile.h"

namespace gputwin::scheduler {

class PodTopologySpread final : public Plugin, public FilterPlugin, public ScorePlugin {
 public:
  PodTopologySpread(const Handle& handle, PodTopologySpreadArgs args);
  ~PodTopologySpread() override;
  const char* Name() const override { return "PodTopologySpread"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  QueueingHint Hint(const ClusterEvent& event, const EventObject& obj,
                    const cluster::PodRecord& pod) const override;

  Scope FilterScope(const cluster::PodRecord& pod) const override;
  Code PreFilter(CycleState& state, const cluster::PodRecord& pod) override;
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void AddPod(CycleState& state, const cluster::PodRecord& pod, const cluster::PodRecord& other,
              NodeId node) const override;
  void RemovePod(CycleState& state, const cluster::PodRecord& pod, const cluster::PodRecord& other,
                 NodeId node) const override;

  Scope ScoreScope(const cluster::PodRecord& pod) const override;
  Code PreScore(CycleState& state, const cluster::PodRecord& pod,
                const std::vector<NodeId>& feasible) override;
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void NormalizeScore(const CycleState& state, std::vector<int64_t>* scores) const override;
  bool HasNormalizeScore() const override { return true; }

  // One constraint as the plugin applies it to the pods of one template.
  struct Constraint {
    int32_t max_skew = 1;
    uint32_t key = 0;  // TopologyValues key id
    bool hostname = false;
    int32_t min_domains = 1;
    bool honor_affinity = true, honor_taints = false;
    uint32_t matcher = 0;                        // PodCounts matcher of the pods it counts
    std::optional<api::LabelSelector> selector;  // with matchLabelKeys; absent: matches none
    bool self_match = false;
  };
  struct Constraints {
    std::vector<Constraint> hard, soft;
    bool soft_system_defaulted = false;  // soft ones are the System defaults
  };

 private:
  const Constraints& ConstraintsOf(const cluster::PodRecord& pod) const;
  // Whether node n counts for constraint c (the inclusion policies).
  bool Eligible(const Constraint& c, const cluster::PodRecord& pod, NodeId n) const;
  void Update(CycleState& state, const cluster::PodRecord& pod, const cluster::PodRecord& other,
              NodeId node, int64_t delta) const;

  Handle handle_;
  PodTopologySpreadArgs args_;
  uint16_t reason_skew_, reason_missing_;
  mutable std::vector<std::unique_ptr<Constraints>> by_template_;
};

}  // namespace gputwin::scheduler
