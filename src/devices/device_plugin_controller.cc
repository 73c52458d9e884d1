#include "devices/device_plugin_controller.h"

namespace gputwin::devices {

using cluster::WatchKind;
using cluster::WatchOp;

DevicePluginController::DevicePluginController(cluster::Store* store, EventQueue* queue,
                                               GpuStack stack)
    : Controller("nvidia-device-plugin", store, queue,
                 cluster::Watches({cluster::WatchKind::kNode, cluster::WatchKind::kPod})),
      stack_(std::move(stack)),
      start_(store->now()) {}

std::vector<cluster::DeviceUnit> UnitsFromAllocatable(const api::Node& node, const GpuModel* model,
                                                      int gpu_count) {
  std::vector<cluster::DeviceUnit> units;
  for (const auto& [name, q] : node.allocatable) {
    if (!name.starts_with("nvidia.com/")) continue;
    int64_t n = q.Value();
    int gpus = gpu_count > 0 ? gpu_count : static_cast<int>(n);
    for (int64_t k = 0; k < n; ++k) {
      cluster::DeviceUnit u;
      u.resource = name;
      u.gpu = static_cast<int32_t>(gpus > 0 ? k % gpus : 0);
      u.replica = n > gpus ? static_cast<int32_t>(k / gpus) : -1;
      u.id =
          "GPU-" + std::to_string(u.gpu) + (u.replica >= 0 ? "::" + std::to_string(u.replica) : "");
      u.memory_mib = model ? model->memory_mib : 0;
      units.push_back(u);
    }
  }
  return units;
}

const DevicePluginController::Planned& DevicePluginController::PlanOf(cluster::NodeId n) {
  if (plans_.size() <= n) plans_.resize(n + 1);
  if (!plans_[n]) {
    Planned p;
    p.has_gpus = PlanNode(store_.node(n).obj, stack_, &p.plan);
    plans_[n] = std::move(p);
  }
  return *plans_[n];
}

void DevicePluginController::OnWatch(WatchKind kind, WatchOp op, uint32_t id) {
  if (kind == WatchKind::kNode && op == WatchOp::kAdded) {
    PlanOf(id);  // before anything relabels it
    added_.push_back(id);
    RequestReconcile();
    // With the GPU Operator, nodes that exist when the run starts are already set up:
    // they advertise before any pod is scheduled.
    if (store_.now() == start_ && stack_.mode == GpuStack::Mode::kGpuOperator) Register(id);
    return;
  }
  if (kind != WatchKind::kPod || stack_.mode != GpuStack::Mode::kDaemonSet) return;
  const auto& p = store_.pod(id);
  if (p.owner.kind != cluster::OwnerKind::kDaemonSet || p.phase != cluster::PodPhase::kRunning ||
      p.started_at != store_.now() || !p.Bound()) {
    return;
  }
  for (uint32_t ds : stack_.plugin_daemon_sets) {
    if (p.owner.index == ds) {
      // The plugin starts, then registers its resources with the kubelet.
      At(store_.now() + stack_.registration_delay, p.node);
      return;
    }
  }
}

void DevicePluginController::Reconcile(Time now) {
  std::vector<cluster::NodeId> added;
  added.swap(added_);
  for (cluster::NodeId n : added) {
    const auto& node = store_.node(n);
    // A snapshot of a node that already advertises GPUs: its plugin is registered.
    bool snapshot = false;
    for (const auto& [name, q] : node.obj.allocatable)
      snapshot |= name.starts_with("nvidia.com/") && q.milli > 0;
    const NodeGpuPlan& plan = PlanOf(n).plan;
    const bool has_gpus = PlanOf(n).has_gpus;
    if (has_gpus) {
      store_.node(n).gpu_model = plan.gpus.model->name;
      store_.node(n).gpu_count = plan.gpus.count;
      // node-feature-discovery, when it runs (the GPU Operator deploys it), marks nodes with
      // an NVIDIA PCI device; the plugin chart's default node affinity selects on that.
      if (stack_.node_feature_discovery && !store_.node(n).obj.metadata.labels.count(
                                               "feature.node.kubernetes.io/pci-10de.present")) {
        store_.SetNodeLabel(n, "feature.node.kubernetes.io/pci-10de.present", "true");
      }
    }
    if (snapshot) {
      auto& rec = store_.node(n);
      rec.devices =
          UnitsFromAllocatable(rec.obj, has_gpus ? plan.gpus.model : nullptr, plan.gpus.count);
      rec.device_plugin_registered = true;
      continue;
    }
    if (!has_gpus) continue;
    if (stack_.mode == GpuStack::Mode::kGpuOperator && now != start_) {
      // A node added later installs the driver, then the plugin registers.
      At(now + stack_.driver_install + stack_.registration_delay, n);
    }
  }
}

void DevicePluginController::OnTimer(Time, uint64_t arg) {
  Register(static_cast<cluster::NodeId>(arg));
}

void DevicePluginController::Register(cluster::NodeId n) {
  auto& node = store_.node(n);
  if (node.deleted || node.device_plugin_registered) return;
  if (!PlanOf(n).has_gpus) return;
  const NodeGpuPlan& plan = PlanOf(n).plan;
  if (!plan.config_error.empty()) {
    // The config-manager (an init container) exits with this error: no plugin, no GPUs.
    store_.RecordEvent("Warning", "DevicePluginFailed", "Node", "", node.name(),
                       "nvidia-device-plugin config-manager failed: " + plan.config_error, name_);
    return;
  }
  Advertisement a = Advertise(plan.gpus, plan.config);
  if (!a.error.empty()) {
    store_.RecordEvent("Warning", "DevicePluginFailed", "Node", "", node.name(),
                       "nvidia-device-plugin failed to start: " + a.error, name_);
    store_.SetNodeDevices(n, {}, a.labels, {});
    return;
  }
  node.fail_requests_greater_than_one = plan.config.fail_requests_greater_than_one;
  std::string summary;
  for (const auto& [name, count] : a.resources) {
    summary += (summary.empty() ? "" : ", ") + name + ": " + std::to_string(count);
  }
  store_.RecordEvent("Normal", "DevicePluginRegistered", "Node", "", node.name(),
                     "nvidia-device-plugin registered " + summary, name_);
  store_.SetNodeDevices(n, a.resources, a.labels, std::move(a.devices));
}

}  // namespace gputwin::devices
