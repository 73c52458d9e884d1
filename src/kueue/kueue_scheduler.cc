#include "kueue/kueue_scheduler.h"

#include <algorithm>
#include <map>

namespace gputwin::kueue {

KueueScheduler::Entry KueueScheduler::Nominate(WorkloadId id) {
  auto& w = cache_.wl(id);
  Entry e{id, w.cq, {}, {}, false, false};
  const auto& q = cache_.cq(w.cq);
  if (!q.active) {
    e.inactive = true;
    e.a.mode = FitMode::kNoFit;
    e.a.message = "ClusterQueue " + q.obj.metadata.name + " is inactive";
    e.a.reason = "Misconfigured";
    return e;
  }
  const auto& ns_labels = cache_.NamespaceLabels(w.spec.namespace_);
  if (!q.obj.namespace_selector || !q.obj.namespace_selector->Matches(ns_labels)) {
    e.namespace_mismatch = true;
    e.a.mode = FitMode::kNoFit;
    e.a.message = "Workload namespace doesn't match ClusterQueue selector";
    e.a.reason = "Misconfigured";
    return e;
  }
  std::vector<int32_t> counts;
  for (const auto& ps : w.spec.pod_sets) counts.push_back(ps.count);
  e.a = AssignFlavors(id, counts);
  if (e.a.mode == FitMode::kPreempt || e.a.mode == FitMode::kReclaim ||
      e.a.mode == FitMode::kNoCandidates) {
    e.targets = GetTargets(id, e.a.usage, e.a.frs_need_preemption);
    e.a.mode = e.targets.empty() ? FitMode::kNoCandidates : FitMode::kPreempt;
  }
  // Partial admission: only when the full size neither fits nor can preempt.
  const bool partial = std::any_of(w.spec.pod_sets.begin(), w.spec.pod_sets.end(),
                                   [](const PodSet& ps) { return ps.min_count.has_value(); });
  if (partial && (e.a.mode == FitMode::kNoFit || e.a.mode == FitMode::kNoCandidates)) {
    std::vector<int32_t> delta;
    int64_t total_delta = 0;
    for (const auto& ps : w.spec.pod_sets) {
      int32_t d = ps.min_count ? std::max(0, ps.count - *ps.min_count) : 0;
      delta.push_back(d);
      total_delta += d;
    }
    auto counts_at = [&](int64_t i) {
      std::vector<int32_t> c;
      for (size_t k = 0; k < w.spec.pod_sets.size(); ++k) {
        c.push_back(w.spec.pod_sets[k].count -
                    static_cast<int32_t>(delta[k] * i / std::max<int64_t>(1, total_delta)));
      }
      return c;
    };
    // sort.Search: the smallest reduction that fits or can preempt.
    int64_t lo = 1, hi = total_delta + 1;
    std::optional<std::pair<Assignment, std::vector<PreemptionTarget>>> found;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      Assignment a = AssignFlavors(id, counts_at(mid));
      std::vector<PreemptionTarget> t;
      bool ok = a.mode == FitMode::kFit;
      if (!ok && a.mode != FitMode::kNoFit) {
        t = GetTargets(id, a.usage, a.frs_need_preemption);
        ok = !t.empty();
      }
      if (ok) {
        hi = mid;
        if (a.mode != FitMode::kFit) a.mode = FitMode::kPreempt;
        found = std::make_pair(std::move(a), std::move(t));
      } else {
        lo = mid + 1;
      }
    }
    // hi only moves to a reduction that worked, so `found` is the one at the final lo.
    if (found) {
      e.a = std::move(found->first);
      e.targets = std::move(found->second);
    }
  }
  return e;
}

std::vector<size_t> KueueScheduler::ClassicalOrder(const std::vector<Entry>& entries) const {
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto& x = entries[a];
    const auto& y = entries[b];
    if (x.a.borrowing != y.a.borrowing) return x.a.borrowing < y.a.borrowing;
    const auto& wx = cache_.wl(x.wl);
    const auto& wy = cache_.wl(y.wl);
    if (wx.spec.priority != wy.spec.priority) return wx.spec.priority > wy.spec.priority;
    if (wx.queue_order != wy.queue_order) return wx.queue_order < wy.queue_order;
    return wx.uid < wy.uid;
  });
  return order;
}

