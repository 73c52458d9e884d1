#include "results/results.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "karpenter/karpenter.h"
#include "kueue/kueue_controller.h"
#include "serving/serving_controller.h"
#include "sim/simulation.h"

namespace gputwin::results {

namespace {

std::vector<WaitGroup> Largest(std::map<std::string, std::vector<std::string>> groups) {
  std::vector<WaitGroup> out;
  for (auto& [msg, members] : groups) out.push_back(WaitGroup{msg, std::move(members)});
  std::stable_sort(out.begin(), out.end(), [](const WaitGroup& a, const WaitGroup& b) {
    return a.members.size() > b.members.size();
  });
  return out;
}

double Secs(Time a, Time b) {
  return static_cast<double>((b - a).ns) / 1e9;
}

void PendingPods(const sim::Simulation& sim, Results* r) {
  const auto& s = sim.store();
  std::map<std::string, std::vector<std::string>> groups;
  for (cluster::PodId id = 0; id < s.pod_count(); ++id) {
    const auto& p = s.pod(id);
    if (p.deleted || p.phase != cluster::PodPhase::kPending || p.Bound()) continue;
    groups[p.message.empty() ? "not yet attempted by the scheduler" : p.message].push_back(p.Key());
  }
  r->pending_pods = Largest(std::move(groups));
}

void Kueue(const sim::Simulation& sim, Results* r) {
  const auto* k = sim.kueue();
  if (!k) return;
  const auto& c = k->cache();
  for (int32_t i = 0; i < static_cast<int32_t>(c.cluster_queues().size()); ++i) {
    std::vector<double> waits;
    for (const auto& w : c.workloads()) {
      if (w.cq == i && w.ever_admitted) waits.push_back(Secs(w.created, w.first_admitted_at));
    }
    r->cluster_queue_waits.push_back(
        {Percentile(waits, 0.5), Percentile(waits, 0.95), Percentile(waits, 1.0)});
  }
  std::map<std::string, std::vector<std::string>> groups;
  for (kueue::WorkloadId id = 0; id < c.workloads().size(); ++id) {
    const auto& w = c.wl(id);
    if (w.phase != kueue::WorkloadPhase::kPending) continue;
    groups[kueue::PendingMessage(w)].push_back(w.spec.namespace_ + "/" + w.spec.name);
  }
  r->pending_workloads = Largest(std::move(groups));
}

void Karpenter(const sim::Simulation& sim, Results* r) {
  const auto* k = sim.karpenter();
  if (!k) return;
  const auto& s = sim.store();
  for (cluster::PodId id = 0; id < s.pod_count(); ++id) {
    const auto& p = s.pod(id);
    if (p.deleted || p.Bound() || p.phase != cluster::PodPhase::kPending) continue;
    if (const auto* v = k->Verdict(id)) {
      r->karpenter_pending.push_back({id, v->message, v->forever, v->nominated});
    }
  }
  std::map<cluster::NodeId, const karpenter::NodeClaim*> claim_of;
  for (const auto& c : k->node_claims()) {
    if (c.node != cluster::kNone) claim_of[c.node] = &c;
  }
  for (cluster::PodId id = 0; id < s.pod_count(); ++id) {
    const auto& p = s.pod(id);
    if (p.owner.kind == cluster::OwnerKind::kDaemonSet || p.node == cluster::kNone ||
        p.started_at == cluster::kNever) {
      continue;
    }
    auto it = claim_of.find(p.node);
    if (it == claim_of.end()) continue;
    const auto& c = *it->second;
    if (c.created_at < p.created_at || c.initialized_at == cluster::kNever) continue;
    r->cold_starts.push_back(
        {id, &c, Secs(p.created_at, c.created_at), Secs(c.created_at, c.registered_at),
         Secs(c.registered_at, c.initialized_at),
         std::max(0.0, Secs(c.initialized_at, p.scheduled_at)), Secs(p.scheduled_at, p.started_at),
         Secs(p.created_at, p.started_at)});
  }
}

void Serving(const sim::Simulation& sim, Results* r) {
  const auto* sv = sim.serving();
  if (!sv) return;
  const auto& store = sim.store();
  for (size_t t = 0; t < sv->traffic().size(); ++t) {
    const auto& st = sv->traffic()[t];
    ServingSummary out;
    out.stats = &st;
    out.seconds = Secs(sim.start(), sim.end());
    const api::Service* svc = nullptr;
    for (const auto& x : sim.manifests().services) {
      if (x.metadata.namespace_ + "/" + x.metadata.name == st.service) svc = &x;
    }
    for (cluster::PodId id = 0; svc && id < store.pod_count(); ++id) {
      const auto& p = store.pod(id);
      if (!svc->Selects(p.namespace_, p.tmpl->metadata.labels) ||
          p.scheduled_at == cluster::kNever) {
        continue;
      }
      Time end = sim.end();
      if (p.deleted_at != cluster::kNever) end = std::min(end, p.deleted_at);
      if (p.finished_at != cluster::kNever) end = std::min(end, p.finished_at);
      // The GPUs it asked for (its devices are released when it is deleted).
      const cluster::ResourceId gpu = store.resources().Find("nvidia.com/gpu");
      const double gpus =
          gpu < store.resources().size() ? double(cluster::At(p.tmpl->requests, gpu)) : 0;
      out.gpu_hours += gpus * std::max(0.0, Secs(p.scheduled_at, end)) / 3600;
      if (id < r->cost.pod_cost.size()) out.cost += r->cost.pod_cost[id];
    }
    const auto& tl = sv->timelines()[t];
    bool seen = false;
    for (const auto& pt : tl) {
      out.max_ready = std::max(out.max_ready, pt.ready);
      if (pt.ready > 0 && !seen) {
        seen = true;
        out.min_ready_after_first = pt.ready;
      }
      if (seen) out.min_ready_after_first = std::min(out.min_ready_after_first, pt.ready);
    }
    r->serving.push_back(out);
  }
}

}  // namespace

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

Results Compute(const sim::Simulation& sim) {
  Results r;
  PendingPods(sim, &r);
  Kueue(sim, &r);
  Karpenter(sim, &r);
  r.lost_work = sim.lost_work();
  r.cost = cost::ComputeCost(sim.store(), sim.ec2(), sim.karpenter(), r.lost_work, sim.end());
  Serving(sim, &r);
  return r;
}

}  // namespace gputwin::results
