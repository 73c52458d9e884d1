#include "cost/cost.h"

#include <algorithm>
#include <cmath>

#include "cloud/ec2.h"
#include "cost/pricing.h"
#include "karpenter/karpenter.h"

namespace gputwin::cost {
namespace {

struct Split {
  double gpu = 0, cpu = 0, mem = 0;  // USD per hour
};

// The GPU share of an instance is read off its on-demand price (what is left after its
// vCPUs and memory at Kubecost's rates) and applied to the price paid, so a spot node's
// discount lowers every part alike.
Split SplitPrice(double price, double od_price, double vcpu, double mem_gib, int gpus) {
  Split s;
  double cpu = vcpu * kCpuHourly, mem = mem_gib * kGibHourly;
  if (gpus > 0) {
    double base = od_price > 0 ? od_price : price;
    s.gpu = price * std::max(0.0, base - cpu - mem) / base;
    double rest = price - s.gpu;
    s.cpu = cpu + mem > 0 ? rest * cpu / (cpu + mem) : rest;
    s.mem = rest - s.cpu;
  } else {
    s.cpu = cpu + mem > 0 ? price * cpu / (cpu + mem) : price;
    s.mem = price - s.cpu;
  }
  return s;
}

double Hours(Time a, Time b) {
  return std::max<double>(0, static_cast<double>((b - a).ns) / 3.6e12);
}

}  // namespace

CostReport ComputeCost(const cluster::Store& store, const cloud::Ec2* ec2,
                       const karpenter::Karpenter* karpenter,
                       const std::vector<cluster::LostWork>& lost, Time end) {
  CostReport r;
  r.pod_cost.assign(store.pod_count(), 0);
  // Pods per node, once.
  std::vector<std::vector<cluster::PodId>> pods_of(store.node_count());
  for (cluster::PodId id = 0; id < store.pod_count(); ++id) {
    const auto& p = store.pod(id);
    if (p.node != cluster::kNone && p.scheduled_at != cluster::kNever)
      pods_of[p.node].push_back(id);
  }
  std::map<cluster::NodeId, const karpenter::NodeClaim*> claim_of;
  if (karpenter) {
    for (const auto& c : karpenter->node_claims()) {
      if (c.node != cluster::kNone) claim_of[c.node] = &c;
    }
  }
  const NodePricing pricing(ec2);
  const auto gpu_res = store.resources().Find("nvidia.com/gpu");
  std::vector<double> gpu_hourly_per_gpu(store.node_count(), 0);
  for (cluster::NodeId n = 0; n < store.node_count(); ++n) {
    const auto& node = store.node(n);
    NodeCost nc;
    nc.name = node.name();
    const auto& labels = node.obj.metadata.labels;
    auto label = [&](const char* k) {
      auto it = labels.find(k);
      return it == labels.end() ? std::string() : it->second;
    };
    nc.instance_type = label("node.kubernetes.io/instance-type");
    nc.capacity_type = label("karpenter.sh/capacity-type");
    nc.nodepool = label("karpenter.sh/nodepool");
    Time from = node.created_at, to = node.deleted ? node.deleted_at : end;
    double od_price = 0;
    if (auto it = claim_of.find(n); it != claim_of.end() && ec2) {
      // Billing runs from launch to termination.
      const auto& c = *it->second;
      const auto& inst = ec2->instance(*c.instance);
      from = inst.launched_at;
      to = inst.running ? end : inst.terminated_at;
      nc.price = c.price;
      od_price = ec2->OnDemandPrice(c.type).value_or(c.price);
    } else {
      const NodePrice p = pricing.Price(node);
      nc.price = p.price;
      od_price = p.on_demand;
    }
    nc.hours = Hours(from, to);
    nc.total = nc.price * nc.hours;
    nc.on_demand_total = od_price * nc.hours;
    if (nc.price > 0) r.priced = true;
    double vcpu = static_cast<double>(cluster::At(node.allocatable, cluster::kCpu)) / 1000;
    double mem_gib = static_cast<double>(cluster::At(node.allocatable, cluster::kMemory)) /
                     (1024.0 * 1024 * 1024);
    int gpus = node.gpu_count;
    if (gpus == 0 && gpu_res < store.resources().size()) {
      gpus = static_cast<int>(cluster::At(node.allocatable, gpu_res));
    }
    Split split = nc.price > 0 ? SplitPrice(nc.price, od_price, vcpu, mem_gib, gpus) : Split{};
    nc.gpu_part = split.gpu * nc.hours;
    nc.gpu_hours = gpus * nc.hours;
    if (gpus > 0) gpu_hourly_per_gpu[n] = split.gpu / gpus;
    for (cluster::PodId id : pods_of[n]) {
      const auto& p = store.pod(id);
      Time stop = end;
      if (p.finished_at != cluster::kNever) stop = std::min(stop, p.finished_at);
      if (p.deleted_at != cluster::kNever) stop = std::min(stop, p.deleted_at);
      double h = Hours(std::max(p.scheduled_at, from), std::min(stop, to));
      if (h <= 0) continue;
      const auto& req = p.tmpl->requests;
      double pod_gpus = static_cast<double>(p.devices.size());
      if (pod_gpus == 0 && gpu_res < store.resources().size()) {
        pod_gpus = static_cast<double>(cluster::At(req, gpu_res));
      }
      double c = 0;
      if (gpus > 0) c += split.gpu * std::min(1.0, pod_gpus / gpus) * h;
      if (vcpu > 0) {
        c += split.cpu *
             std::min(1.0, static_cast<double>(cluster::At(req, cluster::kCpu)) / 1000 / vcpu) * h;
      }
      if (mem_gib > 0) {
        c += split.mem *
             std::min(1.0, static_cast<double>(cluster::At(req, cluster::kMemory)) /
                               (1024.0 * 1024 * 1024) / mem_gib) *
             h;
      }
      nc.allocated += c;
      nc.allocated_gpu_hours += std::min<double>(pod_gpus, gpus) * h;
      r.pod_cost[id] += c;
    }
    nc.idle = std::max(0.0, nc.total - nc.allocated);
    nc.idle_gpu =
        gpus > 0 ? split.gpu * std::max(0.0, nc.gpu_hours - nc.allocated_gpu_hours) / gpus : 0;
    r.total += nc.total;
    r.allocated += nc.allocated;
    r.idle += nc.idle;
    r.idle_gpu += nc.idle_gpu;
    r.gpu_hours += nc.gpu_hours;
    r.allocated_gpu_hours += nc.allocated_gpu_hours;
    if (nc.capacity_type == "spot") r.spot_savings += nc.on_demand_total - nc.total;
    r.nodes.push_back(std::move(nc));
  }
  // Roll-ups.
  for (cluster::PodId id = 0; id < store.pod_count(); ++id) {
    double c = r.pod_cost[id];
    if (c <= 0) continue;
    const auto& p = store.pod(id);
    r.by_namespace[p.namespace_] += c;
    if (p.owner.kind == cluster::OwnerKind::kJob) {
      const auto& j = store.jobs()[p.owner.index].obj.metadata;
      r.by_job[j.namespace_ + "/" + j.name] += c;
    } else if (p.owner.kind == cluster::OwnerKind::kReplicaSet) {
      const auto& rs = store.replica_sets()[p.owner.index];
      if (rs.deployment != cluster::kNone) {
        const auto& d = store.deployments()[rs.deployment].obj.metadata;
        r.by_deployment[d.namespace_ + "/" + d.name] += c;
      }
    }
    const auto& labels = p.tmpl->metadata.labels;
    auto team = labels.find("team");
    r.by_team[team == labels.end() ? "(no team label)" : team->second] += c;
  }
  for (const auto& w : lost) {
    r.lost_gpu_hours += w.gpu_seconds / 3600;
    const auto& p = store.pod(w.pod);
    if (p.node != cluster::kNone) {
      r.lost_work_cost += w.gpu_seconds / 3600 * gpu_hourly_per_gpu[p.node];
    }
  }
  return r;
}

}  // namespace gputwin::cost
