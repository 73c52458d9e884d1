// kube-scheduler's per-template caches (the plugins' scopes, group verdicts per node view,
// memoised scores) and the Filter runs that read them, with nominated pods' resources.
#include <algorithm>
#include <string>

#include "cluster/store.h"
#include "scheduler/plugins/node_resources_fit.h"
#include "scheduler/scheduler.h"

namespace gputwin::scheduler {

Scheduler::TemplateCache& Scheduler::CacheFor(const cluster::PodRecord& pod) {
  const auto& t = *pod.tmpl;
  if (template_cache_.size() <= t.id) template_cache_.resize(t.id + 1);
  auto& slot = template_cache_[t.id];
  if (!slot) slot = std::make_unique<TemplateCache>();
  TemplateCache& tc = *slot;
  if (tc.built) return tc;
  tc.built = true;
  groups_.NoteKeys(*t.spec);  // before any verdict on a group for these pods
  bool other_node_filters = false;
  for (size_t i = 0; i < filters_.size(); ++i) {
    const auto pos = static_cast<uint16_t>(i);
    switch (filters_[i].plugin->FilterScope(pod)) {
      case Scope::kSkip:
        break;
      case Scope::kGroup:
        tc.group_filters.push_back(pos);
        break;
      case Scope::kNode:
        tc.node_filters.push_back(pos);
        if (pos != fit_position_) other_node_filters = true;
        break;
      case Scope::kCluster:
        tc.cluster_filters.push_back(pos);
        break;
    }
  }
  tc.other_node_filters = other_node_filters;
  for (size_t j = 0; j < scores_.size(); ++j) {
    const auto pos = static_cast<uint16_t>(j);
    switch (scores_[j].plugin->ScoreScope(pod)) {
      case Scope::kSkip:
        break;
      case Scope::kGroup:
        if (tc.group_scores.size() < kMaxGroupScores) {
          tc.group_scores.push_back(pos);
        } else {
          tc.cycle_scores.push_back(pos);
        }
        break;
      case Scope::kNode:
        (scores_[j].plugin->HasNormalizeScore() ? tc.cycle_scores : tc.memo_scores).push_back(pos);
        break;
      case Scope::kCluster:
        tc.cycle_scores.push_back(pos);
        break;
    }
  }
  if (fit_) tc.requests = &fit_->RequestsOf(t);
  const bool by_requests =
      !tc.memo_scores.empty() &&
      std::all_of(tc.memo_scores.begin(), tc.memo_scores.end(),
                  [&](uint16_t pos) { return scores_[pos].plugin->ScoresByRequests(); });
  if (by_requests) {
    std::string key;
    auto put = [&](int64_t v) { key += std::to_string(v) + ','; };
    for (uint16_t pos : tc.memo_scores) put(pos);
    put(-1);
    put(t.nonzero_cpu);
    put(t.nonzero_memory);
    for (int64_t v : t.requests) put(v);
    if (score_memos_.size() >= kMaxSharedScoreMemos && !score_memos_.count(key)) {
      score_memos_.clear();
    }
    auto& shared = score_memos_[key];
    if (!shared) shared = std::make_shared<ScoreMemo>();
    tc.shared_score = shared;
  }
  tc.groups_of = &tc.own_groups;
  if (pod.daemon_node == cluster::kNone) {
    const api::PodSpec* key = t.spec.get();
    auto& shared = shared_groups_[key];
    if (!shared) {
      shared = std::make_unique<SharedGroups>();
      shared->spec = t.spec;
    }
    ++shared->users;
    tc.groups_spec = key;
    tc.groups_of = &shared->evals;
  }
  return tc;
}

NodeView Scheduler::ViewOf(NodeId n, const cluster::ResourceVec* delta) const {
  NodeView v = NodeView::Of(n, store_.node(n));
  v.allocatable = {info_.alloc(n), info_.stride()};
  v.requested = {info_.used(n), info_.stride()};
  v.delta = delta;
  return v;
}

const Scheduler::GroupEval& Scheduler::EvaluateGroup(const cluster::PodRecord& pod,
                                                     TemplateCache& tc, uint32_t g) {
  auto& evals = tc.groups();
  if (evals.size() <= g) evals.resize(groups_.view_count());
  GroupEval& e = evals[g];
  if (e.evaluated) return e;
  e.evaluated = true;
  const auto& group = groups_.view(g);
  NodeView v;
  v.labels = &group.labels;
  v.taints = &group.taints;
  v.unschedulable = group.unschedulable;
  static const CycleState kNoState;
  for (uint16_t pos : tc.group_filters) {
    Status s = filters_[pos].plugin->Filter(kNoState, pod, v);
    if (!s.ok()) {
      e.failed_at = pos;
      e.status = s;
      break;
    }
  }
  for (size_t k = 0; k < tc.group_scores.size(); ++k) {
    e.raw[k] = scores_[tc.group_scores[k]].plugin->Score(kNoState, pod, v);
  }
  return e;
}

Status Scheduler::RunFilters(const cluster::PodRecord& pod, TemplateCache& tc,
                             const CycleState& state, NodeId n, const cluster::ResourceVec* delta,
                             uint16_t* failed_at) {
  uint16_t limit = kPasses;
  const GroupEval* ge = nullptr;
  if (!tc.group_filters.empty()) {
    ge = &GroupOf(pod, tc, groups_.ViewOf(n));
    limit = ge->failed_at;
  }
  if (!tc.node_filters.empty() || !active_cluster_.empty()) {
    const NodeView v = ViewOf(n, delta);
    // Node and cluster filters in profile order, up to the first group rejection.
    size_t a = 0, b = 0;
    const auto& nf = tc.node_filters;
    const auto& cf = active_cluster_;
    while (a < nf.size() || b < cf.size()) {
      uint16_t pos = b == cf.size() || (a < nf.size() && nf[a] < cf[b]) ? nf[a++] : cf[b++];
      if (pos >= limit) break;
      Status s = filters_[pos].plugin->Filter(state, pod, v);
      if (!s.ok()) {
        *failed_at = pos;
        return s;
      }
    }
  }
  if (ge && ge->failed_at != kPasses) {
    *failed_at = ge->failed_at;
    return ge->status;
  }
  *failed_at = kPasses;
  return {};
}

const cluster::ResourceVec* Scheduler::NominatedDelta(const cluster::PodRecord& pod, NodeId n,
                                                      cluster::ResourceVec* buf) const {
  if (nominated_total_ == 0 || n >= nominated_.size() || nominated_[n].empty()) return nullptr;
  // Pods nominated to this node with equal or higher priority keep their place
  // (addGENominatedPods): their requests count as used.
  buf->clear();
  for (PodId other : nominated_[n]) {
    const auto& o = store_.pod(other);
    if (&o == &pod || o.tmpl->priority < pod.tmpl->priority) continue;
    cluster::AddTo(buf, o.tmpl->requests, -1);
    if (buf->size() <= cluster::kPods) buf->resize(cluster::kPods + 1, 0);
    (*buf)[cluster::kPods] -= 1;
  }
  return buf;
}

Status Scheduler::FilterWithNominated(const cluster::PodRecord& pod, TemplateCache& tc,
                                      const CycleState& state, NodeId n, uint16_t* failed_at) {
  cluster::ResourceVec buf;
  const cluster::ResourceVec* delta = NominatedDelta(pod, n, &buf);
  if (!delta || active_cluster_.empty()) return RunFilters(pod, tc, state, n, delta, failed_at);
  // The nominated pods join this cycle's view of the node; a pod must fit with them and,
  // as some plugins may pass only because of them, without them.
  CycleState with = state;
  for (PodId other : nominated_[n]) {
    const auto& o = store_.pod(other);
    if (&o == &pod || o.tmpl->priority < pod.tmpl->priority) continue;
    for (uint16_t pos : active_cluster_) filters_[pos].plugin->AddPod(with, pod, o, n);
  }
  Status s = RunFilters(pod, tc, with, n, delta, failed_at);
  if (!s.ok()) return s;
  return RunFilters(pod, tc, state, n, nullptr, failed_at);
}

void Scheduler::PreFilter(const cluster::PodRecord& pod, const TemplateCache& tc,
                          CycleState* state) {
  active_cluster_.clear();
  for (uint16_t pos : tc.cluster_filters) {
    if (filters_[pos].plugin->PreFilter(*state, pod) != Code::kSkip) active_cluster_.push_back(pos);
  }
}

void Scheduler::AddMemoScores(const cluster::PodRecord& pod, TemplateCache& tc,
                              std::vector<int64_t>* totals) {
  ScoreMemo& sm = tc.score();
  const bool memo = !sm.score.empty();
  if (memo && sm.score.size() < store_.node_count()) {
    sm.score.resize(store_.node_count(), 0);
    sm.version.resize(store_.node_count(), 0);
  }
  score_misses_.clear();
  miss_at_.clear();
  for (size_t fi = 0; fi < feasible_.size(); ++fi) {
    const NodeId n = feasible_[fi].node;
    if (memo && sm.version[n] == info_.version(n)) {
      (*totals)[fi] += sm.score[n];
    } else {
      score_misses_.push_back(n);
      miss_at_.push_back(static_cast<uint32_t>(fi));
    }
  }
  if (score_misses_.empty()) return;
  miss_scores_.assign(score_misses_.size(), 0);
  static const CycleState kNoState;
  for (uint16_t pos : tc.memo_scores) {
    const ScoreEntry& s = scores_[pos];
    if (s.plugin->AddNodeScores(pod, score_misses_, s.weight, miss_scores_)) continue;
    for (size_t k = 0; k < score_misses_.size(); ++k) {
      miss_scores_[k] +=
          s.weight * s.plugin->Score(kNoState, pod, ViewOf(score_misses_[k], nullptr));
    }
  }
  for (size_t k = 0; k < score_misses_.size(); ++k) {
    (*totals)[miss_at_[k]] += miss_scores_[k];
    if (memo) {
      sm.score[score_misses_[k]] = miss_scores_[k];
      sm.version[score_misses_[k]] = info_.version(score_misses_[k]);
    }
  }
}

}  // namespace gputwin::scheduler
