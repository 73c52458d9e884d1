// The disruption controller (pkg/controllers/disruption: emptiness, single-node and
// multi-node consolidation, drift, the 15 s command validation; its candidates and
// budgets are in disruption_candidates.cc), expiration
// (pkg/controllers/nodeclaim/expiration) and the AWS interruption controller
// (aws/karpenter-provider-aws pkg/controllers/interruption).
#include <algorithm>

#include "karpenter/karpenter.h"

namespace gputwin::karpenter {

void Karpenter::Disrupt(Time now) {
  RefreshPdbAllowance();
  if (!live_claims_.empty() && !disruption_scheduled_) {
    disruption_scheduled_ = true;
    At(now + kDisruptionPoll, Arg(kDisruption, 0));
  }
  // A node turning Consolidatable is a cluster-state change (its NodeClaim condition).
  if (was_consolidatable_.size() < claims_.size())
    was_consolidatable_.resize(claims_.size(), false);
  for (uint32_t i : retired_consolidatable_) {
    was_consolidatable_[i] = false;
    MarkUnconsolidated(now);
    Changed();
  }
  retired_consolidatable_.clear();
  // The live claims whose Consolidatable may have moved since the last pass: touched, or
  // their time came (the others' cannot have).
  auto check = [&](uint32_t i) {
    if (!std::binary_search(live_claims_.begin(), live_claims_.end(), i)) return;
    const bool now_consolidatable = Consolidatable(i, now);
    if (now_consolidatable != was_consolidatable_[i]) {
      MarkUnconsolidated(now);
      Changed();
    }
    was_consolidatable_[i] = now_consolidatable;
    if (!now_consolidatable) {
      if (auto at = ConsolidatableAt(i)) consolidatable_due_.emplace(*at, i);
    }
  };
  // (Once each: a busy node's pods touch its claim many times between passes, and each
  // check of a claim not yet consolidatable queues its time.)
  auto& touched = consolidation_touched_;
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (uint32_t i : touched) check(i);
  touched.clear();
  while (!consolidatable_due_.empty() && consolidatable_due_.top().first <= now) {
    const uint32_t i = consolidatable_due_.top().second;
    consolidatable_due_.pop();
    check(i);
  }
  if (verify_consolidatable) {
    for (uint32_t i : live_claims_) {
      if (Consolidatable(i, now) != was_consolidatable_[i]) {
        ++consolidatable_mismatches_;
      }
    }
  }
  // From here on, was_consolidatable_ is Consolidatable(i, now) for the live claims, and
  // their heads are current.
  RefreshLiveHeads();
  // Emptiness: as many empty, consolidatable nodes per NodePool as its Empty budget allows,
  // in one command.
  // Skipped while nothing it reads changed since a scan found no empty node.
  Command empty{{}, "Empty", false};
  // Budgets follow the state version, and the clock only through cron schedules.
  std::vector<int64_t> empty_budgets;
  // The budgets' counts, taken once for emptiness and consolidation: what they count
  // changes only when a command is issued, and that ends the pass (Drift, in between,
  // changes nothing unless it returns true).
  std::optional<BudgetTally> tally;
  auto budgets_for = [&](const std::string& reason) {
    if (!tally) tally = TallyBudgets();
    return BudgetsAvailable(*tally, reason, now);
  };
  bool empty_unchanged = UnchangedSince(emptiness_memo_, now);
  if (!empty_unchanged || scheduled_budgets_) {
    empty_budgets = budgets_for("Empty");
    empty_unchanged = empty_unchanged && empty_budgets == emptiness_budgets_;
  }
  // By NodePool, then claim: one walk over the claims, each NodePool taking what its budget
  // allows in claim order.
  if (!empty_unchanged) {
    std::vector<std::vector<uint32_t>> by_pool(pools_.size());
    std::vector<int64_t> budget = empty_budgets;
    for (size_t k = 0; k < live_claims_.size(); ++k) {
      const LiveHead& h = live_heads_[k];
      const uint32_t i = live_claims_[k];
      // (The head's fields first: most nodes have pods to reschedule.)
      if (h.reschedulable || budget[h.nodepool] <= 0 || !was_consolidatable_[i] ||
          !DisruptableLive(k)) {
        continue;
      }
      by_pool[h.nodepool].push_back(i);
      --budget[h.nodepool];
    }
    for (const auto& pool : by_pool) {
      empty.candidates.insert(empty.candidates.end(), pool.begin(), pool.end());
    }
  }
  if (!empty_unchanged && empty.candidates.empty()) {
    emptiness_memo_ = PassMemo{state_version_, now};
    emptiness_budgets_ = std::move(empty_budgets);
  }
  if (!empty.candidates.empty()) {
    Changed();
    for (uint32_t i : empty.candidates) in_command_.insert(i);
    pending_commands_.push_back(std::move(empty));
    command_times_.push_back(now);
    At(now + kCommandValidation, Arg(kValidate, 0));
    return;
  }
  if (Drift(now)) return;
  // Consolidation, multi-node then single-node: candidates cheapest to disrupt first
  // (fewest pods, lower priority, expiring soonest). Skipped while nothing changed since
  // the last pass found nothing (IsConsolidated; the state resets after 5 minutes).
  const Time state = ConsolidationState(now);
  if (consolidated_at_state_ == state) return;
  // Budgets, once per pass: they change only when a command is issued, which ends it.
  // Nothing the candidates' simulations read has changed since a pass found none: this
  // one would find none either.
  std::vector<int64_t> budgets;
  bool unchanged = UnchangedSince(consolidation_memo_, now);
  if (!unchanged || scheduled_budgets_) {
    budgets = budgets_for("Underutilized");
    unchanged = unchanged && budgets == consolidation_budgets_;
  }
  if (unchanged) {
    if (!consolidation_constrained_) consolidated_at_state_ = state;
    return;
  }
  std::vector<std::pair<double, uint32_t>> candidates;
  std::vector<char> when_empty(pools_.size());
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    when_empty[p] = pools_[p].spec->consolidation_policy == "WhenEmpty";
  }
  // (A walk over the live claims, not a set of the consolidatable ones: most claims are,
  // and the tree's nodes cost a cache miss each at 10,000 claims.)
  for (size_t k = 0; k < live_claims_.size(); ++k) {
    const LiveHead& h = live_heads_[k];
    const uint32_t i = live_claims_[k];
    if (!h.reschedulable || when_empty[h.nodepool] || !was_consolidatable_[i] ||
        !DisruptableLive(k)) {
      continue;
    }
    const auto& pool = *pools_[h.nodepool].spec;
    double lifetime = 1;
    if (pool.expire_after) {
      double age = (now - h.created_at).seconds();
      lifetime =
          std::clamp((pool.expire_after->seconds() - age) / pool.expire_after->seconds(), 0.0, 1.0);
    }
    candidates.emplace_back(h.cost * lifetime, i);
  }
  std::stable_sort(candidates.begin(), candidates.end());
  // The destinations, once per pass: initialized nodes not in a command.
  SimNodes destinations;
  const ReturnNodes give_back{this, &destinations};  // after KeepOnExit below has run
  // The pass's fit lists go on to the next pass, whichever way this one ends.
  struct KeepOnExit {
    Karpenter* k;
    SimNodes* d;
    ~KeepOnExit() {
      if (d) k->KeepFits(d, &k->fits_carry_);
    }
  } keep{this, nullptr};
  if (!candidates.empty()) {
    ListNodes(&destinations, &fits_carry_, in_command_, true);
    keep.d = &destinations;
  }
  // Multi-node consolidation first: the candidates in the same order, each taking one unit
  // of its NodePool's budget, at most 100.
  std::vector<uint32_t> multi;
  std::vector<int64_t> left = budgets;
  // A pass that budgets kept from a candidate does not mark the cluster consolidated
  // (constrainedByBudgets): the next poll tries again.
  bool constrained = false;
  for (const auto& [cost, i] : candidates) {
    if (multi.size() == kMaxMultiNodeCandidates) break;
    if (left[claim_state_[i].nodepool] <= 0) {
      constrained = true;
      continue;
    }
    --left[claim_state_[i].nodepool];
    multi.push_back(i);
  }
  IsolatedSims& kept = candidates.empty() ? isolated_ : IsolatedSimsAt(now);
  if (auto chosen = MultiNodeConsolidation(multi, now, &destinations, &kept); !chosen.empty()) {
    Changed();
    for (uint32_t i : chosen) in_command_.insert(i);
    pending_commands_.push_back({std::move(chosen), "Underutilized", false});
    command_times_.push_back(now);
    At(now + kCommandValidation, Arg(kValidate, 0));
    return;
  }
  // Then single-node.
  // A candidate none of whose pods fits on another node simulates the same whatever node
  // it is: only its pods' templates in the simulation's order and its NodePool matter
  // (the simulation is kept), and with its capacity type and price, whether it can be
  // consolidated (one that cannot answers for its like).
  const uint64_t pass = ++consolidation_passes_;
  for (const auto& [cost, i] : candidates) {
    if (budgets[claim_state_[i].nodepool] <= 0) {
      constrained = true;
      continue;
    }
    const NodeId node = claim_state_[i].node;
    // (Not with topology: where the candidate is changes what its pods may do.)
    bool isolated = bound_anti_affinity_.empty();
    if (isolated) {
      isolated = !PodsHeadOf(node).topology;
      const NodePods& on_node = NodePodsOf(node);  // (FitsOf changes no memo)
      for (size_t k = 0; isolated && k < on_node.reschedulable_pods.size(); ++k) {
        if (k > 0 && on_node.specs[k] == on_node.specs[k - 1]) continue;  // the same list
        for (uint32_t to : FitsOf(&destinations, on_node.reschedulable_pods[k], on_node.specs[k])) {
          if (static_cast<int32_t>(to) != DestinationIndex(i)) {
            isolated = false;
            break;
          }
        }
      }
    }
    std::optional<Likeness> like;
    const Solution* simulated = nullptr;
    IsolatedSim* kept_sim = nullptr;
    LiveHead* head = isolated ? LiveHeadOf(i) : nullptr;
    if (head && head->sims_generation == kept.generation && !verify_consolidatable) {
      // Found fruitless before, its pods unchanged since: as the lookups below would.
      if (head->sim->pass != pass) {
        decisions_ += head->sim->decisions;
        head->sim->pass = pass;
        ++isolated_reused_;
      }
      continue;
    }
    if (isolated) {
      const auto& c = claims_[i];
      // (The node's pods in the simulation's order, kept while they do not change.)
      Simulated sim{SortedPodsOf(node).sorted_templates, c.nodepool};
      like.emplace(sim, static_cast<int>(c.capacity_type), c.price);
      auto it = kept.sims.find(sim);
      if (it == kept.sims.end()) {
        std::vector<PodId> pods = SortedPodsOf(node).sorted_pods;
        std::set<uint32_t> exclude = in_command_;
        exclude.insert(i);
        const uint64_t before = decisions_;
        Solution solution = Solve(pods, &destinations, now, exclude, true);
        it = kept.sims.emplace(std::move(sim), IsolatedSim{std::move(solution), 0, pass}).first;
        it->second.decisions = decisions_ - before;
      } else if (it->second.pass != pass) {
        // Kept from an earlier pass: this one counts the decisions it would have made.
        decisions_ += it->second.decisions;
        it->second.pass = pass;
        ++isolated_reused_;
      }
      kept_sim = &it->second;
      const bool remembered = head && head->sims_generation == kept.generation;
      if (kept.fruitless.count(*like)) {
        if (verify_consolidatable && remembered && head->sim != &it->second) ++heads_mismatches_;
        RememberFruitless(head, kept.generation, &it->second);
        continue;
      }
      if (verify_consolidatable && remembered) ++heads_mismatches_;  // remembered, but is not
      // Its pod ids may be another candidate's: read for the verdict only (execute false).
      simulated = &it->second.solution;
    }
    if (!TryConsolidate({i}, now, false, &destinations, simulated)) {
      if (like) {
        kept.fruitless.insert(std::move(*like));
        RememberFruitless(head, kept.generation, kept_sim);
      }
      continue;
    }
    Changed();
    in_command_.insert(i);
    pending_commands_.push_back({{i}, "Underutilized", false});
    command_times_.push_back(now);
    At(now + kCommandValidation, Arg(kValidate, 0));
    return;
  }
  if (!constrained) consolidated_at_state_ = state;
  consolidation_constrained_ = constrained;
  consolidation_memo_ = PassMemo{state_version_, now};
  consolidation_budgets_ = std::move(budgets);
}

