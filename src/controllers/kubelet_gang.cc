// Gang pace: a distributed job's workers meet in every collective (all-reduce), so none
// advances while one is missing. Upstream has no such object; the pace follows from the
// workers' code (torch.distributed, NCCL), which the twin does not run.
#include <algorithm>
#include <cmath>

#include "controllers/kubelet.h"
#include "core/quantity.h"

namespace gputwin::controllers {

double Kubelet::GangFactor(PodId id) const {
  const uint32_t gang = store_.pod(id).gang;
  if (gang == cluster::kNone) return 1;
  auto it = gangs_.find(gang);
  if (it == gangs_.end() || !it->second.complete) return 0;
  return store_.gang(gang).step_slowdown > 0 ? 1 / store_.gang(gang).step_slowdown : 1;
}

void Kubelet::TallyGang(uint32_t gang, GangState& g, Time now) {
  const double seconds = static_cast<double>((now - g.since).ns) / 1e9;
  g.since = now;
  if (g.running.empty() || seconds <= 0) return;
  double gpus = 0;
  for (PodId m : g.running) gpus += static_cast<double>(store_.pod(m).devices.size());
  auto& figures = store_.gang(gang);
  if (g.complete) {
    figures.advancing_gpu_seconds += gpus * seconds;
  } else {
    figures.waiting_gpu_seconds += gpus * seconds;
    figures.waiting_seconds += seconds;
  }
}

void Kubelet::Finish(Time end) {
  for (auto& [gang, g] : gangs_) TallyGang(gang, g, end);
}

void Kubelet::JoinGang(PodId id, Time now) {
  const uint32_t gang = store_.pod(id).gang;
  if (gang == cluster::kNone) return;
  GangState& g = gangs_[gang];
  if (std::find(g.running.begin(), g.running.end(), id) != g.running.end()) return;
  TallyGang(gang, g, now);
  g.running.push_back(id);
  const bool was = g.complete;
  g.complete = static_cast<int32_t>(g.running.size()) + g.succeeded >= store_.gang(gang).size;
  if (g.complete != was) SetGangPace(gang, now);
}

void Kubelet::LeaveGang(PodId id, Time now, bool succeeded) {
  const uint32_t gang = store_.pod(id).gang;
  if (gang == cluster::kNone) return;
  auto it = gangs_.find(gang);
  if (it == gangs_.end()) return;
  GangState& g = it->second;
  auto member = std::find(g.running.begin(), g.running.end(), id);
  if (member == g.running.end()) return;
  TallyGang(gang, g, now);
  g.running.erase(member);
  if (succeeded) ++g.succeeded;
  const bool was = g.complete;
  g.complete = static_cast<int32_t>(g.running.size()) + g.succeeded >= store_.gang(gang).size;
  if (!was || g.complete) return;
  // A worker is gone mid-run: the others fail their collectives and start again from the
  // last checkpoint they wrote (all of them at once: they advance together).
  const auto& lost_pod = store_.pod(id);
  for (PodId m : g.running) {
    Progress& pr = progress_[m];
    pr.work_left_ns -= static_cast<double>((now - pr.since).ns) * pr.rate;
    pr.since = now;
    const auto& b = store_.pod(m).tmpl->behavior;
    if (!b.run_time) continue;
    const double done = std::max(0.0, pr.total_ns - pr.work_left_ns);
    double kept = 0;
    if (b.checkpoint_interval) {
      const double cycle = static_cast<double>(b.checkpoint_interval->ns + b.checkpoint_cost.ns);
      kept = std::floor(done / cycle) * cycle;
    }
    const double lost = done - kept;
    if (lost <= 0) continue;
    pr.work_left_ns += lost;
    cluster::LostWork w;
    w.pod = m;
    w.at = now;
    w.seconds = lost / 1e9;
    w.gpu_seconds = w.seconds * static_cast<double>(store_.pod(m).devices.size());
    w.reason = "gang " + store_.gang(gang).name + " lost pod " + lost_pod.name +
               (lost_pod.message.empty() ? "" : " (" + lost_pod.message + ")") +
               ": back to the last checkpoint";
    store_.gang(gang).lost_gpu_seconds += w.gpu_seconds;
    lost_work_.push_back(std::move(w));
  }
  SetGangPace(gang, now);
}

// The network step-time model (docs/training.md): a step is the compute time the gang's
// template declares plus a ring all-reduce of its gradients between its nodes (NCCL's
// hierarchical ring: within a node over NVLink, counted in the compute time; across the N
// nodes 2 (N-1)/N of the bytes per node). The bandwidth is the slowest node's
// (gputwin.io/network-bandwidth, bits/s: Karpenter's nodes carry their instance type's),
// divided by 2 per network layer the nodes span above the bottom one (EC2 instance
// topology, topology.k8s.aws/network-node-layer-N), or by 8 across zones (an assumption:
// oversubscription is not published). The work a pod declares (gputwin.io/run-time) is at
// the best placement: all nodes under one bottom-layer network node.
double Kubelet::PlacementFactor(uint32_t gang) {
  const GangState& g = gangs_[gang];
  if (g.running.empty()) return 1;
  const auto& b = store_.pod(g.running.front()).tmpl->behavior;
  if (!b.step_time || b.gradient_bytes <= 0) return 1;
  std::vector<cluster::NodeId> nodes;
  for (PodId m : g.running) {
    const cluster::NodeId n = store_.pod(m).node;
    if (n != cluster::kNone && std::find(nodes.begin(), nodes.end(), n) == nodes.end()) {
      nodes.push_back(n);
    }
  }
  if (nodes.size() <= 1) {
    store_.gang(gang).step_slowdown = 1;
    return 1;
  }
  double bits_per_second = 0;
  for (cluster::NodeId n : nodes) {
    const auto& ann = store_.node(n).obj.metadata.annotations;
    double bw = 100e9;  // unknown: 100 Gbit/s
    if (auto it = ann.find("gputwin.io/network-bandwidth"); it != ann.end()) {
      std::string err;
      if (auto q = ParseQuantity(it->second, &err); q && q->milli > 0) {
        bw = static_cast<double>(q->milli) / 1000.0;
      }
    }
    bits_per_second = bits_per_second == 0 ? bw : std::min(bits_per_second, bw);
  }
  // The highest layer the nodes need to reach each other.
  auto label = [&](cluster::NodeId n, const std::string& key) -> const std::string* {
    const auto& l = store_.node(n).obj.metadata.labels;
    auto it = l.find(key);
    return it == l.end() ? nullptr : &it->second;
  };
  auto shared = [&](const std::string& key) {
    const std::string* first = label(nodes.front(), key);
    if (!first) return false;
    for (cluster::NodeId n : nodes) {
      const std::string* v = label(n, key);
      if (!v || *v != *first) return false;
    }
    return true;
  };
  double divisor = 8;  // across zones
  if (shared("topology.k8s.aws/network-node-layer-3")) {
    divisor = 1;
  } else if (shared("topology.k8s.aws/network-node-layer-2")) {
    divisor = 2;
  } else if (shared("topology.k8s.aws/network-node-layer-1")) {
    divisor = 4;
  } else if (!label(nodes.front(), "topology.k8s.aws/network-node-layer-1") &&
             shared("topology.kubernetes.io/zone")) {
    divisor = 1;  // no instance topology known: one zone counts as well placed
  }
  const double n = static_cast<double>(nodes.size());
  const double best =
      2.0 * (n - 1) / n * static_cast<double>(b.gradient_bytes) * 8 / bits_per_second;
  const double compute = static_cast<double>(b.step_time->ns) / 1e9;
  const double factor = (compute + best) / (compute + best * divisor);
  store_.gang(gang).step_slowdown = 1 / factor;
  return factor;
}

void Kubelet::SetGangPace(uint32_t gang, Time now) {
  const double factor = gangs_[gang].complete ? PlacementFactor(gang) : 0;
  const GangState& g = gangs_[gang];
  for (PodId m : g.running) {
    Progress& pr = progress_[m];
    if (!pr.running) continue;  // joining now: its own start sets its rate
    const double paced = pr.share * factor;
    if (pr.rate == paced) continue;
    pr.work_left_ns -= static_cast<double>((now - pr.since).ns) * pr.rate;
    pr.since = now;
    pr.rate = paced;
    ScheduleExit(m, now);
  }
}

}  // namespace gputwin::controllers
