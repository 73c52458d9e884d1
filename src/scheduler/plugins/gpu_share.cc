#include "scheduler/plugins/gpu_share.h"

#include <algorithm>

#include "cluster/store.h"
#include "scheduler/node_info.h"

namespace gputwin::scheduler {

namespace {
const std::pair<const char*, gpushare::Policy> kSharePlugins[] = {
    {"FGDScore", gpushare::Policy::kFGD},
    {"DotProductScore", gpushare::Policy::kDotProduct},
    {"GpuClusteringScore", gpushare::Policy::kGpuClustering},
    {"GpuPackingScore", gpushare::Policy::kGpuPacking},
    {"BestFitScore", gpushare::Policy::kBestFit},
    {"RandomScore", gpushare::Policy::kRandom}};
}  // namespace

bool GpuSharePolicyFromPluginName(const std::string& name, gpushare::Policy* out) {
  for (const auto& [n, policy] : kSharePlugins) {
    if (name == n) {
      *out = policy;
      return true;
    }
  }
  return false;
}

const std::vector<gpushare::TypicalPod>& TypicalSharePods::Get() {
  for (; scanned_ < store_.pod_count(); ++scanned_) {
    share_pods_ += store_.pod(static_cast<PodId>(scanned_)).tmpl->uses_gpu_share;
  }
  if (basis_ == 0 || share_pods_ > basis_ + basis_ / 10) {
    std::vector<gpushare::PodShape> shapes;
    for (PodId id = 0; id < store_.pod_count(); ++id) {
      const auto& t = *store_.pod(id).tmpl;
      if (t.uses_gpu_share) shapes.push_back(t.gpu_share);
    }
    typical_ = gpushare::TypicalPods(shapes);
    basis_ = std::max<size_t>(share_pods_, 1);
  }
  return typical_;
}

gpushare::GpuNode ShareNodeOf(const cluster::Store& store, const NodeInfoCache& info, NodeId n) {
  const auto& node = store.node(n);
  gpushare::GpuNode g;
  g.name = node.name();
  g.model = node.gpu_share_model;
  g.cpu_capacity = info.Alloc(n, cluster::kCpu);
  g.cpu_left = info.Alloc(n, cluster::kCpu) - info.Used(n, cluster::kCpu);
  g.memory_left = (info.Alloc(n, cluster::kMemory) - info.Used(n, cluster::kMemory)) >> 20;
  g.gpu_count = static_cast<int32_t>(node.gpu_share_left.size());
  for (size_t i = 0; i < node.gpu_share_left.size(); ++i) g.gpu_left[i] = node.gpu_share_left[i];
  g.affinity = node.gpu_share_affinity;
  return g;
}

OpenGpuShare::OpenGpuShare(const Handle& handle, RandomStream* random,
                           std::optional<gpushare::Policy> policy,
                           std::shared_ptr<TypicalSharePods> typical, cluster::Store* store)
    : handle_(handle),
      random_(*random),
      policy_(policy),
      typical_(std::move(typical)),
      store_(*store),
      reason_(handle.reasons->Id("node(s) didn't have GPUs with enough free share")) {}

std::vector<ClusterEvent> OpenGpuShare::EventsToRegister() const {
  return {{EventResource::kPod, kDelete}, {EventResource::kNode, kAdd | kUpdateNodeAllocatable}};
}

Scope OpenGpuShare::FilterScope(const cluster::PodRecord& pod) const {
  // The devices' milli-GPU left changes with the node's pods, as its NodeInfo does.
  return pod.tmpl->uses_gpu_share ? Scope::kNode : Scope::kSkip;
}

Status OpenGpuShare::Filter(const CycleState&, const cluster::PodRecord& pod,
                            const NodeView& node) const {
  if (!pod.tmpl->uses_gpu_share) return {};
  // CPU and memory are NodeResourcesFit's; here only the devices and the GPU model.
  gpushare::PodShape p = pod.tmpl->gpu_share;
  p.cpu_milli = 0;
  p.memory_mib = 0;
  if (gpushare::Fits(ShareNodeOf(*handle_.store, *handle_.node_info, node.id), p)) return {};
  return Status::Unschedulable(reason_);
}

void OpenGpuShare::Reserve(cluster::PodRecord* pod, NodeId n) {
  if (!pod->tmpl->uses_gpu_share) return;
  const auto policy = policy_.value_or(gpushare::Policy::kBestFit);
  static const std::vector<gpushare::TypicalPod> kNone;
  const auto& typical = policy == gpushare::Policy::kFGD ? typical_->Get() : kNone;
  auto gpus =
      gpushare::SelectGpus(policy, ShareNodeOf(store_, *handle_.node_info, n), pod->tmpl->gpu_share,
                           typical, [&](uint64_t k) { return random_.Below(k); });
  auto& node = store_.node(n);
  for (int g : gpus) node.gpu_share_left[static_cast<size_t>(g)] -= pod->tmpl->gpu_share.gpu_milli;
  int tag = gpushare::AffinityTag(pod->tmpl->gpu_share);
  if (tag >= 0) ++node.gpu_share_affinity[static_cast<size_t>(tag)];
  pod->gpu_share_devices.assign(gpus.begin(), gpus.end());
}

void OpenGpuShare::Unreserve(cluster::PodRecord* pod) {
  if (pod->gpu_share_devices.empty() || pod->node == cluster::kNone) return;
  auto& node = store_.node(pod->node);
  for (int32_t g : pod->gpu_share_devices) {
    node.gpu_share_left[static_cast<size_t>(g)] += pod->tmpl->gpu_share.gpu_milli;
  }
  int tag = gpushare::AffinityTag(pod->tmpl->gpu_share);
  if (tag >= 0) --node.gpu_share_affinity[static_cast<size_t>(tag)];
  pod->gpu_share_devices.clear();
}

GpuShareScore::GpuShareScore(const Handle& handle, RandomStream* random, gpushare::Policy policy,
                             std::shared_ptr<TypicalSharePods> typical)
    : handle_(handle), random_(*random), policy_(policy), typical_(std::move(typical)) {
  for (const auto& [n, p] : kSharePlugins) {
    if (p == policy) name_ = n;
  }
}

Scope GpuShareScore::ScoreScope(const cluster::PodRecord& pod) const {
  return pod.tmpl->uses_gpu_share ? Scope::kCluster : Scope::kSkip;
}

Code GpuShareScore::PreScore(CycleState&, const cluster::PodRecord&,
                             const std::vector<NodeId>& feasible) {
  random_pick_ = cluster::kNone;
  if (policy_ == gpushare::Policy::kRandom) {
    random_pick_ = feasible[random_.Below(feasible.size())];  // RandomScore's PreScore pick
  } else if (policy_ == gpushare::Policy::kFGD) {
    typical_->Get();
  }
  return Code::kSuccess;
}

int64_t GpuShareScore::Score(const CycleState&, const cluster::PodRecord& pod,
                             const NodeView& node) const {
  if (policy_ == gpushare::Policy::kRandom) return node.id == random_pick_ ? 100 : 0;
  static const std::vector<gpushare::TypicalPod> kNone;
  const auto& typical = policy_ == gpushare::Policy::kFGD ? typical_->Get() : kNone;
  return gpushare::Score(policy_, ShareNodeOf(*handle_.store, *handle_.node_info, node.id),
                         pod.tmpl->gpu_share, typical);
}

void GpuShareScore::NormalizeScore(const CycleState&, std::vector<int64_t>* scores) const {
  if (policy_ != gpushare::Policy::kRandom && gpushare::NormalizesScores(policy_)) {
    gpushare::NormalizeScores(scores);
  }
}

}  // namespace gputwin::scheduler
