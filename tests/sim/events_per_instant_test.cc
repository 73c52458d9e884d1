// A run whose clock cannot advance stops with an invariant violation (exit 3) instead of
// hanging: more events at one instant than Simulation::kMaxEventsPerInstant. Here the limit
// is lowered so that an ordinary start (a Deployment's 20 pods created, scheduled and
// started at once) crosses it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "sim/simulation.h"

namespace gputwin::sim {
namespace {

using ::testing::HasSubstr;

constexpr const char* kPlatform = R"(
apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: busy-start}
spec: {duration: 1h}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "64", memory: 256Gi, pods: "110"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 20
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, resources: {requests: {cpu: 100m}}}]
)";

std::unique_ptr<Simulation> Load() {
  api::Manifests m;
  api::DecodeYaml(kPlatform, "busy.yaml", &m);
  api::Scenario s = m.scenarios.front();
  m.scenarios.clear();
  return std::make_unique<Simulation>(std::move(m), std::move(s));
}

TEST(EventsPerInstant, AStuckClockStopsTheRun) {
  auto sim = Load();
  sim->set_max_events_per_instant(5);
  try {
    sim->Run();
    FAIL() << "the run went on past 5 events at its start";
  } catch (const InvariantViolation& e) {
    EXPECT_THAT(e.what(), HasSubstr("the clock stopped at 2"));
    EXPECT_THAT(e.what(), HasSubstr("more than 5 events at that one instant"));
  }
}

TEST(EventsPerInstant, TheDefaultLeavesOrdinaryRunsAlone) {
  auto sim = Load();
  sim->Run();
  EXPECT_GT(sim->events_processed(), 5u);
  EXPECT_EQ(sim->store().pod_count(), 20u);
}

}  // namespace
}  // namespace gputwin::sim
