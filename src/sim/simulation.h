// One run of the twin: the store, the controllers as reconcile loops on the virtual clock,
// the scenario's workload generators and actions, and the expectations checked at the end.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/manifests.h"
#include "cluster/store.h"
#include "core/event_queue.h"
#include "devices/gpu_models.h"
#include "devices/inventory.h"
#include "sim/invariants.h"
#include "sim/trace_import.h"
#include "telemetry/registry.h"

namespace gputwin::scheduler {
class Scheduler;
}
namespace gputwin::controllers {
class Kubelet;
class CronJobController;
}  // namespace gputwin::controllers

namespace gputwin::kueue {
class KueueController;
}
namespace gputwin::karpenter {
class Karpenter;
}
namespace gputwin::cloud {
class Ec2;
}
namespace gputwin::prometheus {
class RuleManager;
}
namespace gputwin::serving {
class ServingController;
}
namespace gputwin::autoscaling {
class HorizontalPodAutoscalerController;
class KedaOperator;
}  // namespace gputwin::autoscaling

namespace gputwin::sim {

struct ExpectationResult {
  std::string description;
  SourceRef source;
  bool passed = false;
  std::string detail;
};

struct Progress {
  virtual ~Progress() = default;
  // fraction of the run done, the simulated time reached, events processed so far.
  virtual void Update(double fraction, Time now, uint64_t events) = 0;
};

class Simulation {
 public:
  // Takes the decoded manifests and a scenario (default one for plain manifests).
  // Validates everything up front (InputError before anything runs), builds the
  // components the manifests call for (sim/components.h), then puts the cluster as the
  // manifests describe it in the store and schedules the scenario's drivers.
  Simulation(api::Manifests manifests, api::Scenario scenario);
  ~Simulation();

  void Run(Progress* progress = nullptr);
  // Checks sim/invariants.h as the clock advances (throws InvariantViolation).
  void CheckInvariants() { invariants_ = std::make_unique<InvariantChecker>(store_); }
  size_t invariant_checks() const { return invariants_ ? invariants_->checks() : 0; }

  const cluster::Store& store() const { return store_; }
  cluster::Store& store() { return store_; }
  const api::Scenario& scenario() const { return scenario_; }
  const api::Manifests& manifests() const { return manifests_; }
  Time start() const { return scenario_.start_time; }
  Time end() const { return scenario_.start_time + scenario_.duration; }
  const std::vector<std::string>& warnings() const { return manifests_.diagnostics.warnings; }
  const std::vector<ExpectationResult>& expectation_results() const { return results_; }
  bool expectations_passed() const;
  uint64_t scheduling_attempts() const;
  uint64_t events_processed() const { return events_processed_; }
  // More events than this at one instant stop the run (InvariantViolation, exit 3): the
  // clock would never advance (controllers re-triggering each other without end).
  static constexpr uint64_t kMaxEventsPerInstant = 100'000'000;
  void set_max_events_per_instant(uint64_t n) { max_events_per_instant_ = n; }
  // Kueue, when the manifests hold Kueue objects; else nullptr.
  const kueue::KueueController* kueue() const { return kueue_; }
  // The CronJob controller, when the manifests have CronJobs (else nullptr).
  const controllers::CronJobController* cron_jobs() const { return cron_jobs_; }
  // Karpenter, when the manifests hold NodePools; else nullptr.
  const karpenter::Karpenter* karpenter() const { return karpenter_; }
  const scheduler::Scheduler* scheduler() const { return scheduler_; }
  // Work lost by pods deleted while running (evictions, interruptions, preemptions).
  const std::vector<cluster::LostWork>& lost_work() const;
  // Every metric the components declared and recorded.
  const telemetry::Registry& metrics() const { return metrics_; }
  telemetry::Registry& mutable_metrics() { return metrics_; }
  // Keeps every scraped sample for an OpenMetrics file (call before Run).
  // For tests and tools that query the run's series afterwards: every sample is spooled
  // and the exporters keep an hour of them for PromQL.
  void SpoolMetrics() {
    metrics_.EnableSpool();
    metrics_.KeepQueryHistory(true);
  }
  // The cloud, when the scenario has one or Karpenter runs; else nullptr.
  const cloud::Ec2* ec2() const { return ec2_; }
  // The serving data plane, when the manifests run vLLM or the scenario sends traffic.
  const serving::ServingController* serving() const { return serving_; }
  const prometheus::RuleManager* rules() const { return rules_; }
  // The HPA controller, when the manifests hold HorizontalPodAutoscalers.
  const autoscaling::HorizontalPodAutoscalerController* hpa() const { return hpa_; }
  const autoscaling::KedaOperator* keda() const { return keda_; }

