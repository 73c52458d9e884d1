// The NVIDIA device plugin and GPU Feature Discovery on every GPU node, as a controller:
// once the plugin runs on a node (its DaemonSet pod is Running, or the GPU Operator has
// installed the driver) and has registered with the kubelet, the node advertises its
// GPUs (whole, replicated, or as MIG devices) and carries GFD's labels. Until then a pod
// asking for nvidia.com/gpu finds `Insufficient nvidia.com/gpu`.
#pragma once

#include <optional>
#include <vector>

#include "cluster/controller.h"
#include "devices/inventory.h"

namespace gputwin::devices {

class DevicePluginController : public cluster::Controller {
 public:
  DevicePluginController(cluster::Store* store, EventQueue* queue, GpuStack stack);
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;

 protected:
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  void Register(cluster::NodeId node);
  // A node's GPUs and config, planned once from the node as it joined: the plugin and GFD
  // relabel it afterwards (a MIG single strategy's nvidia.com/gpu.count counts instances).
  struct Planned {
    bool has_gpus = false;
    NodeGpuPlan plan;
  };
  const Planned& PlanOf(cluster::NodeId node);
  GpuStack stack_;
  std::vector<cluster::NodeId> added_;
  std::vector<std::optional<Planned>> plans_;
  Time start_;  // nodes added at the run's start are already set up
};

// Device units for a node snapshot that already reports nvidia.com/* in allocatable.
std::vector<cluster::DeviceUnit> UnitsFromAllocatable(const api::Node& node, const GpuModel* model,
                                                      int gpu_count);

}  // namespace gputwin::devices
