// Kueue admission at scale: 100 ClusterQueues in 10 cohorts sharing 2,000 nodes of 8 GPUs
// (16,000 GPUs, 160 of nominal quota per queue),
// 50,000 Jobs of 1 to 8 GPUs arriving over a simulated week (Poisson per queue, mean run
// 1h30m to 5h), BestEffortFIFO, reclaimWithinCohort LowerPriority. Reports wall time and
// admissions per second of wall time. Target: under 10 s.
#include <benchmark/benchmark.h>

#include <string>

#include "api/manifests.h"
#include "kueue/kueue_controller.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

std::string Manifests(int nodes, int cqs, int cohorts, int jobs_per_cq, int run_scale) {
  std::string y;
  for (int i = 0; i < nodes; ++i) {
    y += "---\napiVersion: v1\nkind: Node\nmetadata: {name: n" + std::to_string(i) +
         "}\nstatus: {allocatable: {cpu: \"96\", memory: 1Ti, nvidia.com/gpu: \"8\"}}\n";
  }
  y += "---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: gpu}\n";
  const int quota = nodes * 8 / cqs;
  for (int q = 0; q < cqs; ++q) {
    const std::string name = "cq" + std::to_string(q);
    y += "---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: " + name +
         "}\nspec:\n  namespaceSelector: {}\n  cohort: co" + std::to_string(q % cohorts) +
         "\n  preemption: {reclaimWithinCohort: LowerPriority}\n  resourceGroups:\n"
         "  - coveredResources: [nvidia.com/gpu]\n    flavors: [{name: gpu, resources: "
         "[{name: nvidia.com/gpu, nominalQuota: " +
         std::to_string(quota) + "}]}]\n";
    y += "---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata: {name: " + name +
         ", namespace: default}\nspec: {clusterQueue: " + name + "}\n";
  }
  // One Poisson generator per queue and shape: 1, 2, 4 or 8 GPUs.
  y += "---\napiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: kueue-bench}\n"
       "spec:\n  duration: 168h\n  metricsInterval: 1h\n  workloads:\n";
  for (int q = 0; q < cqs; ++q) {
    for (int g : {1, 2, 4, 8}) {
      const int count = jobs_per_cq / 4;
      y += "  - name: q" + std::to_string(q) + "-g" + std::to_string(g) +
           "\n    arrival: {type: poisson, ratePerHour: " + std::to_string(count / 168.0) +
           ", count: " + std::to_string(count) +
           "}\n    template:\n      apiVersion: batch/v1\n      kind: Job\n"
           "      metadata: {labels: {kueue.x-k8s.io/queue-name: cq" +
           std::to_string(q) +
           "}}\n      spec:\n        template:\n          metadata: {annotations: "
           "{gputwin.io/run-time: " +
           std::to_string(run_scale * (60 + 30 * g)) +
           "m}}\n          spec: {restartPolicy: Never, containers: [{name: c, resources: "
           "{limits: {nvidia.com/gpu: " +
           std::to_string(g) + "}}}]}\n";
    }
  }
  return y;
}

void BM_KueueWeek(benchmark::State& state) {
  const int nodes = 2000, cqs = 100, cohorts = 10, jobs_per_cq = 500;
  const auto run_scale = static_cast<int>(state.range(0));
  const std::string text = Manifests(nodes, cqs, cohorts, jobs_per_cq, run_scale);
  int64_t admissions = 0, cycles = 0;
  for (auto _ : state) {
    api::Manifests m;
    api::DecodeYaml(text, "kueue-bench.yaml", &m);
    api::Scenario scenario = m.scenarios.front();
    m.scenarios.clear();
    sim::Simulation sim(std::move(m), std::move(scenario));
    sim.store().set_record_events(false);
    sim.Run();
    admissions = 0;
    for (const auto& w : sim.kueue()->cache().workloads()) admissions += w.admissions;
    cycles = static_cast<int64_t>(sim.kueue()->scheduler().cycles());
  }
  state.counters["workloads"] = cqs * jobs_per_cq;
  state.counters["admissions"] = static_cast<double>(admissions);
  state.counters["cycles"] = static_cast<double>(cycles);
  state.counters["admissions_per_s"] =
      benchmark::Counter(static_cast<double>(admissions), benchmark::Counter::kIsRate);
}
// Arg: run-time scale. 1: the GPUs are ~20% busy (little queueing); 4: ~80% busy with
// queueing, borrowing and reclaim everywhere.
BENCHMARK(BM_KueueWeek)->Arg(1)->Arg(4)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace gputwin