 private:
  friend class ActionRunner;
  friend class ExpectationProbe;
  friend class WorkloadGenerator;
  void Validate();  // validate.cc
  // A snapshot's pod: its controller from ownerReferences, and the controller's record of it.
  void SeedPod(const api::Pod& p);
  cluster::Owner SnapshotOwner(const api::Pod& p);
  void IndexSnapshotControllers();
  // "Kind/namespace/name" → the controller a snapshot's pods name in ownerReferences.
  std::unordered_map<std::string, cluster::Owner> snapshot_controllers_;
  void AdoptSnapshotPod(cluster::PodId id);
  // The scenario's apply, delete and patch actions (actions.cc).
  void ApplyObjects(const api::ScenarioAction& a);
  void DeleteOrPatch(const api::ScenarioAction& a);
  void Wire();
  void Seed();
  void EnsureNamespace(const api::ObjectMeta& meta);
  void CheckExpectations();
  ExpectationResult Check(const api::Expectation& x) const;
  // Checks expectation i now (one with `at`), for CheckExpectations to report.
  void Probe(size_t i);
  void CheckWorkload(const api::Expectation& x,
                     const std::function<void(bool, const std::string&)>& check,
                     std::string* description) const;

  void CheckServing(const api::Expectation& x,
                    const std::function<void(bool, const std::string&)>& check,
                    std::string* description) const;
  void CheckJobSet(const api::Expectation& x, ExpectationResult* r,
                   const std::function<void(bool, const std::string&)>& check) const;
  void CheckLeaderWorkerSet(const api::Expectation& x, ExpectationResult* r,
                            const std::function<void(bool, const std::string&)>& check) const;
  void CheckTrainJob(const api::Expectation& x, ExpectationResult* r,
                     const std::function<void(bool, const std::string&)>& check) const;
  void CheckPyTorchJob(const api::Expectation& x, ExpectationResult* r,
                       const std::function<void(bool, const std::string&)>& check) const;
  // rayCluster, rayJob and rayService expectations (expectations_ray.cc).
  void CheckRay(const api::Expectation& x, ExpectationResult* r,
                const std::function<void(bool, const std::string&)>& check) const;
  void CheckNodeClaim(const api::Expectation& x,
                      const std::function<void(bool, const std::string&)>& check,
                      std::string* description) const;

  api::Manifests manifests_;
  api::Scenario scenario_;
  devices::GpuModelTable gpu_models_;  // this run's: scenario models do not leak
  cluster::Store store_;
  EventQueue queue_;
  telemetry::Registry metrics_;
  devices::GpuStack gpu_stack_;  // from Validate, for the device plugin
  std::vector<TraceArrival> trace_pods_;
  std::vector<std::unique_ptr<EventHandler>> components_;  // controllers and models
  std::vector<std::unique_ptr<EventHandler>> drivers_;     // the scenario's
  // Components the outputs read, found by type after wiring.
  scheduler::Scheduler* scheduler_ = nullptr;
  controllers::Kubelet* kubelet_ = nullptr;
  controllers::CronJobController* cron_jobs_ = nullptr;
  kueue::KueueController* kueue_ = nullptr;
  cloud::Ec2* ec2_ = nullptr;
  serving::ServingController* serving_ = nullptr;
  prometheus::RuleManager* rules_ = nullptr;
  autoscaling::HorizontalPodAutoscalerController* hpa_ = nullptr;
  autoscaling::KedaOperator* keda_ = nullptr;
  karpenter::Karpenter* karpenter_ = nullptr;
  std::vector<ExpectationResult> results_;
  std::vector<std::optional<ExpectationResult>> probed_;  // expectations with `at`
  uint64_t events_processed_ = 0;
  uint64_t max_events_per_instant_ = kMaxEventsPerInstant;
  std::unique_ptr<InvariantChecker> invariants_;
  void CheckPodLimit();
};

// Loads a Scenario file and the manifests it names; or plain manifests with a default
// scenario (`gputwin run -f`). Throws InputError.
// What a Scenario names besides its own file, read as `run` reads it: spec.manifests, the
// rule files and the files of `apply` actions (into the actions). `validate` uses it too.
void LoadReferencedInputs(api::Scenario* scenario, api::Manifests* manifests);
// `patches` (a Sweep's point) apply to every object read, the Scenario's own included; each
// must meet an object.
std::unique_ptr<Simulation> LoadScenario(const std::string& scenario_path,
                                         std::optional<uint64_t> seed,
                                         std::optional<Duration> until,
                                         api::PatchSet* patches = nullptr);
std::unique_ptr<Simulation> LoadManifests(const std::vector<std::string>& paths, Duration duration,
                                          std::optional<uint64_t> seed);

}  // namespace gputwin::sim
