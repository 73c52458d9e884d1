#include "kueue/scheduler.h"

#include <algorithm>
#include <map>

#include "cluster/scheduling_helpers.h"

namespace gputwin::kueue {

namespace {

std::string TaintString(const api::Taint& t) {
  // corev1.Taint.String(): key=value:effect, or key:effect without a value.
  return t.key + (t.value.empty() ? "" : "=" + t.value) + ":" + t.effect;
}

// flavorSelector: only the keys the flavor's nodeLabels use are considered; a required
// affinity term whose every expression uses other keys matches anything.
bool FlavorMatchesAffinity(const api::PodSpec& spec, const api::Labels& flavor_labels) {
  for (const auto& [k, v] : spec.node_selector) {
    auto it = flavor_labels.find(k);
    if (it != flavor_labels.end() && it->second != v) return false;
  }
  if (!spec.node_affinity || !spec.node_affinity->required) return true;
  const auto& terms = *spec.node_affinity->required;
  if (terms.empty()) return true;
  for (const auto& term : terms) {
    bool matches = true;
    for (const auto& e : term.match_expressions) {
      if (!flavor_labels.count(e.key)) continue;
      if (!cluster::MatchesRequirement(e, flavor_labels)) {
        matches = false;
        break;
      }
    }
    if (matches) return true;
  }
  return false;
}

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

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

FrUsage Scheduler::UsageOf(WorkloadId id, const std::vector<PodSetAssignment>& pod_sets) {
  auto& w = cache_.wl(id);
  const auto& q = cache_.cq(w.cq);
  std::map<FrId, int64_t> sum;
  for (size_t i = 0; i < pod_sets.size(); ++i) {
    const auto& psa = pod_sets[i];
    auto add = [&](int32_t r, int64_t v) {
      if (v == 0 || r >= static_cast<int32_t>(q.group_of_resource.size())) return;
      int32_t g = q.group_of_resource[static_cast<size_t>(r)];
      if (g < 0 || psa.flavor_per_group[static_cast<size_t>(g)] < 0) return;
      FrId fr = cache_.Fr(psa.flavor_per_group[static_cast<size_t>(g)], r);
      if (fr >= 0) sum[fr] += v;
    };
    for (auto [r, v] : cache_.PodRequests(w.spec.pod_sets[i])) add(r, v * psa.count);
    if (q.covers_pods) add(cache_.ResourceIndex("pods"), int64_t{psa.count});
  }
  return {sum.begin(), sum.end()};
}

bool Scheduler::WorkloadFits(int32_t cq, const FrUsage& usage, bool allow_borrowing) const {
  const int32_t node = cache_.cq(cq).node;
  for (auto [fr, v] : usage) {
    if (!allow_borrowing && cache_.tree().BorrowingWith(node, fr, v)) return false;
    if (v > cache_.tree().Available(node, fr)) return false;
  }
  return true;
}

FitMode Scheduler::FitsResourceQuota(WorkloadId id, FrId fr, int64_t assumed, int64_t request,
                                     int* borrow, std::string* status, std::string* reason) {
  const auto& w = cache_.wl(id);
  const int32_t node = cache_.cq(w.cq).node;
  const auto& tree = cache_.tree();
  const int64_t val = assumed + request;
  const int64_t available = tree.Available(node, fr);
  const int64_t max_capacity = tree.PotentialAvailable(node, fr);
  const int32_t res = cache_.FrKey(fr).resource;
  const std::string& rname = cache_.ResourceName(res);
  const std::string& fname = cache_.FlavorName(cache_.FrKey(fr).flavor);
  *borrow = 0;
  if (val > max_capacity) {
    *status = "insufficient quota for " + rname + " in flavor " + fname +
              ", previously considered podsets requests (" + cache_.FormatAmount(res, assumed) +
              ") + current podset request (" + cache_.FormatAmount(res, request) +
              ") > maximum capacity (" + cache_.FormatAmount(res, max_capacity) + ")";
    *reason = "ExceedsMaxQuota";
    return FitMode::kNoFit;
  }
  auto [height, may_reclaim] = tree.HeightOfLowestSubtreeThatFits(node, fr, val);
  *borrow = height;
  if (val <= available) return FitMode::kFit;
  *status = "insufficient unused quota for " + rname + " in flavor " + fname + ", " +
            cache_.FormatAmount(res, val - available) + " more needed";
  *reason = "WaitingForQuota";
  const auto& p = cache_.cq(w.cq).obj;
  const bool preempt_while_borrowing =
      p.borrow_within_cohort != "Never" ||
      (cache_.config().fair_sharing && p.reclaim_within_cohort != "Never");
  if (tree.node(node).nominal[fr] >= val || may_reclaim || preempt_while_borrowing) {
    // The preemption oracle: would preempting in this one flavor-resource make room?
    FrUsage one{{fr, val}};
    auto targets = GetTargets(id, one, {fr});
    if (targets.empty()) return FitMode::kNoCandidates;
    for (const auto& t : targets) RemoveWorkloadUsage(t.wl);
    *borrow = cache_.tree().HeightOfLowestSubtreeThatFits(node, fr, val).first;
    for (const auto& t : targets) AddWorkloadUsage(t.wl);
    bool own = std::any_of(targets.begin(), targets.end(),
                           [&](const auto& t) { return cache_.wl(t.wl).cq == w.cq; });
    return own ? FitMode::kPreempt : FitMode::kReclaim;
  }
  return FitMode::kNoFit;
}

Assignment Scheduler::AssignFlavors(WorkloadId id, const std::vector<int32_t>& counts) {
  auto& w = cache_.wl(id);
  const auto& q = cache_.cq(w.cq);
  const bool borrowing_first = q.obj.fungibility_preference == "BorrowingOverPreemption";
  Assignment a;
  std::map<FrId, int64_t> assumed;
  std::vector<std::string> messages;
  for (size_t i = 0; i < w.spec.pod_sets.size(); ++i) {
    const auto& ps = w.spec.pod_sets[i];
    PodSetAssignment psa;
    psa.name = ps.name;
    psa.count = counts[i];
    psa.flavor_per_group.assign(q.groups.size(), -1);
    std::vector<std::pair<int32_t, int64_t>> total;
    for (auto [r, v] : cache_.PodRequests(ps)) {
      if (v != 0) total.emplace_back(r, v * psa.count);
    }
    if (q.covers_pods) total.emplace_back(cache_.ResourceIndex("pods"), psa.count);
    std::sort(total.begin(), total.end(), [&](const auto& x, const auto& y) {
      return cache_.ResourceName(x.first) < cache_.ResourceName(y.first);
    });
    std::vector<std::string> reasons;
    FitMode ps_mode = FitMode::kFit;
    std::vector<int32_t> groups_needed;
    for (auto [r, v] : total) {
      int32_t g = r < static_cast<int32_t>(q.group_of_resource.size())
                      ? q.group_of_resource[static_cast<size_t>(r)]
                      : -1;
      if (g < 0) {
        if (cache_.config().quota_check_strategy == "BlockUndeclared") {
          reasons.push_back("resource " + cache_.ResourceName(r) + " unavailable in ClusterQueue");
          ps_mode = FitMode::kNoFit;
        }
        continue;
      }
      if (std::find(groups_needed.begin(), groups_needed.end(), g) == groups_needed.end()) {
        groups_needed.push_back(g);
      }
    }
    bool no_matching_flavor = false;
    for (int32_t g : groups_needed) {
      if (ps_mode == FitMode::kNoFit) break;
      struct Choice {
        int32_t flavor = -1;
        FitMode mode = FitMode::kNoFit;
        int borrow = 0;
        std::vector<FrId> need_preemption;
      } best;
      bool any_eligible = false;
      for (int32_t f : q.groups[static_cast<size_t>(g)].flavors) {
        const api::ResourceFlavor* rf = cache_.Flavor(f);
        const std::string& fname = cache_.FlavorName(f);
        if (!rf) {
          reasons.push_back("flavor " + fname + " not found");
          continue;
        }
        std::vector<api::Toleration> tolerations = ps.spec.tolerations;
        tolerations.insert(tolerations.end(), rf->tolerations.begin(), rf->tolerations.end());
        if (const api::Taint* t =
                cluster::FindUntoleratedTaint(rf->node_taints, tolerations, true, true)) {
          reasons.push_back("untolerated taint " + TaintString(*t) + " in flavor " + fname);
          continue;
        }
        if (!FlavorMatchesAffinity(ps.spec, rf->node_labels)) {
          reasons.push_back("flavor " + fname + " doesn't match node affinity");
          continue;
        }
        any_eligible = true;
        Choice c;
        c.flavor = f;
        c.mode = FitMode::kFit;
        for (auto [r, v] : total) {
          if (r >= static_cast<int32_t>(q.group_of_resource.size()) ||
              q.group_of_resource[static_cast<size_t>(r)] != g) {
            continue;
          }
          FrId fr = cache_.Fr(f, r);
          int borrow = 0;
          std::string status, reason;
          FitMode m = FitsResourceQuota(id, fr, assumed[fr], v, &borrow, &status, &reason);
          if (!status.empty()) reasons.push_back(status);
          if (reason == "ExceedsMaxQuota" && a.reason.empty()) a.reason = reason;
          c.mode = std::min(c.mode, m);
          c.borrow = std::max(c.borrow, borrow);
          if (m != FitMode::kFit && m != FitMode::kNoFit) c.need_preemption.push_back(fr);
        }
        auto preferred = [&](const Choice& x, const Choice& y) {
          if (y.flavor < 0) return true;
          if (borrowing_first) {
            if (x.mode != y.mode) return x.mode > y.mode;
            return x.borrow < y.borrow;
          }
          if (x.borrow != y.borrow) return x.borrow < y.borrow;
          return x.mode > y.mode;
        };
        if (c.mode != FitMode::kNoFit && preferred(c, best)) best = c;
        // shouldTryNextFlavor: stop at a fit without borrowing, or as fungibility says.
        bool stop = false;
        if (c.mode == FitMode::kFit) {
          stop = c.borrow == 0 || q.obj.when_can_borrow == "MayStopSearch";
        } else if (c.mode == FitMode::kPreempt || c.mode == FitMode::kReclaim) {
          stop = q.obj.when_can_preempt == "MayStopSearch";
        }
        if (stop) break;
      }
      if (!any_eligible) no_matching_flavor = true;
      if (best.flavor < 0) {
        ps_mode = FitMode::kNoFit;
        break;
      }
      psa.flavor_per_group[static_cast<size_t>(g)] = best.flavor;
      ps_mode = std::min(ps_mode, best.mode);
      a.borrowing = std::max(a.borrowing, best.borrow);
      for (FrId fr : best.need_preemption) a.frs_need_preemption.insert(fr);
      for (auto [r, v] : total) {
        if (r < static_cast<int32_t>(q.group_of_resource.size()) &&
            q.group_of_resource[static_cast<size_t>(r)] == g) {
          assumed[cache_.Fr(best.flavor, r)] += v;
          psa.flavors[cache_.ResourceName(r)] = cache_.FlavorName(best.flavor);
        }
      }
    }
    if (no_matching_flavor && ps_mode == FitMode::kNoFit && a.reason.empty()) {
      a.reason = "NoMatchingFlavor";
    }
    if (ps_mode != FitMode::kFit) {
      messages.push_back("couldn't assign flavors to pod set " + ps.name + ": " + Join(reasons));
    }
    a.mode = std::min(a.mode, ps_mode);
    a.pod_sets.push_back(std::move(psa));
  }
  a.message = Join(messages);
  if (a.reason.empty() && a.mode != FitMode::kFit) a.reason = "WaitingForQuota";
  if (a.mode != FitMode::kNoFit) a.usage = UsageOf(id, a.pod_sets);
  return a;
}

void Scheduler::RemoveWorkloadUsage(WorkloadId id) {
  const auto& w = cache_.wl(id);
  cache_.tree().RemoveUsage(cache_.cq(w.cq).node, w.usage);
}

void Scheduler::AddWorkloadUsage(WorkloadId id) {
  const auto& w = cache_.wl(id);
  cache_.tree().AddUsage(cache_.cq(w.cq).node, w.usage);
}

bool Scheduler::UsesAny(WorkloadId id, const std::set<FrId>& frs) const {
  for (auto [fr, v] : cache_.wl(id).usage) {
    if (v > 0 && frs.count(fr)) return true;
  }
  return false;
}

bool Scheduler::WithinNominalIn(int32_t node, const std::set<FrId>& frs) const {
  for (FrId fr : frs) {
    if (!cache_.tree().WithinNominal(node, fr)) return false;
  }
  return true;
}

// CandidatesOrdering: evicted first, other ClusterQueues first, lower priority, most
// recently admitted, then UID.
bool Scheduler::CandidateLess(WorkloadId a, WorkloadId b, int32_t preemptor_cq) const {
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

std::vector<PreemptionTarget> Scheduler::GetTargets(WorkloadId id, const FrUsage& usage,
                                                    const std::set<FrId>& frs) {
  if (cache_.config().fair_sharing) return FairTargets(id, usage, frs);
  return ClassicalTargets(id, usage, frs);
}

void Scheduler::FillBack(int32_t cq, const FrUsage& usage, bool allow_borrowing,
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

std::vector<PreemptionTarget> Scheduler::ClassicalTargets(WorkloadId id, const FrUsage& usage,
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
  if (q.obj.within_cluster_queue != "Never") {
    for (WorkloadId c : q.admitted) {
      const auto& cw = cache_.wl(c);
      if (c == id || !UsesAny(c, frs)) continue;
      if (!SatisfiesPolicy(q.obj.within_cluster_queue, w, cw)) continue;
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
      if (!UsesAny(c, frs)) return std::nullopt;
      if (!SatisfiesPolicy(q.obj.reclaim_within_cohort, w, cw)) return std::nullopt;
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
          for (WorkloadId c : cache_.cq(cache_.CqOfNode(child)).admitted) {
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

std::vector<PreemptionTarget> Scheduler::FairTargets(WorkloadId id, const FrUsage& usage,
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

Scheduler::Entry Scheduler::Nominate(WorkloadId id) {
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
    if (found && lo <= total_delta) {
      if (found->first.pod_sets.front().count != counts_at(lo).front()) {
        Assignment a = AssignFlavors(id, counts_at(lo));
        std::vector<PreemptionTarget> t;
        if (a.mode != FitMode::kFit) {
          t = GetTargets(id, a.usage, a.frs_need_preemption);
          a.mode = FitMode::kPreempt;
        }
        found = std::make_pair(std::move(a), std::move(t));
      }
      e.a = std::move(found->first);
      e.targets = std::move(found->second);
    }
  }
  return e;
}

std::vector<size_t> Scheduler::ClassicalOrder(const std::vector<Entry>& entries) const {
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

size_t Scheduler::NextFairSharing(const std::vector<Entry>& entries,
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

int Scheduler::Schedule(Time now) {
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
    if (changed) ++successful_cycles_;
    if (!changed) break;
    (void)now;
  }
  return cycles;
}

}  // namespace gputwin::kueue