size_t KueueScheduler::NextFairSharing(const std::vector<Entry>& entries,
                                       const std::vector<bool>& done) {
  // The first remaining entry picks the cohort tree (trees are independent).
  size_t first = entries.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!done[i]) {
      first = i;
      break;
    }
  }
  auto& tree = cache_.tree();
  const int32_t first_node = cache_.cq(entries[first].cq).node;
  if (!tree.HasParent(first_node)) return first;
  const int32_t root = tree.Root(first_node);
  const auto& fr_res = cache_.fr_resource();
  const int32_t nres = cache_.resource_count();
  // Per entry and ancestor: the child's share and borrowing after admitting it.
  struct Score {
    double drs;
    bool borrowing;
  };
  std::map<std::pair<size_t, int32_t>, Score> scores;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (done[i]) continue;
    const int32_t n = cache_.cq(entries[i].cq).node;
    if (tree.Root(n) != root || !tree.HasParent(n)) continue;
    const auto& usage = entries[i].a.usage;
    tree.AddUsage(n, usage);
    int32_t child = n;
    for (int32_t anc = tree.node(n).parent; anc >= 0; anc = tree.node(anc).parent) {
      bool borrowing = false;
      for (auto [fr, v] : usage) borrowing |= v > 0 && tree.BorrowingWith(child, fr, 0);
      scores[{i, anc}] = {tree.DominantResourceShare(child, fr_res, nres), borrowing};
      child = anc;
    }
    tree.RemoveUsage(n, usage);
  }
  auto less = [&](size_t a, size_t b, int32_t cohort) {
    const auto& sa = scores.at({a, cohort});
    const auto& sb = scores.at({b, cohort});
    if (sa.borrowing != sb.borrowing) return !sa.borrowing;  // FairSharingPrioritizeNonBorrowing
    if (sa.drs != sb.drs) return sa.drs < sb.drs;
    const auto& wa = cache_.wl(entries[a].wl);
    const auto& wb = cache_.wl(entries[b].wl);
    if (wa.spec.priority != wb.spec.priority) return wa.spec.priority > wb.spec.priority;
    if (wa.queue_order != wb.queue_order) return wa.queue_order < wb.queue_order;
    return wa.uid < wb.uid;
  };
  auto tournament = [&](auto& self, int32_t cohort) -> size_t {
    std::vector<size_t> cands;
    for (int32_t c : tree.node(cohort).child_cohorts) {
      size_t w = self(self, c);
      if (w < entries.size()) cands.push_back(w);
    }
    for (int32_t c : tree.node(cohort).child_cqs) {
      for (size_t i = 0; i < entries.size(); ++i) {
        if (!done[i] && cache_.cq(entries[i].cq).node == c) cands.push_back(i);
      }
    }
    if (cands.empty()) return entries.size();
    size_t best = cands[0];
    for (size_t k = 1; k < cands.size(); ++k) {
      if (less(cands[k], best, cohort)) best = cands[k];
    }
    return best;
  };
  return tournament(tournament, root);
}

