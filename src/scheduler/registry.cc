#include "scheduler/registry.h"

#include "scheduler/plugins/default_preemption.h"
#include "scheduler/plugins/gpu_share.h"
#include "scheduler/plugins/image_locality.h"
#include "scheduler/plugins/inter_pod_affinity.h"
#include "scheduler/plugins/node_affinity.h"
#include "scheduler/plugins/node_name.h"
#include "scheduler/plugins/node_resources_balanced_allocation.h"
#include "scheduler/plugins/node_resources_fit.h"
#include "scheduler/plugins/node_unschedulable.h"
#include "scheduler/plugins/pod_topology_spread.h"
#include "scheduler/plugins/scheduling_gates.h"
#include "scheduler/plugins/taint_toleration.h"
#include "scheduler/profile.h"

namespace gputwin::scheduler {

namespace {

constexpr uint32_t kFilterPoints = kPreFilterPoint | kFilterPoint;
constexpr uint32_t kScorePoints = kPreScorePoint | kScorePoint;

std::unique_ptr<Plugin> NewGpuShareScore(PluginContext& ctx, gpushare::Policy policy) {
  return std::make_unique<GpuShareScore>(ctx.handle, ctx.random, policy, ctx.typical_share_pods);
}

}  // namespace

const std::vector<RegisteredPlugin>& InTreeRegistry() {
  // The default profile's plugins in getDefaultPlugins' order (v1.31+), then the plugins
  // a profile may enable by name.
  static const std::vector<RegisteredPlugin> kRegistry = {
      {"SchedulingGates", kPreEnqueuePoint, 0, true,
       [](PluginContext&) -> std::unique_ptr<Plugin> {
         return std::make_unique<SchedulingGates>();
       }},
      {"PrioritySort", kQueueSortPoint, 0, true, nullptr},
      {"NodeUnschedulable", kFilterPoint, 0, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<NodeUnschedulable>(c.handle.reasons);
       }},
      {"NodeName", kFilterPoint, 0, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<NodeName>(c.handle.reasons);
       }},
      {"TaintToleration", kFilterPoint | kScorePoints, 3, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<TaintToleration>(c.handle.reasons);
       }},
      {"NodeAffinity", kFilterPoints | kScorePoints, 2, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<NodeAffinity>(c.handle.reasons, c.handle.store);
       }},
      {"NodePorts", kFilterPoints, 0, true, nullptr},
      {"NodeResourcesFit", kFilterPoints | kScorePoints, 1, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<NodeResourcesFit>(c.handle, c.profile->fit, &c.store->resources());
       }},
      // The twin's: Alibaba's Open-Gpu-Share filter and device reservation, for pods that
      // ask for alibabacloud.com/gpu-milli (a no-op for every other pod).
      {"OpenGpuShare", kFilterPoint | kReservePoint, 0, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         std::optional<gpushare::Policy> policy;
         for (const auto& s : c.profile->score) {
           gpushare::Policy p;
           if (GpuSharePolicyFromPluginName(s.name, &p)) policy = p;
         }
         return std::make_unique<OpenGpuShare>(c.handle, c.random, policy, c.typical_share_pods,
                                               c.store);
       }},
      {"VolumeRestrictions", kFilterPoints, 0, true, nullptr},
      {"NodeVolumeLimits", kFilterPoints, 0, true, nullptr},
      {"VolumeBinding", kFilterPoints | kScorePoints | kReservePoint | kPreBindPoint, 1, true,
       nullptr},
      {"VolumeZone", kFilterPoints, 0, true, nullptr},
      {"PodTopologySpread", kFilterPoints | kScorePoints, 2, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<PodTopologySpread>(c.handle, c.profile->spread);
       }},
      {"InterPodAffinity", kFilterPoints | kScorePoints, 2, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<InterPodAffinity>(c.handle, c.profile->inter_pod_affinity);
       }},
      {"DefaultPreemption", kPostFilterPoint, 0, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<DefaultPreemption>(c.scheduler);
       }},
      {"NodeResourcesBalancedAllocation", kScorePoints, 1, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<NodeResourcesBalancedAllocation>(c.handle);
       }},
      {"ImageLocality", kScorePoint, 1, true,
       [](PluginContext& c) -> std::unique_ptr<Plugin> {
         return std::make_unique<ImageLocality>(c.handle);
       }},
      {"DefaultBinder", kBindPoint, 0, true, nullptr},
      {"DynamicResources", kFilterPoints | kScorePoints | kReservePoint | kPreBindPoint, 0, false,
       nullptr},
      // The FGD paper's GPU-sharing score plugins.
      {"FGDScore", kScorePoints, 0, false,
       [](PluginContext& c) { return NewGpuShareScore(c, gpushare::Policy::kFGD); }},
      {"DotProductScore", kScorePoints, 0, false,
       [](PluginContext& c) { return NewGpuShareScore(c, gpushare::Policy::kDotProduct); }},
      {"GpuClusteringScore", kScorePoints, 0, false,
       [](PluginContext& c) { return NewGpuShareScore(c, gpushare::Policy::kGpuClustering); }},
      {"GpuPackingScore", kScorePoints, 0, false,
       [](PluginContext& c) { return NewGpuShareScore(c, gpushare::Policy::kGpuPacking); }},
      {"BestFitScore", kScorePoints, 0, false,
       [](PluginContext& c) { return NewGpuShareScore(c, gpushare::Policy::kBestFit); }},
      {"RandomScore", kScorePoints, 0, false,
       [](PluginContext& c) { return NewGpuShareScore(c, gpushare::Policy::kRandom); }},
  };
  return kRegistry;
}

const RegisteredPlugin* FindPlugin(const std::string& name) {
  for (const auto& p : InTreeRegistry()) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

}  // namespace gputwin::scheduler
