// What the cluster cost: each node's price over its life (on-demand, spot), allocated to
// the pods bound to it by their requests, GPU-weighted: a GPU node's price is split into a
// GPU part and a CPU/memory part (Kubecost's default AWS rates price the vCPUs and memory;
// the rest of the instance price is the GPUs'), and a pod pays the share of each part its
// requests hold. What no pod holds is idle cost. Rolled up by namespace, Job, Deployment
// and the `team` label; spot savings against on-demand; the cost of work lost to
// evictions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/store.h"

namespace gputwin::cloud {
class Ec2;
}
namespace gputwin::karpenter {
class Karpenter;
}

namespace gputwin::cost {

// Kubecost's default AWS resource prices (USD per vCPU-hour and per GiB-hour), used to
// split an instance's price into its CPU, memory and GPU parts.
inline constexpr double kCpuHourly = 0.031611, kGibHourly = 0.004237;

struct NodeCost {
  std::string name, instance_type, capacity_type, nodepool;
  double price = 0;  // USD per hour
  double hours = 0;  // billed
  double total = 0, gpu_part = 0, allocated = 0, idle = 0, idle_gpu = 0;
  double gpu_hours = 0, allocated_gpu_hours = 0;
  double on_demand_total = 0;  // what the same hours cost on demand
};

struct CostReport {
  double total = 0, allocated = 0, idle = 0, idle_gpu = 0;
  double spot_savings = 0;
  double lost_work_cost = 0, lost_gpu_hours = 0;
  double gpu_hours = 0, allocated_gpu_hours = 0;
  std::vector<NodeCost> nodes;
  std::map<std::string, double> by_namespace, by_job, by_deployment, by_team;
  std::vector<double> pod_cost;  // per PodId
  bool priced = false;           // any node had a price
};

CostReport ComputeCost(const cluster::Store& store, const cloud::Ec2* ec2,
                       const karpenter::Karpenter* karpenter,
                       const std::vector<cluster::LostWork>& lost, Time end);

}  // namespace gputwin::cost