// The cluster state's consolidation timestamp (state/cluster.go ConsolidationState).
Time Karpenter::ConsolidationState(Time now) {
  if (now - cluster_state_ >= Duration::Minutes(5)) MarkUnconsolidated(now);
  return cluster_state_;
}

Karpenter::IsolatedSims& Karpenter::IsolatedSimsAt(Time now) {
  IsolatedSims& kept = isolated_;
  // What Solve reads of the NodePools before it adds a NodeClaim (a second one fails a
  // consolidation simulation either way): the instance types within the limits, and
  // whether the `nodes` limit leaves room (minus the claims in commands, and for the
  // candidates' own NodePools the candidates).
  const PoolLimits& limits = CurrentPoolLimits();
  std::vector<std::vector<uint32_t>> within(pools_.size());
  std::vector<int64_t> nodes_left = NodesLeft(limits, in_command_);
  std::vector<ResourceVec> overhead(pools_.size());
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    const auto& pool = pools_[p];
    overhead[p] = pool.daemon_overhead;
    for (uint32_t t : pool.instance_types) {
      if (WithinLimits(limits.limited[p], limits.remaining[p], pool.capacity[t])) {
        within[p].push_back(t);
      }
    }
  }
  // Offerings marked unavailable, or back by the clock, since the last pass.
  const bool offerings_same =
      kept.unavailable_version == unavailable_version_ &&
      std::none_of(unavailable_.begin(), unavailable_.end(), [&](const auto& entry) {
        return entry.second.until > kept.at && entry.second.until <= now;
      });
  // Bounded: each new Job's templates make new keys while nothing else changes.
  const bool full = kept.sims.size() + kept.prefixes.size() > kMaxKeptSimulations;
  if (!keep_isolated_sims || full || !offerings_same || within != kept.within ||
      nodes_left != kept.nodes_left || overhead != kept.overhead) {
    kept.sims.clear();
    ++kept.generation;
    kept.fruitless.clear();
    kept.prefixes.clear();
    kept.within = std::move(within);
    kept.nodes_left = std::move(nodes_left);
    kept.overhead = std::move(overhead);
    kept.unavailable_version = unavailable_version_;
  }
  kept.at = now;
  return kept;
}

