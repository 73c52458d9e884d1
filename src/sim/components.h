// The controllers and models of a run, from one list (as Karpenter's controllers.go builds
// its controllers over one cluster state): each registration names the component as
// upstream does, says whether the manifests call for it, and builds it. The run builds them
// in the list's order (the order kube-controller-manager, the scheduler and the kubelets
// start in) and nothing else names them; they find each other only through the store,
// except models a controller calls as its cloud (Karpenter's EC2). Adding a component is
// one entry in components.cc.
#pragma once

#include <memory>
#include <vector>

#include "api/manifests.h"
#include "api/scenario.h"
#include "cluster/store.h"
#include "core/event_queue.h"
#include "devices/gpu_models.h"
#include "devices/inventory.h"
#include "telemetry/registry.h"

namespace gputwin::sim {

// What a component may use to build itself.
struct RunContext {
  cluster::Store& store;
  EventQueue& queue;
  api::Manifests& manifests;
  api::Scenario& scenario;
  devices::GpuModelTable& gpu_models;
  devices::GpuStack& gpu_stack;  // the NVIDIA stack the manifests install
  telemetry::Registry& metrics;  // where components declare and record their metrics
  Duration metrics_interval;     // how often controllers sample their metrics
  const std::vector<std::unique_ptr<EventHandler>>& built;  // the components so far

  // A component built earlier in the list, by type; nullptr when it was not enabled.
  template <typename T>
  T* Find() const {
    for (const auto& c : built) {
      if (auto* t = dynamic_cast<T*>(c.get())) return t;
    }
    return nullptr;
  }
};

struct ComponentRegistration {
  const char* name;  // as upstream names it (the events' source component)
  // Whether the manifests and scenario call for it; nullptr: always.
  bool (*enabled)(const api::Manifests& m, const api::Scenario& s);
  // Builds it (a controller registers its watches on the store as it is built).
  std::unique_ptr<EventHandler> (*build)(RunContext& ctx);
};

// Every component the twin knows, in start order.
const std::vector<ComponentRegistration>& Components();

// Kueue runs when the manifests hold any of its objects or its Configuration.
bool KueueEnabled(const api::Manifests& m);

}  // namespace gputwin::sim
