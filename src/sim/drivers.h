// What drives a run from the scenario rather than from the cluster: the operator's
// actions, workload generators, trace replay, and expectations checked at a time. Each is
// an event handler on the virtual clock that acts through the store, as kubectl would.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/scenario.h"
#include "cluster/objects.h"
#include "core/event_queue.h"
#include "core/random.h"

namespace gputwin::sim {

class Simulation;

std::string ObjKey(const api::ObjectMeta& m);

// Carries out the scenario's actions at their times, as an operator with kubectl would.
class ActionRunner : public EventHandler {
 public:
  explicit ActionRunner(Simulation* sim) : sim_(*sim) {}
  void OnEvent(Time now, uint64_t arg) override;

 private:
  Simulation& sim_;
};

// Checks an expectation with `at` at its time.
class ExpectationProbe : public EventHandler {
 public:
  explicit ExpectationProbe(Simulation* sim) : sim_(*sim) {}
  void OnEvent(Time, uint64_t arg) override;

 private:
  Simulation& sim_;
};

// Creates the pods of an imported trace at their arrival times.
class TraceReplay : public EventHandler {
 public:
  struct Arrival {
    Duration at;
    std::string namespace_, name;
    std::shared_ptr<const cluster::PodTemplateInfo> tmpl;
  };
  TraceReplay(Simulation* sim, std::vector<Arrival> arrivals)
      : sim_(*sim), arrivals_(std::move(arrivals)) {}
  void Start(EventQueue* queue, Time start) {
    for (size_t i = 0; i < arrivals_.size(); ++i) queue->Schedule(start + arrivals_[i].at, this, i);
  }
  void OnEvent(Time, uint64_t arg) override;

 private:
  Simulation& sim_;
  std::vector<Arrival> arrivals_;
};

// Creates a Pod or a Job from a template at each arrival of its process.
class WorkloadGenerator : public EventHandler {
 public:
  WorkloadGenerator(Simulation* sim, const api::WorkloadGenerator& spec);
  void Start();
  void OnEvent(Time now, uint64_t arg) override;

 private:
  Simulation& sim_;
  const api::WorkloadGenerator& spec_;
  RandomStream random_;
  std::vector<Duration> offsets_;  // fixed and csv arrivals
  std::shared_ptr<const cluster::PodTemplateInfo> pod_template_;
  int64_t created_ = 0;
};

}  // namespace gputwin::sim
