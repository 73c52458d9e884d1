// SchedulingGates (plugins/schedulinggates), the PreEnqueue plugin: a pod created with
// spec.schedulingGates stays out of the scheduling queue (PodScheduled=False, reason
// SchedulingGated, no FailedScheduling events) until every gate is removed; it then goes
// straight to the active queue, with no backoff.
#pragma once

#include "scheduler/framework.h"

namespace gputwin::scheduler {

class SchedulingGates final : public Plugin, public PreEnqueuePlugin {
 public:
  const char* Name() const override { return "SchedulingGates"; }
  std::vector<ClusterEvent> EventsToRegister() const override {
    return {{EventResource::kPod, kUpdatePodSchedulingGatesEliminated}};
  }
  std::string PreEnqueue(const cluster::PodRecord& pod) const override;
};

}  // namespace gputwin::scheduler
