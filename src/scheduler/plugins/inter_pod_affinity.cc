#include "scheduler/plugins/inter_pod_affinity.h"

#include <algorithm>
#include <limits>
#include <map>

#include "cluster/store.h"
#include "scheduler/topology_values.h"

namespace gputwin::scheduler {

namespace {

// Counts per topology pair (key id, value id).
using PairCounts = std::map<std::pair<uint32_t, int32_t>, int64_t>;

struct AffinityState : PluginState {
  PairCounts existing_anti, affinity, anti;
  std::vector<uint32_t> existing_keys;  // the keys existing_anti holds
  // Score: per topology key, the sum per value (dense: values are interned). Not cloned
  // in practice (preemption and nominated pods copy the state before PreScore).
  bool scored = false;
  std::vector<std::pair<uint32_t, std::vector<int64_t>>> score;
  std::unique_ptr<PluginState> Clone() const override {
    return std::make_unique<AffinityState>(*this);
  }
};

AffinityState* AffinityStateOf(const CycleState& state, uint32_t index) {
  return static_cast<AffinityState*>(state.Get(index));
}

void AddPair(PairCounts* counts, uint32_t key, int32_t value, int64_t delta) {
  auto& c = (*counts)[{key, value}];
  c += delta;
  if (c == 0) counts->erase({key, value});
}

int64_t Get(const PairCounts& counts, uint32_t key, int32_t value) {
  auto it = counts.find({key, value});
  return it == counts.end() ? 0 : it->second;
}

std::vector<uint32_t> KeysOf(const PairCounts& counts) {
  std::vector<uint32_t> keys;
  for (const auto& [pair, c] : counts) {
    if (keys.empty() || keys.back() != pair.first) keys.push_back(pair.first);
  }
  return keys;
}

}  // namespace

InterPodAffinity::InterPodAffinity(const Handle& handle, InterPodAffinityArgs args)
    : handle_(handle),
      args_(args),
      reason_affinity_(handle.reasons->Id("node(s) didn't match pod affinity rules")),
      reason_anti_(handle.reasons->Id("node(s) didn't match pod anti-affinity rules")),
      reason_existing_(
          handle.reasons->Id("node(s) didn't satisfy existing pods anti-affinity rules")) {}

InterPodAffinity::~InterPodAffinity() = default;

std::vector<ClusterEvent> InterPodAffinity::EventsToRegister() const {
  return {{EventResource::kPod, kAdd | kUpdatePodLabel | kDelete},
          {EventResource::kNode, kAdd | kUpdateNodeLabel | kUpdateNodeTaint}};
}

QueueingHint InterPodAffinity::Hint(const ClusterEvent& event, const EventObject& obj,
                                    const cluster::PodRecord& pod) const {
  const Terms& terms = TermsOf(*pod.tmpl, pod.namespace_);
  // podMatchesAllAffinityTerms: false for no terms.
  auto matches_all = [](const std::vector<Term>& ts, const cluster::PodRecord& p) {
    if (ts.empty()) return false;
    for (const auto& t : ts) {
      if (!t.matcher.Matches(p.namespace_, p.tmpl->metadata.labels)) return false;
    }
    return true;
  };
  if (event.resource == EventResource::kPod) {
    // isSchedulableAfterPodChange: an added pod the affinity wants, a deleted one the
    // anti-affinity did not (existing pods' own anti-affinity is not considered).
    const auto& other = *obj.pod;
    const bool added = (event.actions & kAdd) != 0;
    return matches_all(added ? terms.required_affinity : terms.required_anti, other)
               ? QueueingHint::kQueue
               : QueueingHint::kQueueSkip;
  }
  // isSchedulableAfterNodeChange: the node has some required term's topology key.
  const auto& labels = obj.node->obj.metadata.labels;
  for (const auto* ts : {&terms.required_affinity, &terms.required_anti}) {
    for (const auto& t : *ts) {
      if (labels.count(handle_.topology->KeyName(t.key))) return QueueingHint::kQueue;
    }
  }
  return QueueingHint::kQueueSkip;
}

InterPodAffinity::Term InterPodAffinity::Resolve(const api::PodAffinityTerm& t,
                                                 const std::string& owner_ns,
                                                 int64_t weight) const {
  Term out;
  out.key = handle_.topology->KeyId(t.topology_key);
  out.weight = weight;
  PodMatcher& m = out.matcher;
  if (!t.label_selector) {
    m.nothing = true;  // a nil labelSelector matches no pod
  } else {
    m.selectors = {*t.label_selector};
  }
  if (t.namespaces.empty() && !t.namespace_selector) {
    m.namespaces = {owner_ns};
  } else if (t.namespace_selector && t.namespace_selector->Empty()) {
    m.any_namespace = true;  // namespaceSelector {}: every namespace
  } else {
    m.namespaces = t.namespaces;
    if (t.namespace_selector) {
      for (const auto& [ns, labels] : handle_.store->namespaces()) {
        if (t.namespace_selector->Matches(labels)) m.namespaces.push_back(ns);
      }
    }
    std::sort(m.namespaces.begin(), m.namespaces.end());
    m.namespaces.erase(std::unique(m.namespaces.begin(), m.namespaces.end()), m.namespaces.end());
  }
  out.matcher_id = handle_.pod_counts->Register(m);
  return out;
}

const InterPodAffinity::Terms& InterPodAffinity::TermsOf(const cluster::PodTemplateInfo& t,
                                                         const std::string& ns) const {
  static const Terms kNoTerms;
  if (!t.spec->pod_affinity && !t.spec->pod_anti_affinity) return kNoTerms;  // most pods
  auto& slot = by_template_[t.id];
  if (slot) return *slot;
  slot = std::make_unique<Terms>();
  const auto& spec = *t.spec;
  if (spec.pod_affinity) {
    for (const auto& term : spec.pod_affinity->required) {
      slot->required_affinity.push_back(Resolve(term, ns, 0));
    }
    for (const auto& w : spec.pod_affinity->preferred) {
      slot->preferred_affinity.push_back(Resolve(w.term, ns, w.weight));
    }
  }
  if (spec.pod_anti_affinity) {
    for (const auto& term : spec.pod_anti_affinity->required) {
      slot->required_anti.push_back(Resolve(term, ns, 0));
    }
    for (const auto& w : spec.pod_anti_affinity->preferred) {
      slot->preferred_anti.push_back(Resolve(w.term, ns, w.weight));
    }
  }
  if (!slot->required_affinity.empty()) {
    // One matcher for "matches every term": namespaces intersected, selectors ANDed.
    PodMatcher all;
    all.any_namespace = true;
    for (const auto& term : slot->required_affinity) {
      const PodMatcher& m = term.matcher;
      all.nothing |= m.nothing;
      all.selectors.insert(all.selectors.end(), m.selectors.begin(), m.selectors.end());
      if (m.any_namespace) continue;
      if (all.any_namespace) {
        all.any_namespace = false;
        all.namespaces = m.namespaces;
      } else {
        std::vector<std::string> both;
        std::set_intersection(all.namespaces.begin(), all.namespaces.end(), m.namespaces.begin(),
                              m.namespaces.end(), std::back_inserter(both));
        all.namespaces = std::move(both);
      }
    }
    slot->all_affinity_matcher = all;
    slot->all_affinity = handle_.pod_counts->Register(all);
    slot->self_matches_affinity = all.Matches(ns, t.metadata.labels);
  }
  return *slot;
}

Code InterPodAffinity::PreFilter(CycleState& state, const cluster::PodRecord& pod) {
  const Terms& terms = TermsOf(*pod.tmpl, pod.namespace_);
  auto& topo = *handle_.topology;
  auto& counts = *handle_.pod_counts;
  std::unique_ptr<AffinityState> s;
  auto get = [&]() -> AffinityState& {
    if (!s) s = std::make_unique<AffinityState>();
    return *s;
  };
  // Bound pods whose required anti-affinity terms match this pod.
  for (const auto& a : counts.affinity_templates()) {
    if (a.total <= 0) continue;
    const Terms& theirs = TermsOf(*a.tmpl, a.namespace_);
    for (const auto& t : theirs.required_anti) {
      if (!t.matcher.Matches(pod.namespace_, pod.tmpl->metadata.labels)) continue;
      for (NodeId n : a.nodes) {
        const int64_t c = a.per_node[n];
        const int32_t v = c > 0 ? topo.Value(t.key, n) : TopologyValues::kMissing;
        if (v != TopologyValues::kMissing) AddPair(&get().existing_anti, t.key, v, c);
      }
    }
  }
  if (!terms.required_affinity.empty()) {
    for (NodeId n : counts.NodesWithPods(terms.all_affinity)) {
      const int64_t c = counts.Count(terms.all_affinity, n);
      if (c <= 0) continue;
      for (const auto& t : terms.required_affinity) {
        const int32_t v = topo.Value(t.key, n);
        if (v != TopologyValues::kMissing) AddPair(&get().affinity, t.key, v, c);
      }
    }
  }
  for (const auto& t : terms.required_anti) {
    for (NodeId n : counts.NodesWithPods(t.matcher_id)) {
      const int64_t c = counts.Count(t.matcher_id, n);
      const int32_t v = c > 0 ? topo.Value(t.key, n) : TopologyValues::kMissing;
      if (v != TopologyValues::kMissing) AddPair(&get().anti, t.key, v, c);
    }
  }
  if (!s && terms.required_affinity.empty() && terms.required_anti.empty()) return Code::kSkip;
  AffinityState& st = get();
  st.existing_keys = KeysOf(st.existing_anti);
  state.Set(index, std::move(s));
  return Code::kSuccess;
}

Status InterPodAffinity::Filter(const CycleState& state, const cluster::PodRecord& pod,
                                const NodeView& node) const {
  const AffinityState* s = AffinityStateOf(state, index);
  if (!s) return {};
  const Terms& terms = TermsOf(*pod.tmpl, pod.namespace_);
  auto& topo = *handle_.topology;
  // satisfyPodAffinity.
  if (!terms.required_affinity.empty()) {
    bool pods_exist = true;
    for (const auto& t : terms.required_affinity) {
      const int32_t v = topo.Value(t.key, node.id);
      if (v == TopologyValues::kMissing) return Status::Unresolvable(reason_affinity_);
      if (Get(s->affinity, t.key, v) <= 0) pods_exist = false;
    }
    // The first pod of a group that matches its own terms may go anywhere.
    if (!pods_exist && !(s->affinity.empty() && terms.self_matches_affinity)) {
      return Status::Unresolvable(reason_affinity_);
    }
  }
  // satisfyPodAntiAffinity: a term whose key the node lacks does not apply.
  if (!s->anti.empty()) {
    for (const auto& t : terms.required_anti) {
      const int32_t v = topo.Value(t.key, node.id);
      if (v != TopologyValues::kMissing && Get(s->anti, t.key, v) > 0) {
        return Status::Unschedulable(reason_anti_);
      }
    }
  }
  // satisfyExistingPodsAntiAffinity.
  for (uint32_t key : s->existing_keys) {
    const int32_t v = topo.Value(key, node.id);
    if (v != TopologyValues::kMissing && Get(s->existing_anti, key, v) > 0) {
      return Status::Unschedulable(reason_existing_);
    }
  }
  return {};
}

void InterPodAffinity::Update(CycleState& state, const cluster::PodRecord& pod,
                              const cluster::PodRecord& other, NodeId n, int64_t delta) const {
  AffinityState* s = AffinityStateOf(state, index);
  if (!s) return;
  auto& topo = *handle_.topology;
  const auto& labels = pod.tmpl->metadata.labels;
  const auto& other_labels = other.tmpl->metadata.labels;
  const Terms& theirs = TermsOf(*other.tmpl, other.namespace_);
  for (const auto& t : theirs.required_anti) {
    const int32_t v = topo.Value(t.key, n);
    if (v != TopologyValues::kMissing && t.matcher.Matches(pod.namespace_, labels)) {
      AddPair(&s->existing_anti, t.key, v, delta);
    }
  }
  s->existing_keys = KeysOf(s->existing_anti);
  const Terms& terms = TermsOf(*pod.tmpl, pod.namespace_);
  if (!terms.required_affinity.empty() &&
      terms.all_affinity_matcher.Matches(other.namespace_, other_labels)) {
    for (const auto& t : terms.required_affinity) {
      const int32_t v = topo.Value(t.key, n);
      if (v != TopologyValues::kMissing) AddPair(&s->affinity, t.key, v, delta);
    }
  }
  for (const auto& t : terms.required_anti) {
    const int32_t v = topo.Value(t.key, n);
    if (v != TopologyValues::kMissing && t.matcher.Matches(other.namespace_, other_labels)) {
      AddPair(&s->anti, t.key, v, delta);
    }
  }
}

void InterPodAffinity::AddPod(CycleState& state, const cluster::PodRecord& pod,
                              const cluster::PodRecord& other, NodeId node) const {
  Update(state, pod, other, node, +1);
}

void InterPodAffinity::RemovePod(CycleState& state, const cluster::PodRecord& pod,
                                 const cluster::PodRecord& other, NodeId node) const {
  Update(state, pod, other, node, -1);
}

Code InterPodAffinity::PreScore(CycleState& state, const cluster::PodRecord& pod,
                                const std::vector<NodeId>&) {
  const Terms& terms = TermsOf(*pod.tmpl, pod.namespace_);
  const bool has_preferred = !terms.preferred_affinity.empty() || !terms.preferred_anti.empty();
  if (args_.ignore_preferred_terms_of_existing_pods && !has_preferred) return Code::kSkip;
  auto& topo = *handle_.topology;
  auto& counts = *handle_.pod_counts;
  std::vector<std::pair<uint32_t, std::vector<int64_t>>> score;
  bool any = false;
  auto add = [&](uint32_t key, NodeId n, int64_t amount) {
    const int32_t v = topo.Value(key, n);
    if (v == TopologyValues::kMissing) return;
    auto row =
        std::find_if(score.begin(), score.end(), [&](const auto& r) { return r.first == key; });
    if (row == score.end()) row = score.insert(score.end(), {key, {}});
    if (row->second.size() <= static_cast<size_t>(v)) row->second.resize(topo.ValueCount(key), 0);
    row->second[static_cast<size_t>(v)] += amount;
    any = true;
  };
  // The pod's preferred terms, per matching pod.
  for (const auto& t : terms.preferred_affinity) {
    for (NodeId n : counts.NodesWithPods(t.matcher_id)) {
      if (int64_t c = counts.Count(t.matcher_id, n); c > 0) add(t.key, n, t.weight * c);
    }
  }
  for (const auto& t : terms.preferred_anti) {
    for (NodeId n : counts.NodesWithPods(t.matcher_id)) {
      if (int64_t c = counts.Count(t.matcher_id, n); c > 0) add(t.key, n, -t.weight * c);
    }
  }
  // Bound pods whose terms match this pod (their required anti-affinity is not scored).
  const auto& labels = pod.tmpl->metadata.labels;
  for (const auto& a : counts.affinity_templates()) {
    if (a.total <= 0) continue;
    const Terms& theirs = TermsOf(*a.tmpl, a.namespace_);
    auto each_node = [&](const Term& t, int64_t weight) {
      if (weight == 0 || !t.matcher.Matches(pod.namespace_, labels)) return;
      for (NodeId n : a.nodes) {
        if (a.per_node[n] > 0) add(t.key, n, weight * a.per_node[n]);
      }
    };
    for (const auto& t : theirs.required_affinity) each_node(t, args_.hard_pod_affinity_weight);
    for (const auto& t : theirs.preferred_affinity) each_node(t, t.weight);
    for (const auto& t : theirs.preferred_anti) each_node(t, -t.weight);
  }
  if (!any) return Code::kSkip;
  AffinityState* s = AffinityStateOf(state, index);
  if (!s) {
    state.Set(index, std::make_unique<AffinityState>());
    s = AffinityStateOf(state, index);
  }
  s->scored = true;
  s->score = std::move(score);
  return Code::kSuccess;
}

int64_t InterPodAffinity::Score(const CycleState& state, const cluster::PodRecord&,
                                const NodeView& node) const {
  const AffinityState* s = AffinityStateOf(state, index);
  if (!s || !s->scored) return 0;
  int64_t sum = 0;
  for (const auto& [key, row] : s->score) {
    const int32_t v = handle_.topology->Value(key, node.id);
    if (v != TopologyValues::kMissing && static_cast<size_t>(v) < row.size()) {
      sum += row[static_cast<size_t>(v)];
    }
  }
  return sum;
}

void InterPodAffinity::NormalizeScore(const CycleState& state, std::vector<int64_t>* scores) const {
  const AffinityState* s = AffinityStateOf(state, index);
  if (!s || !s->scored || scores->empty()) return;
  int64_t min = std::numeric_limits<int64_t>::max(), max = std::numeric_limits<int64_t>::min();
  for (int64_t v : *scores) {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  const int64_t diff = max - min;
  for (int64_t& v : *scores) {
    double f = 0;
    if (diff > 0) {
      f = static_cast<double>(kMaxNodeScore) *
          (static_cast<double>(v - min) / static_cast<double>(diff));
    }
    v = static_cast<int64_t>(f);
  }
}

}  // namespace gputwin::scheduler
