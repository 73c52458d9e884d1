// Preemption (pkg/scheduler/preemption): the classic victim search (candidates,
// hierarchical reclaim, attempts with and without borrowing, fill-back) and fair sharing's
// (target ClusterQueues by share, strategies S2-a and S2-b).
#include <algorithm>
#include <map>
#include <optional>

#include "kueue/kueue_scheduler.h"

namespace gputwin::kueue {

namespace {

bool SatisfiesPolicy(const std::string& policy, const WorkloadState& preemptor,
                     const WorkloadState& candidate) {
  if (policy == "Any") return true;
  if (policy == "LowerPriority") return candidate.spec.priority < preemptor.spec.priority;
  if (policy == "LowerOrNewerEqualPriority") {
    return candidate.spec.priority < preemptor.spec.priority ||
           (candidate.spec.priority == preemptor.spec.priority &&
            preemptor.queue_order < candidate.queue_order);
  }
  return false;
}

// Whether a ClusterQueue may hold a workload the policy lets the preemptor preempt, from
// the lowest priority admitted there (SatisfiesPolicy needs a lower one, or an equal one
// for LowerOrNewerEqualPriority).
bool MayHoldCandidates(const std::string& policy, const WorkloadState& preemptor,
                       const ClusterQueueState& q) {
  if (q.admitted_priorities.empty()) return false;
  if (policy == "Any") return true;
  const int32_t lowest = q.admitted_priorities.begin()->first;
  if (policy == "LowerPriority") return lowest < preemptor.spec.priority;
  if (policy == "LowerOrNewerEqualPriority") return lowest <= preemptor.spec.priority;
  return false;
}

}  // namespace

bool KueueScheduler::WorkloadFits(int32_t cq, const FrUsage& usage, bool allow_borrowing) const {
  const int32_t node = cache_.cq(cq).node;
  for (auto [fr, v] : usage) {
    if (!allow_borrowing && cache_.tree().BorrowingWith(node, fr, v)) return false;
    if (v > cache_.tree().Available(node, fr)) return false;
  }
  return true;
}

void KueueScheduler::RemoveWorkloadUsage(WorkloadId id) {
  const auto& w = cache_.wl(id);
  cache_.tree().RemoveUsage(cache_.cq(w.cq).node, w.usage);
}

void KueueScheduler::AddWorkloadUsage(WorkloadId id) {
  const auto& w = cache_.wl(id);
  cache_.tree().AddUsage(cache_.cq(w.cq).node, w.usage);
}

bool KueueScheduler::UsesAny(WorkloadId id, const std::set<FrId>& frs) const {
  for (auto [fr, v] : cache_.wl(id).usage) {
    if (v > 0 && frs.count(fr)) return true;
  }
  return false;
}

bool KueueScheduler::WithinNominalIn(int32_t node, const std::set<FrId>& frs) const {
  for (FrId fr : frs) {
    if (!cache_.tree().WithinNominal(node, fr)) return false;
  }
  return true;
}

// CandidatesOrdering: evicted first, other ClusterQueues first, lower priority, most
// recently admitted, then UID.
bool KueueScheduler::CandidateLess(WorkloadId a, WorkloadId b, int32_t preemptor_cq) const {
  const auto& x = cache_.wl(a);
  const auto& y = cache_.wl(b);
  if (x.evicting != y.evicting) return x.evicting;
  const bool xo = x.cq != preemptor_cq, yo = y.cq != preemptor_cq;
  if (xo != yo) return xo;
  if (x.spec.priority != y.spec.priority) return x.spec.priority < y.spec.priority;
  if (x.quota_reserved_at != y.quota_reserved_at) return x.quota_reserved_at > y.quota_reserved_at;
  // Upstream's cycles take real time, so of two admissions the later one has the newer
  // timestamp; the twin's cycles take none, so the admission order stands in.
  if (x.quota_reserved_seq != y.quota_reserved_seq) {
    return x.quota_reserved_seq > y.quota_reserved_seq;
  }
  return x.uid < y.uid;
}

std::vector<PreemptionTarget> KueueScheduler::GetTargets(WorkloadId id, const FrUsage& usage,
                                                         const std::set<FrId>& frs) {
  if (cache_.config().fair_sharing) return FairTargets(id, usage, frs);
  return ClassicalTargets(id, usage, frs);
}

void KueueScheduler::FillBack(int32_t cq, const FrUsage& usage, bool allow_borrowing,
                              std::vector<PreemptionTarget>* targets) {
  // Walk the chosen victims from the second-to-last back: put each back; if the workload
  // still fits without it, spare it.
  for (int i = static_cast<int>(targets->size()) - 2; i >= 0; --i) {
    WorkloadId v = (*targets)[static_cast<size_t>(i)].wl;
    AddWorkloadUsage(v);
    if (WorkloadFits(cq, usage, allow_borrowing)) {
      targets->erase(targets->begin() + i);
    } else {
      RemoveWorkloadUsage(v);
    }
  }
}

std::vector<PreemptionTarget> KueueScheduler::ClassicalTargets(WorkloadId id, const FrUsage& usage,
                                                               const std::set<FrId>& frs) {
  const auto& w = cache_.wl(id);
  const int32_t cqi = w.cq;
  const auto& q = cache_.cq(cqi);
  const auto& tree = cache_.tree();
  const int32_t node = q.node;
  enum Variant { kWithinCQ, kHierarchical, kWithoutBorrowing, kWhileBorrowing };
  struct Candidate {
    WorkloadId wl;
    Variant variant;
    int32_t lca;
  };
  std::vector<Candidate> same, hierarchy, priority;
  if (q.obj.within_cluster_queue != "Never" &&
      MayHoldCandidates(q.obj.within_cluster_queue, w, q)) {
    for (WorkloadId c : q.admitted) {
      const auto& cw = cache_.wl(c);
      if (c == id || !SatisfiesPolicy(q.obj.within_cluster_queue, w, cw)) continue;
      if (!UsesAny(c, frs)) continue;
      same.push_back({c, kWithinCQ, -1});
    }
  }
  const bool bwc = q.obj.borrow_within_cohort != "Never";
  if (tree.HasParent(node) && q.obj.reclaim_within_cohort != "Never") {
    // QuantitiesFitInQuota, node by node up the tree.
    std::map<FrId, int64_t> remaining(usage.begin(), usage.end());
    auto fits_in = [&](int32_t n) {
      bool fits = true;
      for (auto& [fr, v] : remaining) {
        if (tree.node(n).usage[fr] + v > tree.node(n).subtree[fr]) fits = false;
        v = std::max<int64_t>(0, v - tree.LocalAvailable(n, fr));
      }
      return fits;
    };
    bool advantage = fits_in(node);
    int32_t previous = -1;
    auto classify = [&](WorkloadId c, bool adv) -> std::optional<Variant> {
      const auto& cw = cache_.wl(c);
      if (!SatisfiesPolicy(q.obj.reclaim_within_cohort, w, cw)) return std::nullopt;
      if (!UsesAny(c, frs)) return std::nullopt;
      if (adv) return kHierarchical;
      if (!bwc) return kWithoutBorrowing;
      if (cw.spec.priority >= w.spec.priority ||
          (q.obj.borrow_max_priority_threshold &&
           cw.spec.priority > *q.obj.borrow_max_priority_threshold)) {
        return kWithoutBorrowing;
      }
      return kWhileBorrowing;
    };
    for (int32_t root = tree.node(node).parent; root >= 0; root = tree.node(root).parent) {
      auto& list = advantage ? hierarchy : priority;
      auto collect = [&](auto& self, int32_t cur) -> void {
        for (int32_t child : tree.node(cur).child_cohorts) {
          if (child == previous || WithinNominalIn(child, frs)) continue;
          self(self, child);
        }
        for (int32_t child : tree.node(cur).child_cqs) {
          if (child == node || WithinNominalIn(child, frs)) continue;
          const auto& other = cache_.cq(cache_.CqOfNode(child));
          if (!MayHoldCandidates(q.obj.reclaim_within_cohort, w, other)) continue;
          for (WorkloadId c : other.admitted) {
            if (auto v = classify(c, advantage)) list.push_back({c, *v, root});
          }
        }
      };
      collect(collect, root);
      advantage = fits_in(root) || advantage;
      previous = root;
    }
  }
  auto order = [&](std::vector<Candidate>& v) {
    std::sort(v.begin(), v.end(), [&](const Candidate& a, const Candidate& b) {
      return CandidateLess(a.wl, b.wl, cqi);
    });
  };
  order(same);
  order(hierarchy);
  order(priority);
  std::vector<Candidate> all;
  for (auto* list : {&hierarchy, &priority, &same}) {
    for (const auto& c : *list) {
      if (cache_.wl(c.wl).evicting) all.push_back(c);
    }
  }
  for (auto* list : {&hierarchy, &priority, &same}) {
    for (const auto& c : *list) {
      if (!cache_.wl(c.wl).evicting) all.push_back(c);
    }
  }
  bool under_nominal = true;
  for (FrId fr : frs) {
    if (tree.node(node).nominal[fr] <= tree.node(node).usage[fr]) under_nominal = false;
  }
  std::vector<bool> attempts;
  if ((hierarchy.empty() && priority.empty()) || (!bwc && !under_nominal)) {
    attempts = {true};
  } else if (!bwc && hierarchy.empty()) {
    attempts = {false, true};
  } else {
    attempts = {true, false};
  }
  for (bool allow_borrowing : attempts) {
    std::vector<PreemptionTarget> targets;
    for (const auto& c : all) {
      const auto& cw = cache_.wl(c.wl);
      if (c.variant != kWithinCQ) {
        if (c.variant == kWithoutBorrowing && allow_borrowing) continue;
        // Skip when earlier removals brought its ClusterQueue (or a cohort below the
        // common ancestor) back within nominal.
        bool within = false;
        for (int32_t n = cache_.cq(cw.cq).node; n >= 0 && n != c.lca; n = tree.node(n).parent) {
          if (WithinNominalIn(n, frs)) {
            within = true;
            break;
          }
        }
        if (within) continue;
      }
      RemoveWorkloadUsage(c.wl);
      std::string reason = c.variant == kWithinCQ         ? "InClusterQueue"
                           : c.variant == kWhileBorrowing ? "InCohortReclaimWhileBorrowing"
                                                          : "InCohortReclamation";
      targets.push_back({c.wl, reason});
      if (WorkloadFits(cqi, usage, allow_borrowing)) {
        FillBack(cqi, usage, allow_borrowing, &targets);
        for (const auto& t : targets) AddWorkloadUsage(t.wl);
        return targets;
      }
    }
    for (const auto& t : targets) AddWorkloadUsage(t.wl);
  }
  return {};
}

std::vector<PreemptionTarget> KueueScheduler::FairTargets(WorkloadId id, const FrUsage& usage,
                                                          const std::set<FrId>& frs) {
  const auto& w = cache_.wl(id);
  const int32_t cqi = w.cq;
  const auto& q = cache_.cq(cqi);
  auto& tree = cache_.tree();
  const int32_t node = q.node;
  const auto& fr_res = cache_.fr_resource();
  const int32_t nres = cache_.resource_count();
  // Candidates: same-CQ workloads by withinClusterQueue, and workloads of any borrowing
  // ClusterQueue of the tree by reclaimWithinCohort.
  std::map<int32_t, std::vector<WorkloadId>> by_cq;
  if (q.obj.within_cluster_queue != "Never") {
    for (WorkloadId c : q.admitted) {
      if (c != id && UsesAny(c, frs) &&
          SatisfiesPolicy(q.obj.within_cluster_queue, w, cache_.wl(c))) {
        by_cq[cqi].push_back(c);
      }
    }
  }
  if (tree.HasParent(node) && q.obj.reclaim_within_cohort != "Never") {
    for (int32_t other : cache_.CqsInTree(cqi)) {
      if (other == cqi) continue;
      const int32_t on = cache_.cq(other).node;
      bool borrowing = false;
      for (FrId fr : frs) borrowing |= tree.BorrowingWith(on, fr, 0);
      if (!borrowing) continue;
      for (WorkloadId c : cache_.cq(other).admitted) {
        if (UsesAny(c, frs) && SatisfiesPolicy(q.obj.reclaim_within_cohort, w, cache_.wl(c))) {
          by_cq[other].push_back(c);
        }
      }
    }
  }
  for (auto& [c, list] : by_cq) {
    std::sort(list.begin(), list.end(),
              [&](WorkloadId a, WorkloadId b) { return CandidateLess(a, b, cqi); });
  }
  tree.AddUsage(node, usage);
  auto fits = [&] {
    tree.RemoveUsage(node, usage);
    bool ok = WorkloadFits(cqi, usage, true);
    tree.AddUsage(node, usage);
    return ok;
  };
  auto drs = [&](int32_t n) { return tree.DominantResourceShare(n, fr_res, nres); };
  // The children of the lowest common ancestor on each side ("almost LCA").
  auto almost_lca = [&](int32_t target_node) -> std::pair<int32_t, int32_t> {
    std::vector<int32_t> path;
    for (int32_t n = node; n >= 0; n = tree.node(n).parent) path.push_back(n);
    int32_t t = target_node, prev_t = target_node;
    while (std::find(path.begin(), path.end(), t) == path.end()) {
      prev_t = t;
      t = tree.node(t).parent;
    }
    auto it = std::find(path.begin(), path.end(), t);
    int32_t preemptor_side = it == path.begin() ? node : *(it - 1);
    return {preemptor_side, prev_t};
  };
  // TargetClusterQueueOrdering: from the root, descend into the child with the highest
  // share, among borrowing nodes with candidates left (the preemptor's own CQ always).
  std::vector<int32_t> on_path;
  for (int32_t n = node; n >= 0; n = tree.node(n).parent) on_path.push_back(n);
  auto next_target = [&](const std::map<int32_t, std::vector<WorkloadId>>& cands) -> int32_t {
    auto has_cands = [&](auto& self, int32_t n) -> bool {
      const auto& qn = tree.node(n);
      if (qn.is_cluster_queue) {
        auto it = cands.find(cache_.CqOfNode(n));
        return it != cands.end() && !it->second.empty();
      }
      for (int32_t c : qn.child_cohorts) {
        if (self(self, c)) return true;
      }
      for (int32_t c : qn.child_cqs) {
        if (self(self, c)) return true;
      }
      return false;
    };
    int32_t cur = tree.Root(node);
    if (!has_cands(has_cands, cur)) return -1;
    while (!tree.node(cur).is_cluster_queue) {
      int32_t best = -1;
      double best_share = -1;
      auto consider = [&](int32_t c) {
        if (!has_cands(has_cands, c)) return;
        const bool mine = std::find(on_path.begin(), on_path.end(), c) != on_path.end();
        double s = drs(c);
        if (!mine && s == 0) {
          bool borrowing = false;
          for (FrId fr : frs) borrowing |= tree.BorrowingWith(c, fr, 0);
          if (!borrowing) return;
        }
        if (best < 0 || s > best_share) {
          best = c;
          best_share = s;
        }
      };
      for (int32_t c : tree.node(cur).child_cohorts) consider(c);
      for (int32_t c : tree.node(cur).child_cqs) consider(c);
      if (best < 0) return -1;
      cur = best;
    }
    return cache_.CqOfNode(cur);
  };
  std::vector<PreemptionTarget> targets;
  std::map<int32_t, std::vector<WorkloadId>> retry;
  bool done = false;
  auto take = [&](WorkloadId c, const char* reason) {
    RemoveWorkloadUsage(c);
    targets.push_back({c, reason});
    done = fits();
  };
  // Strategy 1 (first configured): LessThanOrEqualToFinalShare, or LessThanInitialShare.
  const auto& strategies = cache_.config().fair_sharing_strategies;
  const bool first_is_final = strategies.front() == "LessThanOrEqualToFinalShare";
  auto cands = by_cq;
  while (!done) {
    int32_t target = next_target(cands);
    if (target < 0) break;
    auto& list = cands[target];
    if (target == cqi) {
      WorkloadId c = list.front();
      list.erase(list.begin());
      take(c, "InClusterQueue");
      continue;
    }
    bool within_nominal = true;
    for (FrId fr : frs) within_nominal &= !tree.BorrowingWith(node, fr, 0);
    if (within_nominal) {
      // FairSharingPreemptWithinNominal: a ClusterQueue within its nominal quota after
      // admission reclaims unconditionally.
      WorkloadId c = list.front();
      list.erase(list.begin());
      take(c, "InCohortReclamation");
      continue;
    }
    auto [pside, tside] = almost_lca(cache_.cq(target).node);
    const double preemptor_new = drs(pside);
    const double target_old = drs(tside);
    bool took = false;
    while (!list.empty()) {
      WorkloadId c = list.front();
      list.erase(list.begin());
      RemoveWorkloadUsage(c);
      const double target_new = drs(tside);
      AddWorkloadUsage(c);
      bool ok = first_is_final ? preemptor_new <= target_new : preemptor_new < target_old;
      if (ok) {
        take(c, "InCohortFairSharing");
        took = true;
        break;
      }
      retry[target].push_back(c);
    }
    (void)took;
  }
  // Strategy 2 (LessThanInitialShare) over what strategy 1 left: one per ClusterQueue.
  if (!done && strategies.size() > 1) {
    while (!done) {
      int32_t target = next_target(retry);
      if (target < 0) break;
      auto [pside, tside] = almost_lca(cache_.cq(target).node);
      if (drs(pside) < drs(tside)) take(retry[target].front(), "InCohortFairSharing");
      retry[target].clear();
    }
  }
  tree.RemoveUsage(node, usage);
  if (!done) {
    for (const auto& t : targets) AddWorkloadUsage(t.wl);
    return {};
  }
  FillBack(cqi, usage, true, &targets);
  for (const auto& t : targets) AddWorkloadUsage(t.wl);
  return targets;
}

}  // namespace gputwin::kueue