int KueueScheduler::Schedule() {
  int cycles = 0;
  while (true) {
    // 1. One head per active ClusterQueue.
    std::vector<Entry> entries;
    std::vector<WorkloadId> heads;
    for (int32_t c = 0; c < static_cast<int32_t>(cache_.cluster_queues().size()); ++c) {
      if (!cache_.cq(c).active) continue;
      WorkloadId h = cache_.Head(c);
      if (h == kNoWorkload) continue;
      heads.push_back(h);
    }
    if (heads.empty()) break;
    ++cycles;
    ++cycles_;
    // Sticky preemptors stay sticky unless they are admitted or fail.
    std::vector<bool> was_sticky;
    for (WorkloadId h : heads) {
      was_sticky.push_back(cache_.cq(cache_.wl(h).cq).sticky == h);
      cache_.Dequeue(h);
    }
    // 2-3. Nominate every head against the same state.
    for (WorkloadId h : heads) entries.push_back(Nominate(h));
    // 4-5. Process in order, mutating the quota tree.
    std::vector<bool> done(entries.size(), false);
    std::vector<Requeue> requeue(entries.size(), Requeue::kImmediate);
    std::set<WorkloadId> victims;                   // preempted this cycle
    std::vector<std::pair<int32_t, FrUsage>> undo;  // cycle-only usage (reservations)
    bool changed = false;
    std::vector<size_t> order;
    if (!cache_.config().fair_sharing) order = ClassicalOrder(entries);
    for (size_t step = 0; step < entries.size(); ++step) {
      size_t i = cache_.config().fair_sharing ? NextFairSharing(entries, done) : order[step];
      done[i] = true;
      Entry& e = entries[i];
      auto& w = cache_.wl(e.wl);
      auto& q = cache_.cq(e.cq);
      const int32_t node = q.node;
      w.pending_message = e.a.message;
      w.pending_reason = e.a.reason.empty() ? "Pending" : e.a.reason;
      if (e.namespace_mismatch || e.inactive) {
        requeue[i] = Requeue::kInadmissible;
        continue;
      }
      if (e.a.mode == FitMode::kNoFit) {
        requeue[i] = q.strict_fifo ? Requeue::kImmediate : Requeue::kInadmissible;
        continue;
      }
      if (e.a.mode == FitMode::kNoCandidates) {
        requeue[i] = q.strict_fifo ? Requeue::kImmediate : Requeue::kInadmissible;
        // reserveCapacityForUnreclaimablePreempt
        if (q.obj.reclaim_within_cohort != "Any") {
          FrUsage reserve;
          for (auto [fr, v] : e.a.usage) {
            const auto& qn = cache_.tree().node(node);
            int64_t r;
            if (!cache_.tree().BorrowingWith(node, fr, v)) {
              r = std::max<int64_t>(0, std::min(v, qn.nominal[fr] - qn.usage[fr]));
            } else if (qn.borrowing_limit[fr] != kNoLimit) {
              r = std::max<int64_t>(
                  0, std::min(v, qn.nominal[fr] + qn.borrowing_limit[fr] - qn.usage[fr]));
            } else {
              r = v;
            }
            if (r > 0) reserve.emplace_back(fr, r);
          }
          cache_.tree().AddUsage(node, reserve);
          undo.emplace_back(node, std::move(reserve));
        }
        continue;
      }
      // Preemption targets overlapping an earlier entry's: skipped this cycle.
      bool overlap = std::any_of(e.targets.begin(), e.targets.end(),
                                 [&](const auto& t) { return victims.count(t.wl) > 0; });
      if (overlap) {
        w.pending_message = "Workload has overlapping preemption targets with another workload";
        requeue[i] = Requeue::kImmediate;
        continue;
      }
      // fits(): after the removal of every victim chosen so far (and its own).
      std::vector<WorkloadId> removed;
      for (WorkloadId v : victims) removed.push_back(v);
      for (const auto& t : e.targets) removed.push_back(t.wl);
      for (WorkloadId v : removed) RemoveWorkloadUsage(v);
      bool fits = WorkloadFits(e.cq, e.a.usage, true);
      for (WorkloadId v : removed) AddWorkloadUsage(v);
      if (!fits) {
        w.pending_message = "Workload no longer fits after processing another workload";
        requeue[i] = Requeue::kImmediate;
        continue;
      }
      if (e.a.mode == FitMode::kPreempt) {
        cache_.tree().AddUsage(node, e.a.usage);
        undo.emplace_back(node, e.a.usage);
        int issued = 0;
        for (const auto& t : e.targets) {
          victims.insert(t.wl);
          if (cache_.wl(t.wl).evicting) continue;
          std::string why = t.reason == "InClusterQueue" ? "prioritization in the ClusterQueue"
                            : t.reason == "InCohortReclamation" ? "reclamation within the cohort"
                            : t.reason == "InCohortFairSharing"
                                ? "Fair Sharing within the cohort"
                                : "reclamation within the cohort while borrowing";
          actions_.Evict(t.wl, "Preempted", t.reason,
                         "Preempted to accommodate a workload (UID: " + std::to_string(w.uid) +
                             ") due to " + why);
          q.preempted_total[t.reason]++;
          ++issued;
        }
        if (issued > 0) changed = true;
        w.pending_message =
            "Pending the preemption of " + std::to_string(e.targets.size()) + " workload(s)";
        w.pending_reason = "WaitingForPreemptedWorkloads";
        requeue[i] = Requeue::kPendingPreemption;
        continue;
      }
      // Fit.
      if (cache_.config().wait_for_pods_ready && cache_.config().block_admission &&
          !actions_.AllAdmittedPodsReady()) {
        w.pending_message = "Waiting for all admitted workloads to be in PodsReady condition";
        w.pending_reason = "Waiting";
        requeue[i] = Requeue::kImmediate;
        continue;
      }
      cache_.tree().AddUsage(node, e.a.usage);
      w.assignment = e.a.pod_sets;
      w.usage = e.a.usage;
      actions_.Admit(e.wl);
      requeue[i] = Requeue::kNone;
      changed = true;
    }
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      cache_.tree().RemoveUsage(it->first, it->second);
    }
    // Requeue what was not admitted (RequeueIfNotPresent).
    for (size_t i = 0; i < entries.size(); ++i) {
      WorkloadId id = entries[i].wl;
      auto& q = cache_.cq(entries[i].cq);
      if (requeue[i] == Requeue::kNone) continue;
      if (cache_.wl(id).phase != WorkloadPhase::kPending) continue;
      cache_.Enqueue(id);
      if (requeue[i] == Requeue::kInadmissible) {
        cache_.MarkInadmissible(id);
        changed = true;
      } else if (requeue[i] == Requeue::kPendingPreemption && !q.strict_fifo) {
        q.sticky = id;
      } else if (was_sticky[i] && requeue[i] == Requeue::kImmediate && !q.strict_fifo) {
        q.sticky = id;
      }
    }
    if (!changed) break;
  }
  return cycles;
}

}  // namespace gputwin::kueue
