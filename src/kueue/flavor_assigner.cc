// Flavor assignment (pkg/scheduler/flavorassigner/flavorassigner.go): the flavors of
// each resource group tried in order, with the fungibility rules and Kueue's messages.
#include <algorithm>
#include <map>

#include "cluster/scheduling_helpers.h"
#include "kueue/kueue_scheduler.h"

namespace gputwin::kueue {

namespace {

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

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

FrUsage KueueScheduler::UsageOf(WorkloadId id, const std::vector<PodSetAssignment>& pod_sets) {
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
    for (auto [r, v] : w.pod_requests[i]) add(r, v * psa.count);
    if (q.covers_pods) add(cache_.pods_resource(), int64_t{psa.count});
  }
  return {sum.begin(), sum.end()};
}

FitMode KueueScheduler::FitsResourceQuota(WorkloadId id, FrId fr, int64_t assumed, int64_t request,
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

Assignment KueueScheduler::AssignFlavors(WorkloadId id, const std::vector<int32_t>& counts) {
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
    for (auto [r, v] : w.pod_requests[i]) {
      if (v != 0) total.emplace_back(r, v * psa.count);
    }
    if (q.covers_pods) total.emplace_back(cache_.pods_resource(), psa.count);
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
        std::vector<api::Toleration> tolerations = ps.spec->tolerations;
        tolerations.insert(tolerations.end(), rf->tolerations.begin(), rf->tolerations.end());
        if (const api::Taint* t =
                cluster::FindUntoleratedTaint(rf->node_taints, tolerations, true, true)) {
          reasons.push_back("untolerated taint " + cluster::TaintString(*t) + " in flavor " +
                            fname);
          continue;
        }
        if (!FlavorMatchesAffinity(*ps.spec, rf->node_labels)) {
          reasons.push_back("flavor " + fname + " doesn't match node affinity");
          continue;
        }
        // checkPodSetAndFlavorMatchForTAS: a TAS request (explicit, or implied by a TAS-only
        // ClusterQueue) needs a flavor with a topology that has its level; a flavor with a
        // topology takes only TAS requests.
        const bool tas_requested = ps.topology.has_value() || q.tas_only;
        if (tas_requested) {
          if (rf->topology_name.empty()) {
            reasons.push_back("Flavor \"" + fname + "\" does not support TopologyAwareScheduling");
            continue;
          }
          const auto* levels = cache_.TopologyLevels(f);
          if (!levels) {
            reasons.push_back("Flavor \"" + fname + "\" information missing in TAS cache");
            continue;
          }
          const std::string level = ps.topology ? ps.topology->Level() : "";
          const std::string slice = ps.topology ? ps.topology->slice_level : "";
          auto has = [&](const std::string& l) {
            return l.empty() || std::find(levels->begin(), levels->end(), l) != levels->end();
          };
          if (!has(level) || !has(slice)) {
            reasons.push_back("Flavor \"" + fname + "\" does not contain the requested level");
            continue;
          }
        } else if (!rf->topology_name.empty()) {
          reasons.push_back("Flavor \"" + fname + "\" supports only TopologyAwareScheduling");
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
  // Topology only once the quota fits (the twin does not run upstream's empty-cluster pass
  // that turns a topology misfit into preemption).
  if (a.mode == FitMode::kFit && !AssignTopology(id, &a)) a.mode = FitMode::kNoFit;
  if (a.mode != FitMode::kNoFit) a.usage = UsageOf(id, a.pod_sets);
  return a;
}

bool KueueScheduler::AssignTopology(WorkloadId id, Assignment* a) {
  const auto& w = cache_.wl(id);
  // PodSets by the flavor of their topology, in order (FindTopologyAssignmentsForFlavor).
  std::map<int32_t, std::vector<size_t>> by_flavor;
  for (size_t i = 0; i < a->pod_sets.size(); ++i) {
    for (int32_t f : a->pod_sets[i].flavor_per_group) {
      if (f >= 0 && cache_.TopologyLevels(f)) {
        by_flavor[f].push_back(i);
        break;
      }
    }
  }
  bool ok = true;
  std::vector<std::string> messages;
  for (const auto& [f, sets] : by_flavor) {
    std::vector<int32_t> counts;
    for (size_t i : sets) counts.push_back(a->pod_sets[i].count);
    const auto results = actions_.PlaceTopology(id, f, sets, counts);
    for (size_t k = 0; k < sets.size(); ++k) {
      auto& psa = a->pod_sets[sets[k]];
      if (results[k].assignment) {
        psa.topology = results[k].assignment;
        psa.topology_flavor = f;
      } else if (ok) {
        ok = false;
        messages.push_back("couldn't assign flavors to pod set " + w.spec.pod_sets[sets[k]].name +
                           ": " + results[k].reason);
      }
    }
  }
  if (!ok) {
    a->message = Join(messages);
    a->reason = "Pending";
  }
  return ok;
}

}  // namespace gputwin::kueue
