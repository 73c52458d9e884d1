#include "scheduler/plugins/default_preemption.h"

#include "cluster/store.h"

#include <algorithm>
#include <limits>

namespace gputwin::scheduler {

namespace {
const char* const kNotHelpful = "Preemption is not helpful for scheduling";
const char* const kNoVictims = "No preemption victims found for incoming pod";
}  // namespace

bool DefaultPreemption::SelectVictims(const CycleState& state, PodId pid, NodeId n,
                                      std::vector<PodId>* victims, std::string_view* reason) {
  const auto& pod = store_.pod(pid);
  const int32_t priority = pod.tmpl->priority;
  const auto& node = store_.node(n);
  // node.pods holds only live pods: the lower-priority ones are the buckets below.
  const auto& buckets = node.by_priority;
  auto& tc = s_.CacheFor(pod);
  cluster::ResourceVec freed;
  cluster::ResourceVec nominated_buf;
  if (const auto* nom = s_.NominatedDelta(pod, n, &nominated_buf)) freed = *nom;
  // The plugins that count pods see the victims leave (and come back when reprieved).
  CycleState view = s_.active_cluster_.empty() ? CycleState() : state;
  auto fails = [&](uint16_t failed_at) {
    std::vector<uint16_t> reasons;
    if (failed_at != Scheduler::kPasses) {
      s_.filters_[failed_at].plugin->Diagnose(view, pod, s_.ViewOf(n, &freed), &reasons);
    }
    if (reasons.empty()) {
      *reason = kNoVictims;
    } else {
      *reason = s_.reasons_.Name(reasons.front());
    }
    return false;
  };
  uint16_t failed_at;
  // With no plugin that counts pods, removing every lower-priority pod frees the sum of
  // their buckets: most nodes fail here, and their pods need not be read.
  const bool summed = s_.active_cluster_.empty();
  if (summed) {
    for (const auto& b : buckets) {
      if (b.priority >= priority) break;
      cluster::AddTo(&freed, b.requests);
    }
    if (freed.size() <= cluster::kPods) freed.resize(cluster::kPods + 1, 0);
    if (!s_.RunFilters(pod, tc, view, n, &freed, &failed_at).ok()) return fails(failed_at);
  }
  std::vector<PodId> lower;
  for (PodId p : node.pods) {
    if (store_.pod(p).tmpl->priority < priority) lower.push_back(p);
  }
  auto add = [&](PodId p, int64_t sign) {
    const auto& victim = store_.pod(p);
    cluster::AddTo(&freed, victim.tmpl->requests, sign);
    if (freed.size() <= cluster::kPods) freed.resize(cluster::kPods + 1, 0);
    freed[cluster::kPods] += sign;
    for (uint16_t pos : s_.active_cluster_) {
      if (sign > 0) {
        s_.filters_[pos].plugin->RemovePod(view, pod, victim, n);
      } else {
        s_.filters_[pos].plugin->AddPod(view, pod, victim, n);
      }
    }
  };
  if (!summed) {
    for (PodId p : lower) add(p, +1);
    if (!s_.RunFilters(pod, tc, view, n, &freed, &failed_at).ok()) return fails(failed_at);
  }
  // MoreImportantPod: higher priority first, then the one that started earlier.
  std::sort(lower.begin(), lower.end(), [&](PodId a, PodId b) {
    const auto& x = store_.pod(a);
    const auto& y = store_.pod(b);
    if (x.tmpl->priority != y.tmpl->priority) return x.tmpl->priority > y.tmpl->priority;
    if (x.started_at != y.started_at) return x.started_at < y.started_at;
    return a < b;
  });
  for (PodId p : lower) {
    add(p, -1);  // try to keep it
    if (!s_.RunFilters(pod, tc, view, n, &freed, &failed_at).ok()) {
      add(p, +1);
      victims->push_back(p);
    }
  }
  return true;
}

size_t DefaultPreemption::PickOne(const std::vector<Candidate>& cands) const {
  // pickOneNodeForPreemption: fewest PDB violations (none modelled), lowest highest-victim
  // priority, lowest Σ(priority + 2^31), fewest victims, latest start among the
  // highest-priority victims, then the first.
  std::vector<size_t> idx(cands.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto keep_min = [&](auto key) {
    std::vector<size_t> out;
    auto best = key(cands[idx[0]]);
    for (size_t i : idx) best = std::min(best, key(cands[i]));
    for (size_t i : idx) {
      if (key(cands[i]) == best) out.push_back(i);
    }
    idx = out;
  };
  auto prio = [&](PodId p) { return static_cast<int64_t>(store_.pod(p).tmpl->priority); };
  keep_min([&](const Candidate& c) {
    int64_t m = std::numeric_limits<int64_t>::min();
    for (PodId v : c.victims) m = std::max(m, prio(v));
    return m;
  });
  if (idx.size() > 1) {
    keep_min([&](const Candidate& c) {
      int64_t sum = 0;
      for (PodId v : c.victims) sum += prio(v) + (int64_t{1} << 31);
      return sum;
    });
  }
  if (idx.size() > 1) keep_min([&](const Candidate& c) { return c.victims.size(); });
  if (idx.size() > 1) {
    keep_min([&](const Candidate& c) {
      int64_t top = std::numeric_limits<int64_t>::min();
      for (PodId v : c.victims) top = std::max(top, prio(v));
      int64_t earliest = std::numeric_limits<int64_t>::max();
      for (PodId v : c.victims) {
        if (prio(v) == top) earliest = std::min(earliest, store_.pod(v).started_at.ns);
      }
      return -earliest;  // latest start wins
    });
  }
  return idx.front();
}

void DefaultPreemption::ListPotential(const std::vector<bool>& unschedulable,
                                      std::vector<NodeId>* out) const {
  // Written unconditionally, kept by advancing: the bits of nodes in order are close to
  // random, and a branch on them mispredicted on most nodes.
  const auto& order = s_.node_order_;
  out->resize(order.size());
  size_t kept = 0;
  for (NodeId n : order) {
    (*out)[kept] = n;
    kept += unschedulable[n] ? 1 : 0;
  }
  out->resize(kept);
}

PostFilterPlugin::Result DefaultPreemption::PostFilter(CycleState& state, PodId pid,
                                                       const std::vector<bool>& resolvable,
                                                       int64_t count, uint64_t version) {
  Result result;
  const auto& pod = store_.pod(pid);
  if (pod.tmpl->preempt_never) {
    result.message = "preemption: not eligible due to preemptionPolicy=Never.";
    return result;
  }
  const auto& order = s_.node_order_;
  const auto& prios = s_.bound_priorities_;
  const bool no_victims = prios.empty() || prios.begin()->first >= pod.tmpl->priority;
  if (no_victims && no_victims_message_.first == std::pair{order.size(), count}) {
    result.message = no_victims_message_.second;  // the same counts: the same message
    return result;
  }
  // Node counts by status message. Few distinct messages against up to thousands of nodes:
  // a short list (the message sorts them).
  std::vector<std::pair<std::string, int64_t>> statuses;
  auto count_status = [&](std::string_view message, int64_t nodes) {
    auto it = std::find_if(statuses.begin(), statuses.end(),
                           [&](const auto& s) { return s.first == message; });
    if (it == statuses.end()) {
      statuses.emplace_back(message, nodes);
    } else {
      it->second += nodes;
    }
  };
  if (static_cast<int64_t>(order.size()) > count) {
    count_status(kNotHelpful, static_cast<int64_t>(order.size()) - count);
  }
  static const std::vector<NodeId> kNoNodes;
  const std::vector<NodeId>* listed = &kNoNodes;
  std::vector<Candidate> candidates;
  if (count > 0 && no_victims) {
    // No running pod anywhere has a lower priority: every node answers as
    // selectVictimsOnNode would, with no victims (no need to list them).
    count_status(kNoVictims, count);
  } else if (count > 0 && version == 0) {
    ListPotential(resolvable, &unversioned_);
    listed = &unversioned_;
  } else if (count > 0) {
    auto kept = std::find_if(potential_.begin(), potential_.end(), [&](const auto& p) {
      return p.version == version && p.order_version == s_.node_order_version_;
    });
    if (kept != potential_.end()) {
      ++potential_reused_;
      if (verify_potential_nodes) {
        std::vector<NodeId> fresh;
        ListPotential(resolvable, &fresh);
        potential_mismatches_ += fresh != kept->nodes;
      }
    } else {
      kept = potential_.begin() + static_cast<std::ptrdiff_t>(potential_next_);
      potential_next_ = (potential_next_ + 1) % kKeptPotential;
      ListPotential(resolvable, &kept->nodes);
      kept->version = version;
      kept->order_version = s_.node_order_version_;
    }
    listed = &kept->nodes;
  }
  const std::vector<NodeId>& potential = *listed;
  if (!potential.empty()) {
    // GetOffsetAndNumCandidates: a random start and at least 10% / 100 nodes.
    int64_t len = static_cast<int64_t>(potential.size());
    int64_t num = std::max(len * kMinCandidateNodesPercentage / 100, kMinCandidateNodesAbsolute);
    num = std::min(num, len);
    size_t at = static_cast<size_t>(s_.random_.Below(static_cast<uint64_t>(len)));
    // A node with no pod of lower priority has no victims (most nodes, for most pods):
    // counted here, without a dry run or a message lookup each.
    const int32_t priority = pod.tmpl->priority;
    int64_t without_lower = 0;
    for (int64_t i = 0; i < len && static_cast<int64_t>(candidates.size()) < num; ++i) {
      const NodeId n = potential[at];
      if (++at == potential.size()) at = 0;
      if (store_.LowestPodPriority(n) >= priority) {
        ++without_lower;
        continue;
      }
      Candidate c{n, {}};
      std::string_view reason;
      if (SelectVictims(state, pid, n, &c.victims, &reason)) {
        candidates.push_back(std::move(c));
      } else {
        count_status(reason, 1);
      }
    }
    if (without_lower > 0) count_status(kNoVictims, without_lower);
  }
  if (candidates.empty()) {
    result.message = "preemption: " + NodesAvailableMessage(order.size(), statuses);
    if (no_victims) no_victims_message_ = {{order.size(), count}, result.message};
    return result;
  }
  const Candidate& best = candidates[PickOne(candidates)];
  const std::string node_name = store_.node(best.node).name();
  const std::string preemptor = pod.namespace_ + "/" + pod.name;
  const std::string preemptor_uid = pod.uid;
  const int32_t preemptor_priority = pod.tmpl->priority;
  for (PodId v : best.victims) {
    auto& victim = store_.pod(v);
    victim.reason = "PreemptionByScheduler";
    victim.disruption_target = "PreemptionByScheduler";
    victim.message = "Preempted by pod " + preemptor + " on node " + node_name;
    store_.RecordEvent("Normal", "Preempted", "Pod", victim.namespace_, victim.name,
                       "Preempted by pod " + preemptor_uid + " on node " + node_name,
                       "default-scheduler");
    store_.DeletePod(v);
  }
  // Lower-priority pods nominated to this node lose their nomination.
  if (best.node < s_.nominated_.size()) {
    std::vector<PodId> nominated = s_.nominated_[best.node];
    for (PodId other : nominated) {
      if (store_.pod(other).tmpl->priority < preemptor_priority) s_.ClearNomination(other);
    }
  }
  s_.Nominate(pid, best.node);
  result.nominated = best.node;
  return result;
}

}  // namespace gputwin::scheduler
