#include "scheduler/plugins/scheduling_gates.h"

namespace gputwin::scheduler {

std::string SchedulingGates::PreEnqueue(const cluster::PodRecord& pod) const {
  if (pod.scheduling_gates.empty()) return "";
  std::string names;
  for (const auto& g : pod.scheduling_gates) names += (names.empty() ? "" : " ") + g;
  return "waiting for scheduling gates: [" + names + "]";
}

}  // namespace gputwin::scheduler
