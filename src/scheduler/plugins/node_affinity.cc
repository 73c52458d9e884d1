#include "scheduler/plugins/node_affinity.h"

#include "cluster/scheduling_helpers.h"
#include "cluster/store.h"
#include "scheduler/node_groups.h"

namespace gputwin::scheduler {

NodeAffinity::NodeAffinity(ReasonTable* reasons, const cluster::Store* store)
    : reason_(reasons->Id("node(s) didn't match Pod's node affinity/selector")), store_(*store) {}

std::vector<ClusterEvent> NodeAffinity::EventsToRegister() const {
  return {{EventResource::kNode, kAdd | kUpdateNodeLabel}};
}

QueueingHint NodeAffinity::Hint(const ClusterEvent&, const EventObject& obj,
                                const cluster::PodRecord& pod) const {
  // isSchedulableAfterNodeChange: the node matches the pod's required affinity now and did
  // not before.
  const auto& n = *obj.node;
  const auto& spec = *pod.tmpl->spec;
  if (!cluster::MatchesRequiredAffinity(spec, n.obj.metadata.labels, n.name())) {
    return QueueingHint::kQueueSkip;
  }
  if (obj.old_node && cluster::MatchesRequiredAffinity(spec, obj.old_node->labels, n.name())) {
    return QueueingHint::kQueueSkip;
  }
  return QueueingHint::kQueue;
}

bool NodeAffinity::NamesNodes(const cluster::PodRecord& pod) {
  const auto& spec = *pod.tmpl->spec;
  auto uses_names = [](const api::NodeSelectorTerm& term) {
    if (!term.match_fields.empty()) return true;
    for (const auto& e : term.match_expressions) {
      if (e.key == "kubernetes.io/hostname") return true;
    }
    return false;
  };
  bool names =
      spec.node_selector.count("kubernetes.io/hostname") > 0 || pod.daemon_node != cluster::kNone;
  if (spec.node_affinity) {
    if (spec.node_affinity->required) {
      for (const auto& term : *spec.node_affinity->required) names |= uses_names(term);
    }
    for (const auto& pref : spec.node_affinity->preferred) names |= uses_names(pref.preference);
  }
  return names;
}

Scope NodeAffinity::FilterScope(const cluster::PodRecord& pod) const {
  return NamesNodes(pod) ? Scope::kNode : Scope::kGroup;
}

bool NodeAffinity::Passes(const CycleState&, const cluster::PodRecord& pod,
                          const NodeView& node) const {
  if (!cluster::MatchesRequiredAffinity(*pod.tmpl->spec, *node.labels, node.NodeName())) {
    return false;
  }
  return pod.daemon_node == cluster::kNone ||
         node.NodeName() == store_.node(pod.daemon_node).name();
}

Status NodeAffinity::Filter(const CycleState& state, const cluster::PodRecord& pod,
                            const NodeView& node) const {
  return Passes(state, pod, node) ? Status{} : Status::Unresolvable(reason_);
}

Scope NodeAffinity::ScoreScope(const cluster::PodRecord& pod) const {
  const auto& spec = *pod.tmpl->spec;
  if (!spec.node_affinity || spec.node_affinity->preferred.empty()) return Scope::kSkip;
  return NamesNodes(pod) ? Scope::kNode : Scope::kGroup;
}

int64_t NodeAffinity::Score(const CycleState&, const cluster::PodRecord& pod,
                            const NodeView& node) const {
  int64_t sum = 0;
  for (const auto& pref : pod.tmpl->spec->node_affinity->preferred) {
    if (pref.weight > 0 && cluster::MatchesTerm(pref.preference, *node.labels, node.NodeName())) {
      sum += pref.weight;
    }
  }
  return sum;
}

}  // namespace gputwin::scheduler
