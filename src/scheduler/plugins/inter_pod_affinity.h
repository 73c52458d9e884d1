// InterPodAffinity (plugins/interpodaffinity): pods that want to be near or away from
// other pods, per topology domain (the value of the term's topologyKey).
// - Filter, in order: every required affinity term has a matching pod in the node's
//   domain (or no pod anywhere matches them and the pod matches them itself: the first pod
//   of a group), UnschedulableAndUnresolvable "node(s) didn't match pod affinity rules";
//   no pod a required anti-affinity term matches is in the domain, Unschedulable "node(s)
//   didn't match pod anti-affinity rules"; no pod already bound has a required
//   anti-affinity term that matches this pod in the domain, Unschedulable "node(s) didn't
//   satisfy existing pods anti-affinity rules".
// - Score: preferred terms of the pod (+weight per matching pod in the domain, − for
//   anti-affinity), and the terms of bound pods that match this pod (required affinity at
//   hardPodAffinityWeight, preferred ± weight); normalised over the nodes' min and max.
// A term's namespaces: its own list, plus the namespaces its namespaceSelector selects
// ({} selects all), or the pod's own namespace when neither is set.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "scheduler/framework.h"
#include "scheduler/pod_counts.h"
#include "scheduler/profile.h"

namespace gputwin::scheduler {

class InterPodAffinity final : public Plugin, public FilterPlugin, public ScorePlugin {
 public:
  InterPodAffinity(const Handle& handle, InterPodAffinityArgs args);
  ~InterPodAffinity() override;
  const char* Name() const override { return "InterPodAffinity"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  QueueingHint Hint(const ClusterEvent& event, const EventObject& obj,
                    const cluster::PodRecord& pod) const override;

  Scope FilterScope(const cluster::PodRecord&) const override { return Scope::kCluster; }
  Code PreFilter(CycleState& state, const cluster::PodRecord& pod) override;
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void AddPod(CycleState& state, const cluster::PodRecord& pod, const cluster::PodRecord& other,
              NodeId node) const override;
  void RemovePod(CycleState& state, const cluster::PodRecord& pod, const cluster::PodRecord& other,
                 NodeId node) const override;

  Scope ScoreScope(const cluster::PodRecord&) const override { return Scope::kCluster; }
  Code PreScore(CycleState& state, const cluster::PodRecord& pod,
                const std::vector<NodeId>& feasible) override;
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void NormalizeScore(const CycleState& state, std::vector<int64_t>* scores) const override;
  bool HasNormalizeScore() const override { return true; }

  // A term as it applies: its topology key and which pods it matches.
  struct Term {
    uint32_t key = 0;
    PodMatcher matcher;
    uint32_t matcher_id = 0;  // registered in PodCounts
    int64_t weight = 0;       // preferred terms
  };
  struct Terms {
    std::vector<Term> required_affinity, required_anti, preferred_affinity, preferred_anti;
    uint32_t all_affinity = 0;  // matcher: pods matching every required affinity term
    PodMatcher all_affinity_matcher;
    bool self_matches_affinity = false;
  };

 private:
  const Terms& TermsOf(const cluster::PodTemplateInfo& t, const std::string& ns) const;
  Term Resolve(const api::PodAffinityTerm& t, const std::string& owner_ns, int64_t weight) const;
  void Update(CycleState& state, const cluster::PodRecord& pod, const cluster::PodRecord& other,
              NodeId node, int64_t delta) const;

  Handle handle_;
  InterPodAffinityArgs args_;
  uint16_t reason_affinity_, reason_anti_, reason_existing_;
  mutable std::unordered_map<uint32_t, std::unique_ptr<Terms>> by_template_;
};

}  // namespace gputwin::scheduler
