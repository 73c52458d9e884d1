// Which NodeClaims disruption may take and how many: a node's pods (reschedulable ones,
// karpenter.sh/do-not-disrupt; pkg/controllers/disruption/types.go NewCandidate and
// helpers.go), consolidatability, PodDisruptionBudgets, and the NodePools' disruption
// budgets (helpers.go BuildDisruptionBudgetMapping).
#include <algorithm>
#include <climits>

#include "karpenter/cron.h"
#include "karpenter/karpenter.h"

namespace gputwin::karpenter {

using cluster::OwnerKind;

// karpenter.sh/do-not-disrupt on the node or any of its pods blocks voluntary disruption.
bool Karpenter::DoNotDisrupt(const api::ObjectMeta& m) {
  auto it = m.annotations.find("karpenter.sh/do-not-disrupt");
  return it != m.annotations.end() && it->second == "true";
}

bool Karpenter::Reschedulable(const cluster::PodRecord& p) {
  return p.owner.kind != OwnerKind::kDaemonSet && !p.Terminal() && !p.deleted;
}

std::vector<PodId> Karpenter::ReschedulablePods(NodeId node) const {
  return NodePodsOf(node).reschedulable_pods;
}

const Karpenter::NodePodsHead& Karpenter::PodsHeadOf(NodeId node) const {
  if (node < node_pods_head_.size() && node_pods_head_[node].version == store_.UsageVersion(node)) {
    return node_pods_head_[node];
  }
  NodePodsOf(node);
  return node_pods_head_[node];
}

const Karpenter::NodePods& Karpenter::NodePodsOf(NodeId node) const {
  const auto& n = store_.node(node);
  if (node_pods_.size() <= node) {
    node_pods_.resize(node + 1);
    node_pods_head_.resize(node + 1);
  }
  auto& memo = node_pods_[node];
  auto& head = node_pods_head_[node];
  const uint64_t usage = store_.UsageVersion(node);
  if (head.version == usage) return memo;
  head.version = usage;
  head.reschedulable = head.do_not_disrupt = head.topology = false;
  head.cost = 0;
  memo.reschedulable_pods.clear();
  memo.specs.clear();
  memo.sorted = false;
  for (PodId id : n.pods) {
    const auto& p = store_.pod(id);
    if (Reschedulable(p)) {
      head.reschedulable = true;
      memo.reschedulable_pods.push_back(id);
      // FitsOf's key (a DaemonSet's pod is not reschedulable, so never its own).
      memo.specs.push_back(p.daemon_node != cluster::kNone ? static_cast<const void*>(&p)
                                                           : p.tmpl->spec.get());
      head.topology |= HasTopology(*p.tmpl->spec);
      // The candidate ordering's disruption cost (disruptionutils.ReschedulingCost).
      double priority = p.tmpl->priority;
      head.cost += std::clamp(1 + priority / 33554432.0, -10.0, 10.0);
    }
    const auto& tmpl = *p.tmpl;
    if (do_not_disrupt_.size() <= tmpl.id) do_not_disrupt_.resize(tmpl.id + 1, -1);
    int8_t& known = do_not_disrupt_[tmpl.id];
    if (known < 0) known = DoNotDisrupt(tmpl.metadata) ? 1 : 0;
    head.do_not_disrupt |= known == 1;
  }
  return memo;
}

const Karpenter::NodePods& Karpenter::SortedPodsOf(NodeId node) const {
  NodePodsOf(node);
  NodePods& m = node_pods_[node];
  if (m.sorted) return m;
  m.sorted_pods = m.reschedulable_pods;
  std::stable_sort(m.sorted_pods.begin(), m.sorted_pods.end(),
                   [&](PodId a, PodId b) { return SchedulesBefore(a, b); });
  m.sorted_templates.clear();
  for (PodId id : m.sorted_pods) m.sorted_templates.push_back(store_.pod(id).tmpl->id);
  m.sorted = true;
  return m;
}

bool Karpenter::HasReschedulablePods(NodeId node) const {
  return PodsHeadOf(node).reschedulable;
}

bool Karpenter::Consolidatable(uint32_t index, Time now) const {
  const auto at = ConsolidatableAt(index);
  return at && *at <= now;
}

std::optional<Time> Karpenter::ConsolidatableAt(uint32_t index) const {
  const auto& c = claim_state_[index];
  const auto& after = pools_[c.nodepool].spec->consolidate_after;
  if (!after || c.phase != ClaimPhase::kInitialized) return std::nullopt;
  Time since = c.initialized_at;
  if (c.node < last_pod_event_.size()) since = std::max(since, last_pod_event_[c.node]);
  return since + *after;
}

bool Karpenter::NodeDoNotDisrupt(NodeId node) {
  if (node_do_not_disrupt_.size() <= node) node_do_not_disrupt_.resize(node + 1, -1);
  int8_t& known = node_do_not_disrupt_[node];
  if (known < 0) known = DoNotDisrupt(store_.node(node).obj.metadata) ? 1 : 0;
  return known == 1;
}

// Voluntary disruption needs the NodeClaim live and not in a command, and no do-not-disrupt.
bool Karpenter::Disruptable(uint32_t index) {
  const auto& c = claim_state_[index];
  if (c.node == cluster::kNone || c.deleting || in_command_.count(index)) return false;
  if (NodeDoNotDisrupt(c.node) || PodsHeadOf(c.node).do_not_disrupt) return false;
  // PDBs' allowances move with every pass and eviction: asked each time.
  if (pdb_allowed_.empty()) return true;
  const auto& pods = store_.node(c.node).pods;
  return std::none_of(pods.begin(), pods.end(), [&](PodId id) { return EvictionBlocked(id); });
}

// The same, from the live claim's head (RefreshLiveHeads has run this pass).
bool Karpenter::DisruptableLive(size_t k) {
  LiveHead& h = live_heads_[k];
  if (!h.has_node || h.deleting) return false;
  const uint32_t index = live_claims_[k];
  if (!in_command_.empty() && in_command_.count(index)) return false;
  if (h.node_do_not_disrupt < 0) h.node_do_not_disrupt = NodeDoNotDisrupt(claim_state_[index].node);
  if (h.node_do_not_disrupt == 1 || h.pods_do_not_disrupt) return false;
  if (pdb_allowed_.empty()) return true;
  const auto& pods = store_.node(claim_state_[index].node).pods;
  return std::none_of(pods.begin(), pods.end(), [&](PodId id) { return EvictionBlocked(id); });
}

bool Karpenter::HeadHoldsState(const LiveHead& h, const ClaimState& s) {
  return h.nodepool == s.nodepool && h.initialized == (s.phase == ClaimPhase::kInitialized) &&
         h.deleting == s.deleting && h.has_node == (s.node != cluster::kNone) &&
         h.created_at == s.created_at;
}

void Karpenter::SyncLiveHead(uint32_t claim) {
  LiveHead* h = LiveHeadOf(claim);
  if (!h) return;
  const ClaimState& s = claim_state_[claim];
  h->nodepool = s.nodepool;
  h->initialized = s.phase == ClaimPhase::kInitialized;
  h->deleting = s.deleting;
  h->has_node = s.node != cluster::kNone;
  h->created_at = s.created_at;
}

void Karpenter::RefreshLiveHeads() {
  auto& stale = heads_stale_;
  std::sort(stale.begin(), stale.end());
  stale.erase(std::unique(stale.begin(), stale.end()), stale.end());
  for (uint32_t claim : stale) {
    LiveHead* h = LiveHeadOf(claim);
    if (!h || !h->has_node) continue;
    const NodePodsHead& pods = PodsHeadOf(claim_state_[claim].node);
    h->reschedulable = pods.reschedulable;
    h->pods_do_not_disrupt = pods.do_not_disrupt;
    h->cost = pods.cost;
    h->sims_generation = 0;  // its pods' simulation may differ now
  }
  stale.clear();
  if (!verify_consolidatable) return;
  // Every live head as read afresh from the records.
  for (size_t k = 0; k < live_claims_.size(); ++k) {
    const LiveHead& h = live_heads_[k];
    const ClaimState& s = claim_state_[live_claims_[k]];
    bool same = HeadHoldsState(h, s);
    if (same && h.has_node) {
      const NodePodsHead& pods = PodsHeadOf(s.node);
      same = h.reschedulable == pods.reschedulable &&
             h.pods_do_not_disrupt == pods.do_not_disrupt && h.cost == pods.cost;
    }
    heads_mismatches_ += !same;
  }
}

void Karpenter::CountPod(PodId id) {
  const auto& p = store_.pod(id);
  const uint32_t t = p.tmpl->id;
  if (template_pods_.size() <= t) template_pods_.resize(t + 1);
  auto& tp = template_pods_[t];
  if (!tp.labels) {
    tp.namespace_ = p.namespace_;
    tp.labels = &p.tmpl->metadata.labels;
  }
  if (pod_counted_.size() <= id) pod_counted_.resize(id + 1, 0);
  const bool live = !p.deleted && !p.Terminal();
  const bool running = live && p.Bound() && p.phase == cluster::PodPhase::kRunning;
  const uint8_t now_counted = static_cast<uint8_t>((live ? 1 : 0) | (running ? 2 : 0));
  const uint8_t was = pod_counted_[id];
  tp.live += (now_counted & 1) - (was & 1);
  tp.running += ((now_counted >> 1) & 1) - ((was >> 1) & 1);
  pod_counted_[id] = now_counted;
}

void Karpenter::RefreshPdbAllowance() {
  const auto& pdbs = manifests_.pod_disruption_budgets;
  if (pdbs.empty()) return;
  std::vector<int64_t> expected(pdbs.size(), 0), healthy(pdbs.size(), 0);
  for (auto& tp : template_pods_) {
    if (!tp.labels) continue;
    if (!tp.matched) {
      for (uint32_t b = 0; b < pdbs.size(); ++b) {
        const auto& pdb = pdbs[b];
        std::string ns = pdb.metadata.namespace_.empty() ? "default" : pdb.metadata.namespace_;
        if (ns == tp.namespace_ && pdb.selector && pdb.selector->Matches(*tp.labels)) {
          tp.pdbs.push_back(b);
        }
      }
      tp.matched = true;
    }
    for (uint32_t b : tp.pdbs) {
      expected[b] += tp.live;
      healthy[b] += tp.running;
    }
  }
  // Percentages of the expected pods round up (GetScaledValueFromIntOrPercent).
  auto scaled = [](const std::string& v, int64_t of) {
    if (!v.ends_with("%")) return std::stoll(v);
    return (std::stoll(v.substr(0, v.size() - 1)) * of + 99) / 100;
  };
  pdb_allowed_.assign(pdbs.size(), 0);
  for (uint32_t b = 0; b < pdbs.size(); ++b) {
    int64_t desired = 0;
    if (pdbs[b].min_available) {
      desired = scaled(*pdbs[b].min_available, expected[b]);
    } else if (pdbs[b].max_unavailable) {
      desired = expected[b] - scaled(*pdbs[b].max_unavailable, expected[b]);
    }
    pdb_allowed_[b] = std::max<int64_t>(0, healthy[b] - desired);
  }
}

bool Karpenter::EvictionBlocked(PodId id) const {
  const auto& p = store_.pod(id);
  if (!Reschedulable(p)) return false;
  const uint32_t t = p.tmpl->id;
  if (t >= template_pods_.size()) return false;
  const auto& pdbs = template_pods_[t].pdbs;
  // The eviction API refuses a pod covered by more than one PDB.
  return pdbs.size() > 1 || (pdbs.size() == 1 && pdb_allowed_[pdbs[0]] <= 0);
}

int64_t Karpenter::BudgetAvailable(uint32_t pool, const std::string& reason, Time now) const {
  return BudgetsAvailable(reason, now)[pool];
}

std::vector<int64_t> Karpenter::BudgetsAvailable(const std::string& reason, Time now) const {
  return BudgetsAvailable(TallyBudgets(), reason, now);
}

Karpenter::BudgetTally Karpenter::TallyBudgets() const {
  BudgetTally t{std::vector<int64_t>(pools_.size(), 0), std::vector<int64_t>(pools_.size(), 0)};
  // (A node's record is read only while some node is not Ready: a cache miss per claim.)
  const bool all_ready = store_.not_ready_nodes() == 0;
  auto deleting_or_not_ready = [&](const LiveHead& h, uint32_t claim) {
    return h.deleting || (!all_ready && h.has_node && !store_.node(claim_state_[claim].node).ready);
  };
  for (size_t k = 0; k < live_claims_.size(); ++k) {
    const LiveHead& h = live_heads_[k];
    if (h.initialized) ++t.total[h.nodepool];
    if (deleting_or_not_ready(h, live_claims_[k])) ++t.disrupting[h.nodepool];
  }
  // The live claims in a command, unless counted above (a lookup per command member, not a
  // set lookup per claim).
  for (uint32_t claim : in_command_) {
    auto it = std::lower_bound(live_claims_.begin(), live_claims_.end(), claim);
    if (it == live_claims_.end() || *it != claim) continue;
    const LiveHead& h = live_heads_[static_cast<size_t>(it - live_claims_.begin())];
    if (!deleting_or_not_ready(h, claim)) ++t.disrupting[h.nodepool];
  }
  return t;
}

std::vector<int64_t> Karpenter::BudgetsAvailable(const BudgetTally& tally,
                                                 const std::string& reason, Time now) const {
  std::vector<int64_t> out;
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    out.push_back(PoolBudget(p, reason, now, tally.total[p], tally.disrupting[p]));
  }
  return out;
}

int64_t Karpenter::PoolBudget(uint32_t pool, const std::string& reason, Time now, int64_t total,
                              int64_t disrupting) const {
  int64_t allowed = INT64_MAX;
  for (const auto& b : pools_[pool].spec->budgets) {
    if (!b.reasons.empty() &&
        std::find(b.reasons.begin(), b.reasons.end(), reason) == b.reasons.end()) {
      continue;
    }
    if (!b.schedule.empty() && !CronError(b.schedule).empty()) {
      allowed = 0;  // an invalid schedule fails closed
      continue;
    }
    if (!b.schedule.empty() && !CronWindowActive(b.schedule, *b.duration, now)) continue;
    int64_t value = 0;
    if (b.nodes.ends_with("%")) {
      int64_t pct = std::stoll(b.nodes.substr(0, b.nodes.size() - 1));
      value = (total * pct + 99) / 100;  // percentages round up
    } else {
      value = std::stoll(b.nodes);
    }
    allowed = std::min(allowed, value);
  }
  return std::max<int64_t>(allowed - disrupting, 0);
}

}  // namespace gputwin::karpenter