bool Karpenter::TryConsolidate(const std::vector<uint32_t>& candidates, Time now, bool execute,
                               SimNodes* destinations, const Solution* simulated) {
  // A kept simulation is read where it is (copying its maps cost more than the reading).
  Solution own_sol;
  const Solution& sol = simulated ? *simulated : own_sol;
  if (!simulated) {
    std::vector<PodId> pods;
    for (uint32_t i : candidates) {
      for (PodId id : ReschedulablePods(claims_[i].node)) pods.push_back(id);
    }
    // Destinations: initialized nodes only (a result that needs an uninitialized node is
    // invalid), not the candidates, not nodes already in a command.
    std::set<uint32_t> exclude = in_command_;
    exclude.insert(candidates.begin(), candidates.end());
    SimNodes own;
    const ReturnNodes give_back{this, &own};
    if (!destinations) {
      // A command's validation: the consolidation passes' lists serve it (its nodes are
      // theirs but the candidates'), and it leaves its own for the next pass, before
      // anything it executes changes the nodes.
      ListNodes(&own, &fits_carry_, exclude, true);
      own_sol = Solve(pods, &own, now, exclude, true);
      KeepFits(&own, &fits_carry_);
    } else {
      own_sol = Solve(pods, destinations, now, exclude, true);
    }
  }
  if (!sol.errors.empty() || sol.claims.size() > 1) return false;
  if (sol.claims.empty()) {
    if (execute) {
      for (uint32_t i : candidates) DeleteClaim(i, "Underutilized", now);
    }
    return true;
  }
  // A replacement: spot nodes are only deleted, never replaced (SpotToSpotConsolidation
  // is off by default).
  double price = 0;
  bool all_spot = true;
  for (uint32_t i : candidates) {
    price += claims_[i].price;
    all_spot &= claims_[i].capacity_type == cloud::CapacityType::kSpot;
  }
  if (all_spot) return false;
  NewClaim nc = simulated ? sol.claims.front() : std::move(own_sol.claims.front());
  const Requirement* cts = nc.requirements().Get("karpenter.sh/capacity-type");
  bool spot_ok = !cts || cts->Has("spot");
  // On-demand → [on-demand, spot]: pinned to spot, so an ICE cannot yield a dearer node.
  if (spot_ok) {
    Requirements pinned = nc.requirements();
    pinned.Add("karpenter.sh/capacity-type", Requirement::In({"spot"}));
    nc.narrowed = std::move(pinned);
  }
  const auto ct = spot_ok ? cloud::CapacityType::kSpot : cloud::CapacityType::kOnDemand;
  // Several nodes replaced by one of their own instance types: that type must be cheaper
  // than the cheapest candidate of it, or deleting the others alone would do
  // (filterOutSameInstanceType).
  if (candidates.size() > 1) {
    for (uint32_t t : nc.types) {
      for (uint32_t i : candidates) {
        if (claims_[i].type == t) price = std::min(price, claims_[i].price);
      }
    }
  }
  // Only types whose worst-case launch price is strictly below the candidates' price.
  std::vector<uint32_t> cheaper;
  const Requirement* z = nc.requirements().Get("topology.kubernetes.io/zone");
  for (uint32_t t : nc.types) {
    double worst = -1;
    for (const auto& o : ec2_.OfferingsOf(t)) {
      if (o.capacity_type == ct && (!z || z->Has(o.zone)) && OfferingAvailable(o, now)) {
        worst = std::max(worst, o.price);
      }
    }
    if (worst >= 0 && worst < price) cheaper.push_back(t);
  }
  if (cheaper.empty()) return false;  // "Can't replace with a cheaper node"
  nc.types = std::move(cheaper);
  if (execute) {
    uint32_t r = CreateClaim(std::move(nc), "underutilized", now);
    claims_[r].replaces = candidates;
    if (claims_[r].phase == ClaimPhase::kDeleted) return false;  // the launch failed
  }
  return true;
}

