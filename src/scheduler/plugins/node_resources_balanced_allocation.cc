#include "scheduler/plugins/node_resources_balanced_allocation.h"

#include <algorithm>
#include <cmath>

#include "scheduler/node_info.h"

namespace gputwin::scheduler {

int64_t NodeResourcesBalancedAllocation::Score(const CycleState&, const cluster::PodRecord& pod,
                                               const NodeView& node) const {
  return ScoreNode(*pod.tmpl, node.id);
}

bool NodeResourcesBalancedAllocation::AddNodeScores(const cluster::PodRecord& pod,
                                                    std::span<const NodeId> nodes, int64_t weight,
                                                    std::span<int64_t> out) const {
  for (size_t i = 0; i < nodes.size(); ++i) out[i] += weight * ScoreNode(*pod.tmpl, nodes[i]);
  return true;
}

int64_t NodeResourcesBalancedAllocation::ScoreNode(const cluster::PodTemplateInfo& t,
                                                   NodeId n) const {
  const auto& info = *handle_.node_info;
  double f[2];
  int k = 0;
  const int64_t* alloc_row = info.alloc(n);
  const int64_t* used_row = info.used(n);
  for (ResourceId r : {cluster::kCpu, cluster::kMemory}) {
    int64_t alloc = alloc_row[r];
    if (alloc == 0) continue;
    int64_t req = used_row[r] + cluster::At(t.requests, r);
    f[k++] = std::min(static_cast<double>(req) / static_cast<double>(alloc), 1.0);
  }
  double stddev = k == 2 ? std::abs((f[0] - f[1]) / 2) : 0.0;
  return static_cast<int64_t>((1 - stddev) * static_cast<double>(kMaxNodeScore));
}

}  // namespace gputwin::scheduler
