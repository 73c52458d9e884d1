// GPU sharing as Alibaba's Open-Gpu-Share scheduler plugin does it, with the score
// policies of the FGD paper's simulator (src/gpushare): pods opt in with the
// alibabacloud.com/gpu-milli, gpu-count and gpu-card-model annotations.
// - OpenGpuShare: Filter (one GPU with enough milli-GPU left, or enough whole free GPUs,
//   of the requested model) and Reserve (the devices, chosen by the configured policy or
//   BestFit), Unreserve when the pod leaves. In the twin's default profile: a cluster
//   whose pods carry these annotations runs the plugin.
// - FGDScore, DotProductScore, GpuClusteringScore, GpuPackingScore, BestFitScore,
//   RandomScore: the score policy, enabled by name in the profile's score plugins.
#pragma once

#include <memory>
#include <optional>

#include "core/random.h"
#include "gpushare/gpushare.h"
#include "scheduler/framework.h"

namespace gputwin::scheduler {

// The workload's typical pods (FGD), shared by the filter and the score plugin:
// recomputed as the number of GPU-sharing pods grows by 10%.
class TypicalSharePods {
 public:
  explicit TypicalSharePods(const cluster::Store* store) : store_(*store) {}
  const std::vector<gpushare::TypicalPod>& Get();

 private:
  const cluster::Store& store_;
  std::vector<gpushare::TypicalPod> typical_;
  size_t basis_ = 0, scanned_ = 0, share_pods_ = 0;
};

gpushare::GpuNode ShareNodeOf(const cluster::Store& store, const NodeInfoCache& info, NodeId n);

class OpenGpuShare final : public Plugin, public FilterPlugin, public ReservePlugin {
 public:
  OpenGpuShare(const Handle& handle, RandomStream* random, std::optional<gpushare::Policy> policy,
               std::shared_ptr<TypicalSharePods> typical, cluster::Store* store);
  const char* Name() const override { return "OpenGpuShare"; }
  std::vector<ClusterEvent> EventsToRegister() const override;
  Scope FilterScope(const cluster::PodRecord& pod) const override;
  Status Filter(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void Reserve(cluster::PodRecord* pod, NodeId node) override;
  void Unreserve(cluster::PodRecord* pod) override;

 private:
  Handle handle_;
  RandomStream& random_;
  std::optional<gpushare::Policy> policy_;
  std::shared_ptr<TypicalSharePods> typical_;
  cluster::Store& store_;
  uint16_t reason_;
};

class GpuShareScore final : public Plugin, public ScorePlugin {
 public:
  GpuShareScore(const Handle& handle, RandomStream* random, gpushare::Policy policy,
                std::shared_ptr<TypicalSharePods> typical);
  const char* Name() const override { return name_.c_str(); }
  Scope ScoreScope(const cluster::PodRecord& pod) const override;
  Code PreScore(CycleState& state, const cluster::PodRecord& pod,
                const std::vector<NodeId>& feasible) override;
  int64_t Score(const CycleState& state, const cluster::PodRecord& pod,
                const NodeView& node) const override;
  void NormalizeScore(const CycleState& state, std::vector<int64_t>* scores) const override;
  bool HasNormalizeScore() const override { return true; }

 private:
  Handle handle_;
  RandomStream& random_;
  gpushare::Policy policy_;
  std::shared_ptr<TypicalSharePods> typical_;
  std::string name_;
  // RandomScore's PreScore pick, by position among the feasible nodes.
  NodeId random_pick_ = cluster::kNone;
};

// The score plugin names of the FGD paper's simulator.
bool GpuSharePolicyFromPluginName(const std::string& name, gpushare::Policy* out);

}  // namespace gputwin::scheduler
