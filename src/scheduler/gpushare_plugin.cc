// GPU sharing inside kube-scheduler, as Alibaba's Open-Gpu-Share plugin and the FGD paper's
// score plugins do it: a filter on the devices of a node (one GPU with enough milli-GPU
// left, or enough whole free GPUs), a score from the configured policy, and a reserve
// step that picks the devices. Pods opt in with the alibabacloud.com/gpu-* annotations.
#include <algorithm>

#include "scheduler/scheduler.h"

namespace gputwin::scheduler {

gpushare::GpuNode Scheduler::ShareNode(NodeId n) const {
  const auto& node = store_.node(n);
  gpushare::GpuNode g;
  g.name = node.name();
  g.model = node.gpu_share_model;
  g.cpu_capacity = info_.Alloc(n, cluster::kCpu);
  g.cpu_left = info_.Alloc(n, cluster::kCpu) - info_.Used(n, cluster::kCpu);
  g.memory_left = (info_.Alloc(n, cluster::kMemory) - info_.Used(n, cluster::kMemory)) >> 20;
  g.gpu_count = static_cast<int32_t>(node.gpu_share_left.size());
  for (size_t i = 0; i < node.gpu_share_left.size(); ++i) g.gpu_left[i] = node.gpu_share_left[i];
  g.affinity = node.gpu_share_affinity;
  return g;
}

bool Scheduler::ShareFits(const cluster::PodRecord& pod, NodeId n) const {
  if (!pod.tmpl->uses_gpu_share) return true;
  // CPU and memory are NodeResourcesFit's; here only the devices and the GPU model.
  gpushare::PodShape p = pod.tmpl->gpu_share;
  p.cpu_milli = 0;
  p.memory_mib = 0;
  return gpushare::Fits(ShareNode(n), p);
}

const std::vector<gpushare::TypicalPod>& Scheduler::TypicalSharePods() {
  // The workload's typical pods (FGD): recomputed as the number of GPU pods grows by 10%.
  const size_t share_pods = share_pods_created_;
  if (typical_basis_ == 0 || share_pods > typical_basis_ + typical_basis_ / 10) {
    std::vector<gpushare::PodShape> shapes;
    for (cluster::PodId id = 0; id < store_.pod_count(); ++id) {
      const auto& t = *store_.pod(id).tmpl;
      if (t.uses_gpu_share) shapes.push_back(t.gpu_share);
    }
    typical_ = gpushare::TypicalPods(shapes);
    typical_basis_ = std::max<size_t>(share_pods, 1);
  }
  return typical_;
}

std::vector<int64_t> Scheduler::ShareScores(const cluster::PodRecord& pod,
                                            const std::vector<NodeId>& nodes) {
  std::vector<int64_t> scores(nodes.size(), 0);
  if (!config_.gpu_share_policy || !pod.tmpl->uses_gpu_share) return scores;
  const auto policy = *config_.gpu_share_policy;
  if (policy == gpushare::Policy::kRandom) {
    scores[random_.Below(nodes.size())] = 100;  // RandomScore's PreScore pick
    return scores;
  }
  const auto& typical =
      policy == gpushare::Policy::kFGD ? TypicalSharePods() : std::vector<gpushare::TypicalPod>{};
  for (size_t i = 0; i < nodes.size(); ++i) {
    scores[i] = gpushare::Score(policy, ShareNode(nodes[i]), pod.tmpl->gpu_share, typical);
  }
  if (gpushare::NormalizesScores(policy)) gpushare::NormalizeScores(&scores);
  return scores;
}

void Scheduler::ShareReserve(cluster::PodId id, NodeId n) {
  auto& pod = store_.pod(id);
  if (!pod.tmpl->uses_gpu_share) return;
  const auto policy = config_.gpu_share_policy.value_or(gpushare::Policy::kBestFit);
  const auto& typical =
      policy == gpushare::Policy::kFGD ? TypicalSharePods() : std::vector<gpushare::TypicalPod>{};
  auto gpus = gpushare::SelectGpus(policy, ShareNode(n), pod.tmpl->gpu_share, typical,
                                   [&](uint64_t k) { return random_.Below(k); });
  auto& node = store_.node(n);
  for (int g : gpus) node.gpu_share_left[static_cast<size_t>(g)] -= pod.tmpl->gpu_share.gpu_milli;
  int tag = gpushare::AffinityTag(pod.tmpl->gpu_share);
  if (tag >= 0) ++node.gpu_share_affinity[static_cast<size_t>(tag)];
  pod.gpu_share_devices.assign(gpus.begin(), gpus.end());
}

void Scheduler::ShareRelease(cluster::PodId id) {
  auto& pod = store_.pod(id);
  if (pod.gpu_share_devices.empty() || pod.node == cluster::kNone) return;
  auto& node = store_.node(pod.node);
  for (int32_t g : pod.gpu_share_devices) {
    node.gpu_share_left[static_cast<size_t>(g)] += pod.tmpl->gpu_share.gpu_milli;
  }
  int tag = gpushare::AffinityTag(pod.tmpl->gpu_share);
  if (tag >= 0) --node.gpu_share_affinity[static_cast<size_t>(tag)];
  pod.gpu_share_devices.clear();
}

}  // namespace gputwin::scheduler