std::vector<uint32_t> Karpenter::MultiNodeConsolidation(const std::vector<uint32_t>& candidates,
                                                        Time now, SimNodes* destinations,
                                                        IsolatedSims* kept) {
  if (candidates.size() < 2) return {};
  auto consolidatable = [&](const std::vector<uint32_t>& prefix) {
    // A prefix none of whose pods fits on a node outside it simulates alike wherever its
    // candidates run (IsolatedSims).
    std::vector<int32_t> positions;
    std::vector<PodId> pods;
    for (uint32_t i : prefix) {
      positions.push_back(DestinationIndex(i));
      for (PodId id : ReschedulablePods(claims_[i].node)) pods.push_back(id);
    }
    std::sort(positions.begin(), positions.end());
    bool isolated = !InvolvesTopology(pods);
    for (size_t k = 0; k < pods.size() && isolated; ++k) {
      for (uint32_t to : FitsOf(destinations, pods[k])) {
        if (!std::binary_search(positions.begin(), positions.end(), static_cast<int32_t>(to))) {
          isolated = false;
          break;
        }
      }
    }
    if (!isolated) return TryConsolidate(prefix, now, false, destinations);
    std::stable_sort(pods.begin(), pods.end(),
                     [&](PodId a, PodId b) { return SchedulesBefore(a, b); });
    IsolatedSims::Prefix key;
    for (PodId id : pods) key.first.push_back(store_.pod(id).tmpl->id);
    for (uint32_t i : prefix) {
      const auto& c = claims_[i];
      key.second.emplace_back(c.nodepool, c.type, static_cast<int>(c.capacity_type), c.price);
    }
    if (auto it = kept->prefixes.find(key); it != kept->prefixes.end()) {
      decisions_ += it->second.second;
      ++isolated_reused_;
      return it->second.first;
    }
    const uint64_t before = decisions_;
    const bool ok = TryConsolidate(prefix, now, false, destinations);
    kept->prefixes.emplace(std::move(key), std::pair{ok, decisions_ - before});
    return ok;
  };
  size_t lo = 1, hi = std::min<size_t>(candidates.size(), kMaxMultiNodeCandidates) - 1;
  std::vector<uint32_t> best;
  while (lo <= hi) {
    size_t mid = (lo + hi) / 2;
    std::vector<uint32_t> prefix(candidates.begin(), candidates.begin() + mid + 1);
    if (consolidatable(prefix)) {
      best = std::move(prefix);
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

void Karpenter::Validate(Time now) {
  Changed();
  RefreshPdbAllowance();
  std::vector<Command> keep;
  std::vector<Time> keep_times;
  for (size_t k = 0; k < pending_commands_.size(); ++k) {
    auto& cmd = pending_commands_[k];
    if (now - command_times_[k] < kCommandValidation) {
      keep.push_back(std::move(cmd));
      keep_times.push_back(command_times_[k]);
      continue;
    }
    for (uint32_t i : cmd.candidates) in_command_.erase(i);
    bool emptied = false;
    for (uint32_t i : cmd.candidates) {
      const auto& c = claims_[i];
      if (c.deleting || c.phase == ClaimPhase::kDeleted || !Consolidatable(i, now) ||
          !Disruptable(i)) {
        continue;
      }
      if (cmd.reason == "Empty") {
        if (!HasReschedulablePods(c.node)) {
          DeleteClaim(i, "Empty", now);
          emptied = true;
        }
        continue;
      }
      if (cmd.candidates.size() > 1) continue;  // multi-node: below, as one
      if (BudgetAvailable(c.nodepool, "Underutilized", now) <= 0) continue;
      // Re-simulate; a replacement keeps the candidate until it has initialized.
      in_command_.insert(i);
      if (!TryConsolidate({i}, now, true)) {
        in_command_.erase(i);
        continue;
      }
      Decided(claims_[i].deleting ? "delete" : "replace", "underutilized", "single");
      if (claims_[i].deleting) in_command_.erase(i);
    }
    if (emptied) Decided("delete", "empty", "empty");
    if (cmd.reason == "Underutilized" && cmd.candidates.size() > 1) {
      // Every candidate still valid and within its NodePool's budget, then re-simulated.
      std::vector<int64_t> budgets = BudgetsAvailable("Underutilized", now);
      bool valid = true;
      for (uint32_t i : cmd.candidates) {
        const auto& c = claims_[i];
        valid &= !c.deleting && c.phase != ClaimPhase::kDeleted && Consolidatable(i, now) &&
                 Disruptable(i) && budgets[c.nodepool]-- > 0;
      }
      if (!valid) continue;
      for (uint32_t i : cmd.candidates) in_command_.insert(i);
      if (!TryConsolidate(cmd.candidates, now, true)) {
        for (uint32_t i : cmd.candidates) in_command_.erase(i);
      } else {
        Decided(claims_[cmd.candidates[0]].deleting ? "delete" : "replace", "underutilized",
                "multi");
        for (uint32_t i : cmd.candidates) {
          if (claims_[i].deleting) in_command_.erase(i);
        }
      }
    }
  }
  pending_commands_ = std::move(keep);
  command_times_ = std::move(keep_times);
}

void Karpenter::ReleaseAmi(Time now) {
  ++ami_version_;
  Changed();
  for (uint32_t i : live_claims_) {
    auto& c = claims_[i];
    const auto* nc = pools_[c.nodepool].node_class;
    if (nc && nc->ami_latest && c.instance && c.ami_version < ami_version_ &&
        c.drifted_at == cluster::kNever) {
      c.drifted_at = now;  // AMIDrift
      drifted_claims_.insert(i);
    }
  }
}

bool Karpenter::Drift(Time now) {
  std::vector<uint32_t> drifted;
  for (uint32_t i : drifted_claims_) {
    if (claim_state_[i].phase == ClaimPhase::kInitialized && Disruptable(i)) drifted.push_back(i);
  }
  if (drifted.empty()) return false;
  std::stable_sort(drifted.begin(), drifted.end(), [&](uint32_t a, uint32_t b) {
    return claims_[a].drifted_at < claims_[b].drifted_at;
  });
  std::vector<int64_t> budgets = BudgetsAvailable("Drifted", now);
  std::vector<uint32_t> empty;
  for (uint32_t i : drifted) {
    if (HasReschedulablePods(claims_[i].node) || budgets[claims_[i].nodepool] <= 0) continue;
    --budgets[claims_[i].nodepool];
    empty.push_back(i);
  }
  if (!empty.empty()) {
    for (uint32_t i : empty) DeleteClaim(i, "Drifted", now);
    Decided("delete", "drifted", "");
    return true;
  }
  for (uint32_t i : drifted) {
    if (budgets[claims_[i].nodepool] <= 0) continue;
    std::set<uint32_t> exclude = in_command_;
    exclude.insert(i);
    SimNodes destinations;
    const ReturnNodes give_back{this, &destinations};
    destinations.nodes = ExistingNodes(exclude, true);
    Solution sol = Solve(ReschedulablePods(claims_[i].node), &destinations, now, exclude);
    if (!sol.errors.empty()) continue;  // DisruptionBlocked: its pods would not all schedule
    Changed();
    if (sol.claims.empty()) {
      DeleteClaim(i, "Drifted", now);
      Decided("delete", "drifted", "");
      return true;
    }
    Decided("replace", "drifted", "");
    in_command_.insert(i);
    claims_[i].awaiting = static_cast<int32_t>(sol.claims.size());
    for (auto& nc : sol.claims) {
      SortByPrice(&nc.types, nc.requirements(), now);
      if (nc.types.size() > kMaxInstanceTypes) nc.types.resize(kMaxInstanceTypes);
      uint32_t r = CreateClaim(std::move(nc), "drifted", now);
      claims_[r].replaces = {i};
      claims_[r].replaced_for = "Drifted";
      if (claims_[r].phase == ClaimPhase::kDeleted) {
        // A replacement could not launch: the command fails and the node stays.
        claims_[i].awaiting = 0;
        in_command_.erase(i);
        for (auto& other : claims_) {
          std::erase(other.replaces, i);
        }
        break;
      }
    }
    return true;
  }
  return false;
}

void Karpenter::OnInterruption(const cloud::InterruptionMessage& m, Time now) {
  auto it = claim_of_instance_.find(m.instance);
  Count("karpenter_interruption_received_messages_total", {{"message_type", m.kind}});
  if (it == claim_of_instance_.end()) return;
  uint32_t index = it->second;
  const auto& inst = ec2_.instance(m.instance);
  if (m.kind == "spot_interrupted") {
    // CordonAndDrain, and the offering is unavailable for 3 minutes.
    ++unavailable_version_;
    unavailable_[{static_cast<int>(cloud::CapacityType::kSpot), inst.offering.type,
                  inst.offering.zone}] = {now + kUnavailableOfferingsTtl, "SpotInterruption"};
    DeleteClaim(index, "spot_interrupted", now);
  } else if (claims_[index].deleting) {
    Drain(index, now, /*instance_gone=*/true);  // what was left dies with the instance
  } else {
    DeleteClaim(index, "instance_terminated", now);
  }
}

}  // namespace gputwin::karpenter
