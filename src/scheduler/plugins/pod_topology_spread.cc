#include "scheduler/plugins/pod_topology_spread.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cluster/scheduling_helpers.h"
#include "cluster/store.h"
#include "scheduler/node_groups.h"
#include "scheduler/pod_counts.h"
#include "scheduler/topology_values.h"

namespace gputwin::scheduler {

namespace {

const char* const kHostname = "kubernetes.io/hostname";

// The per-cycle state: per hard constraint, the matching pods per domain (PreFilter), and
// per soft constraint the same among the feasible nodes' domains (PreScore).
struct SpreadState : PluginState {
  // Filter.
  std::vector<std::vector<int64_t>> counts;  // [constraint][value id]
  std::vector<std::vector<uint8_t>> present;
  std::vector<int64_t> domains, min;
  // Score.
  bool scored = false;
  std::vector<std::vector<int64_t>> score_counts;  // [constraint][value id + 1], 0: no label
  std::vector<double> weight;
  std::vector<uint8_t> ignored;  // by node id
  std::vector<NodeId> feasible;
  std::unique_ptr<PluginState> Clone() const override {
    return std::make_unique<SpreadState>(*this);
  }
};

SpreadState* SpreadStateOf(const CycleState& state, uint32_t index) {
  return static_cast<SpreadState*>(state.Get(index));
}

int64_t MinMatch(const SpreadState& s, size_t i, int32_t min_domains) {
  // minMatchNum: the global minimum is 0 while there are fewer domains than minDomains.
  if (s.domains[i] < min_domains) return 0;
  return s.min[i];
}

void RecomputeMin(SpreadState* s, size_t i) {
  int64_t m = std::numeric_limits<int64_t>::max();
  int64_t d = 0;
  for (size_t v = 0; v < s->present[i].size(); ++v) {
    if (!s->present[i][v]) continue;
    ++d;
    m = std::min(m, s->counts[i][v]);
  }
  s->domains[i] = d;
  s->min[i] = d == 0 ? 0 : m;
}

}  // namespace

PodTopologySpread::PodTopologySpread(const Handle& handle, PodTopologySpreadArgs args)
    : handle_(handle),
      args_(std::move(args)),
      reason_skew_(handle.reasons->Id("node(s) didn't match pod topology spread constraints")),
      reason_missing_(handle.reasons->Id(
          "node(s) didn't match pod topology spread constraints (missing required label)")) {}

PodTopologySpread::~PodTopologySpread() = default;

std::vector<ClusterEvent> PodTopologySpread::EventsToRegister() const {
  return {{EventResource::kPod, kAdd | kUpdatePodLabel | kDelete},
          {EventResource::kNode, kAdd | kDelete | kUpdateNodeLabel | kUpdateNodeTaint}};
}

QueueingHint PodTopologySpread::Hint(const ClusterEvent& event, const EventObject& obj,
                                     const cluster::PodRecord& pod) const {
  const auto& hard = ConstraintsOf(pod).hard;
  if (event.resource == EventResource::kPod) {
    // isSchedulableAfterPodChange: a pod of the namespace that some constraint counts.
    const auto& other = *obj.pod;
    if (other.namespace_ != pod.namespace_) return QueueingHint::kQueueSkip;
    for (const auto& c : hard) {
      if (c.selector && c.selector->Matches(other.tmpl->metadata.labels)) {
        return QueueingHint::kQueue;
      }
    }
    return QueueingHint::kQueueSkip;
  }
  // isSchedulableAfterNodeChange: a node with every constraint's key came, went, or
  // changed its keys' values or its taints.
  auto has_all = [&](const api::Labels& labels, bool hostname_known) {
    for (const auto& c : hard) {
      if (c.hostname && hostname_known) continue;
      if (!labels.count(handle_.topology->KeyName(c.key))) return false;
    }
    return true;
  };
  const auto& labels = obj.node->obj.metadata.labels;
  const bool now = has_all(labels, true);
  if (!obj.old_node) return now ? QueueingHint::kQueue : QueueingHint::kQueueSkip;
  const bool before = has_all(obj.old_node->labels, true);
  if (now != before) return QueueingHint::kQueue;
  if (!now) return QueueingHint::kQueueSkip;
  for (const auto& c : hard) {
    if (c.hostname) continue;
    const auto& key = handle_.topology->KeyName(c.key);
    if (labels.at(key) != obj.old_node->labels.at(key)) return QueueingHint::kQueue;
  }
  return obj.node->obj.taints != obj.old_node->taints ? QueueingHint::kQueue
                                                      : QueueingHint::kQueueSkip;
}

const PodTopologySpread::Constraints& PodTopologySpread::ConstraintsOf(
    const cluster::PodRecord& pod) const {
  const auto& t = *pod.tmpl;
  static const Constraints kNone;
  // Neither its own constraints nor the defaults of a ReplicaSet's pods (Jobs' pods).
  if (t.spec->topology_spread_constraints.empty() &&
      pod.owner.kind != cluster::OwnerKind::kReplicaSet &&
      pod.owner.kind != cluster::OwnerKind::kStatefulSet) {
    return kNone;
  }
  if (by_template_.size() <= t.id) by_template_.resize(t.id + 1);
  auto& slot = by_template_[t.id];
  if (slot) return *slot;
  slot = std::make_unique<Constraints>();
  const auto& labels = t.metadata.labels;
  auto make = [&](const api::TopologySpreadConstraint& c,
                  const std::optional<api::LabelSelector>& selector) {
    Constraint out;
    out.max_skew = c.max_skew;
    out.key = handle_.topology->KeyId(c.topology_key);
    out.hostname = c.topology_key == kHostname;
    out.min_domains = c.min_domains.value_or(1);
    // Honoring a pod's node affinity it does not have excludes no node.
    const bool has_affinity = !t.spec->node_selector.empty() ||
                              (t.spec->node_affinity && t.spec->node_affinity->required);
    out.honor_affinity = c.node_affinity_policy != "Ignore" && has_affinity;
    out.honor_taints = c.node_taints_policy == "Honor";
    PodMatcher m;
    m.namespaces = {pod.namespace_};
    if (selector) {
      api::LabelSelector sel = *selector;
      // matchLabelKeys: the pod's own values of these keys join the selector.
      for (const auto& k : c.match_label_keys) {
        if (auto l = labels.find(k); l != labels.end()) {
          sel.match_expressions.push_back({k, "In", {l->second}});
        }
      }
      out.self_match = sel.Matches(labels);
      out.selector = sel;
      // An empty selector selects everything, yet counts nothing (countPodsMatchSelector).
      m.nothing = sel.Empty();
      m.selectors = {sel};
    } else {
      m.nothing = true;  // nil selector: labels.Nothing()
    }
    out.matcher = handle_.pod_counts->Register(m);
    return out;
  };
  const auto& spec = *t.spec;
  if (!spec.topology_spread_constraints.empty()) {
    for (const auto& c : spec.topology_spread_constraints) {
      (c.when_unsatisfiable == "DoNotSchedule" ? slot->hard : slot->soft)
          .push_back(make(c, c.label_selector));
    }
    return *slot;
  }
  // Defaults (buildDefaultConstraints): only for pods without constraints of their own,
  // with the selector of the ReplicaSet or StatefulSet that owns them (helper.DefaultSelector;
  // Services and ReplicationControllers selecting the pod are not added).
  std::optional<api::LabelSelector> selector;
  if (pod.owner.kind == cluster::OwnerKind::kReplicaSet) {
    const auto& rs = handle_.store->replica_sets()[pod.owner.index].obj;
    if (!rs.selector.Empty()) selector = rs.selector;
  } else if (pod.owner.kind == cluster::OwnerKind::kStatefulSet) {
    const auto& ss = handle_.store->stateful_sets()[pod.owner.index].obj;
    if (!ss.selector.Empty()) selector = ss.selector;
  }
  if (!selector) return *slot;
  std::vector<api::TopologySpreadConstraint> defaults = args_.default_constraints;
  if (args_.system_defaulting) {
    api::TopologySpreadConstraint host, zone;
    host.topology_key = kHostname;
    host.max_skew = 3;
    host.when_unsatisfiable = "ScheduleAnyway";
    zone.topology_key = "topology.kubernetes.io/zone";
    zone.max_skew = 5;
    zone.when_unsatisfiable = "ScheduleAnyway";
    defaults = {host, zone};
    slot->soft_system_defaulted = true;
  }
  for (const auto& c : defaults) {
    (c.when_unsatisfiable == "DoNotSchedule" ? slot->hard : slot->soft)
        .push_back(make(c, selector));
  }
  return *slot;
}

bool PodTopologySpread::Eligible(const Constraint& c, const cluster::PodRecord& pod,
                                 NodeId n) const {
  if (!c.honor_affinity && !c.honor_taints) return true;
  const auto& node = handle_.store->node(n);
  const auto& spec = *pod.tmpl->spec;
  if (c.honor_affinity &&
      !cluster::MatchesRequiredAffinity(spec, node.obj.metadata.labels, node.name())) {
    return false;
  }
  return !c.honor_taints ||
         !cluster::FindUntoleratedTaint(node.obj.taints, spec.tolerations, true, true);
}

Scope PodTopologySpread::FilterScope(const cluster::PodRecord& pod) const {
  return ConstraintsOf(pod).hard.empty() ? Scope::kSkip : Scope::kCluster;
}

Code PodTopologySpread::PreFilter(CycleState& state, const cluster::PodRecord& pod) {
  const auto& hard = ConstraintsOf(pod).hard;
  if (hard.empty()) return Code::kSkip;
  auto s = std::make_unique<SpreadState>();
  auto& topo = *handle_.topology;
  const size_t k = hard.size();
  s->counts.resize(k);
  s->present.resize(k);
  s->domains.assign(k, 0);
  s->min.assign(k, 0);
  for (NodeId n : *handle_.all_nodes) {
    // A node without every constraint's key counts for none of them.
    bool has_all = true;
    for (const auto& c : hard) has_all &= topo.Value(c.key, n) != TopologyValues::kMissing;
    if (!has_all) continue;
    for (size_t i = 0; i < k; ++i) {
      const auto& c = hard[i];
      if (!Eligible(c, pod, n)) continue;
      const auto v = static_cast<size_t>(topo.Value(c.key, n));
      if (s->counts[i].size() <= v) {
        s->counts[i].resize(topo.ValueCount(c.key), 0);
        s->present[i].resize(topo.ValueCount(c.key), 0);
      }
      s->present[i][v] = 1;
      s->counts[i][v] += handle_.pod_counts->Count(c.matcher, n);
    }
  }
  for (size_t i = 0; i < k; ++i) RecomputeMin(s.get(), i);
  state.Set(index, std::move(s));
  return Code::kSuccess;
}

Status PodTopologySpread::Filter(const CycleState& state, const cluster::PodRecord& pod,
                                 const NodeView& node) const {
  const SpreadState* s = SpreadStateOf(state, index);
  if (!s) return {};
  const auto& hard = ConstraintsOf(pod).hard;
  for (size_t i = 0; i < hard.size(); ++i) {
    const auto& c = hard[i];
    const int32_t v = handle_.topology->Value(c.key, node.id);
    if (v == TopologyValues::kMissing) return Status::Unresolvable(reason_missing_);
    const auto vi = static_cast<size_t>(v);
    const int64_t match = vi < s->present[i].size() && s->present[i][vi] ? s->counts[i][vi] : 0;
    if (match + (c.self_match ? 1 : 0) - MinMatch(*s, i, c.min_domains) > c.max_skew) {
      return Status::Unschedulable(reason_skew_);
    }
  }
  return {};
}

void PodTopologySpread::Update(CycleState& state, const cluster::PodRecord& pod,
                               const cluster::PodRecord& other, NodeId n, int64_t delta) const {
  SpreadState* s = SpreadStateOf(state, index);
  if (!s || other.namespace_ != pod.namespace_) return;
  const auto& hard = ConstraintsOf(pod).hard;
  auto& topo = *handle_.topology;
  for (const auto& c : hard) {
    if (topo.Value(c.key, n) == TopologyValues::kMissing) return;
  }
  for (size_t i = 0; i < hard.size(); ++i) {
    const auto& c = hard[i];
    // updateWithPod matches with the selector itself (no Empty() check).
    if (!c.selector || !c.selector->Matches(other.tmpl->metadata.labels) || !Eligible(c, pod, n)) {
      continue;
    }
    const auto v = static_cast<size_t>(topo.Value(c.key, n));
    if (s->counts[i].size() <= v) {
      s->counts[i].resize(topo.ValueCount(c.key), 0);
      s->present[i].resize(topo.ValueCount(c.key), 0);
    }
    s->present[i][v] = 1;
    s->counts[i][v] += delta;
    RecomputeMin(s, i);
  }
}

void PodTopologySpread::AddPod(CycleState& state, const cluster::PodRecord& pod,
                               const cluster::PodRecord& other, NodeId node) const {
  Update(state, pod, other, node, +1);
}

void PodTopologySpread::RemovePod(CycleState& state, const cluster::PodRecord& pod,
                                  const cluster::PodRecord& other, NodeId node) const {
  Update(state, pod, other, node, -1);
}

Scope PodTopologySpread::ScoreScope(const cluster::PodRecord& pod) const {
  return ConstraintsOf(pod).soft.empty() ? Scope::kSkip : Scope::kCluster;
}

Code PodTopologySpread::PreScore(CycleState& state, const cluster::PodRecord& pod,
                                 const std::vector<NodeId>& feasible) {
  const auto& cs = ConstraintsOf(pod);
  const auto& soft = cs.soft;
  if (soft.empty()) return Code::kSkip;
  SpreadState* s = SpreadStateOf(state, index);
  if (!s) {
    state.Set(index, std::make_unique<SpreadState>());
    s = SpreadStateOf(state, index);
  }
  auto& topo = *handle_.topology;
  const bool require_all = !cs.soft_system_defaulted;
  const size_t k = soft.size();
  s->scored = true;
  s->feasible = feasible;
  s->ignored.assign(handle_.store->node_count(), 0);
  s->score_counts.assign(k, {});
  s->weight.assign(k, 0);
  std::vector<std::vector<uint8_t>> present(k);
  std::vector<int64_t> size(k, 0);
  auto lacks_a_key = [&](NodeId n) {
    for (const auto& c : soft) {
      if (topo.Value(c.key, n) == TopologyValues::kMissing) return true;
    }
    return false;
  };
  int64_t ignored = 0;
  for (NodeId n : feasible) {
    if (require_all && lacks_a_key(n)) {
      s->ignored[n] = 1;
      ++ignored;
      continue;
    }
    for (size_t i = 0; i < k; ++i) {
      if (soft[i].hostname) continue;
      const auto v = static_cast<size_t>(topo.Value(soft[i].key, n) + 1);  // 0: no label
      if (present[i].size() <= v) present[i].resize(topo.ValueCount(soft[i].key) + 1, 0);
      if (!present[i][v]) {
        present[i][v] = 1;
        ++size[i];
      }
    }
  }
  for (size_t i = 0; i < k; ++i) {
    const int64_t domains =
        soft[i].hostname ? static_cast<int64_t>(feasible.size()) - ignored : size[i];
    s->weight[i] = std::log(static_cast<double>(domains + 2));
    s->score_counts[i].assign(present[i].size(), 0);
  }
  // Matching pods on every node of a domain some feasible node is in. Upstream walks every
  // node; a node without a matching pod adds 0, so walking the nodes that hold some (a
  // Deployment's few, not a 10,000-node cluster's all) gives the same sums.
  const auto& position = *handle_.node_position;
  for (size_t i = 0; i < k; ++i) {
    const auto& c = soft[i];
    if (c.hostname) continue;
    for (NodeId n : handle_.pod_counts->NodesWithPods(c.matcher)) {
      const int64_t count = handle_.pod_counts->Count(c.matcher, n);
      if (count == 0 || n >= position.size() || position[n] < 0) continue;
      if (require_all && lacks_a_key(n)) continue;
      if (!Eligible(c, pod, n)) continue;
      const auto v = static_cast<size_t>(topo.Value(c.key, n) + 1);
      if (v >= present[i].size() || !present[i][v]) continue;
      s->score_counts[i][v] += count;
    }
  }
  return Code::kSuccess;
}

int64_t PodTopologySpread::Score(const CycleState& state, const cluster::PodRecord& pod,
                                 const NodeView& node) const {
  const SpreadState* s = SpreadStateOf(state, index);
  if (!s || !s->scored || s->ignored[node.id]) return 0;
  const auto& soft = ConstraintsOf(pod).soft;
  double score = 0;
  for (size_t i = 0; i < soft.size(); ++i) {
    const auto& c = soft[i];
    const int32_t v = handle_.topology->Value(c.key, node.id);
    if (v == TopologyValues::kMissing) continue;
    int64_t count = 0;
    if (c.hostname) {
      count = handle_.pod_counts->Count(c.matcher, node.id);
    } else {
      const auto vi = static_cast<size_t>(v + 1);
      count = vi < s->score_counts[i].size() ? s->score_counts[i][vi] : 0;
    }
    score += static_cast<double>(count) * s->weight[i] + static_cast<double>(c.max_skew - 1);
  }
  return std::llround(score);
}

void PodTopologySpread::NormalizeScore(const CycleState& state,
                                       std::vector<int64_t>* scores) const {
  const SpreadState* s = SpreadStateOf(state, index);
  if (!s || !s->scored) return;
  int64_t min = std::numeric_limits<int64_t>::max(), max = 0;
  for (size_t i = 0; i < scores->size(); ++i) {
    if (s->ignored[s->feasible[i]]) continue;
    min = std::min(min, (*scores)[i]);
    max = std::max(max, (*scores)[i]);
  }
  for (size_t i = 0; i < scores->size(); ++i) {
    int64_t& v = (*scores)[i];
    if (s->ignored[s->feasible[i]]) {
      v = 0;
    } else if (max == 0) {
      v = kMaxNodeScore;
    } else {
      v = kMaxNodeScore * (max + min - v) / max;
    }
  }
}

}  // namespace gputwin::scheduler
