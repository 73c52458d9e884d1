#include "sim/invariants.h"

#include <limits>
#include <map>
#include <vector>

namespace gputwin::sim {

using cluster::kNone;
using cluster::PodId;
using cluster::PodPhase;

void InvariantChecker::Fail(Time now, const std::string& what) const {
  throw InvariantViolation("invariant broken at " + FormatRFC3339(now) + ": " + what +
                           " (a bug in gputwin: please report it with the input)");
}

void InvariantChecker::Check(Time now) {
  ++checks_;
  CheckClock(now);
  const auto& reg = store_.resources();
  // Pods: phase counts, and the live bound pods each node must list.
  size_t phases[4] = {0, 0, 0, 0};
  std::vector<size_t> live_on(store_.node_count(), 0);
  for (PodId id = 0; id < store_.pod_count(); ++id) {
    const auto& p = store_.pod(id);
    if (p.deleted) continue;  // the counts are of live pods
    ++phases[static_cast<int>(p.phase)];
    if (p.Terminal() || p.node == kNone) continue;
    if (p.node >= store_.node_count()) Fail(now, "pod " + p.name + " is bound to no known node");
    ++live_on[p.node];
  }
  for (int ph = 0; ph < 4; ++ph) {
    if (phases[ph] != store_.CountPods(static_cast<PodPhase>(ph))) {
      Fail(now, "the count of pods in phase " + std::to_string(ph) + " is " +
                    std::to_string(store_.CountPods(static_cast<PodPhase>(ph))) + ", there are " +
                    std::to_string(phases[ph]));
    }
  }
  // The store's list of live nodes, which the walks below and the scheduler's NodeTree use.
  std::vector<cluster::NodeId> live;
  for (cluster::NodeId n = 0; n < store_.node_count(); ++n) {
    if (!store_.node(n).deleted) live.push_back(n);
  }
  if (live != store_.live_nodes()) {
    Fail(now, "the store lists " + std::to_string(store_.live_nodes().size()) +
                  " live nodes, there are " + std::to_string(live.size()));
  }
  for (cluster::NodeId n : live) {
    const auto& node = store_.node(n);
    cluster::ResourceVec sum;
    for (PodId id : node.pods) {
      const auto& p = store_.pod(id);
      if (p.node != n || p.deleted || p.Terminal()) {
        Fail(now, "node " + node.name() + " lists pod " + p.name + ", which does not run there");
      }
      cluster::AddTo(&sum, p.tmpl->requests);
    }
    if (node.pods.size() != live_on[n]) {
      Fail(now, "node " + node.name() + " lists " + std::to_string(node.pods.size()) + " pods, " +
                    std::to_string(live_on[n]) + " are bound to it");
    }
    for (size_t r = 0; r < std::max(sum.size(), node.requested.size()); ++r) {
      if (r == cluster::kPods) continue;  // counted apart
      const int64_t want = r < sum.size() ? sum[r] : 0;
      const int64_t got = r < node.requested.size() ? node.requested[r] : 0;
      const std::string res = reg.Name(static_cast<cluster::ResourceId>(r));
      if (got != want) {
        Fail(now, "node " + node.name() + " has " + std::to_string(got) + " of " + res +
                      " requested, its pods ask " + std::to_string(want));
      }
      if (got < 0) Fail(now, "node " + node.name() + " has negative " + res + " requested");
    }
    // Preemption's per-priority sums: each bucket the requests (and count) of the node's
    // pods of its priority, no bucket empty.
    std::map<int32_t, cluster::NodeRecord::PriorityRequests> want_by_priority;
    for (PodId id : node.pods) {
      const auto& t = *store_.pod(id).tmpl;
      auto& b = want_by_priority[t.priority];
      ++b.pods;
      cluster::AddTo(&b.requests, t.requests);
    }
    bool buckets_hold = want_by_priority.size() == node.by_priority.size();
    for (const auto& b : node.by_priority) {
      auto it = want_by_priority.find(b.priority);
      if (!buckets_hold || it == want_by_priority.end() || it->second.pods != b.pods) {
        buckets_hold = false;
        break;
      }
      for (size_t r = 0; r < std::max(b.requests.size(), it->second.requests.size()); ++r) {
        const int64_t want = r == cluster::kPods ? b.pods : cluster::At(it->second.requests, r);
        buckets_hold = buckets_hold && cluster::At(b.requests, r) == want;
      }
    }
    const int32_t lowest = want_by_priority.empty() ? std::numeric_limits<int32_t>::max()
                                                    : want_by_priority.begin()->first;
    if (!buckets_hold || store_.LowestPodPriority(n) != lowest) {
      Fail(now, "node " + node.name() + "'s requests by priority differ from its pods'");
    }
    for (size_t r = 0; r < node.allocatable.size(); ++r) {
      if (node.allocatable[r] < 0) {
        Fail(now, "node " + node.name() + " has negative allocatable " +
                      reg.Name(static_cast<cluster::ResourceId>(r)));
      }
    }
    // Devices: each held by a pod live on this node, within what the pod asked.
    std::map<std::pair<PodId, std::string>, int64_t> held;
    for (const auto& d : node.devices) {
      if (d.pod == kNone) continue;
      if (d.pod >= store_.pod_count()) Fail(now, "device " + d.id + " is held by no known pod");
      const auto& p = store_.pod(d.pod);
      if (p.node != n) {
        Fail(now, "device " + d.id + " of node " + node.name() + " is held by pod " + p.name +
                      ", which is not bound there");
      }
      ++held[{d.pod, d.resource}];
    }
    for (const auto& [key, count] : held) {
      const auto& p = store_.pod(key.first);
      const cluster::ResourceId id = reg.Find(key.second);  // device counts: whole units
      const int64_t asked = id < p.tmpl->requests.size() ? p.tmpl->requests[id] : 0;
      if (count > asked) {
        Fail(now, "pod " + p.name + " holds " + std::to_string(count) + " " + key.second +
                      " devices of node " + node.name() + ", it asked " + std::to_string(asked));
      }
    }
  }
}

}  // namespace gputwin::sim
