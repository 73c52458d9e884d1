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

// ClusterQueues cq<i> in cohorts co<i % cohorts>, each with an equal share of the nodes' GPUs
// in flavor "gpu", and a LocalQueue of the same name in default.
std::string Queues(int nodes, int cqs, int cohorts) {
  std::string y;
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
  return y;
}

std::string Manifests(int nodes, int cqs, int cohorts, int jobs_per_cq, int run_scale) {
  std::string y;
  for (int i = 0; i < nodes; ++i) {
    y += "---\napiVersion: v1\nkind: Node\nmetadata: {name: n" + std::to_string(i) +
         "}\nstatus: {allocatable: {cpu: \"96\", memory: 1Ti, nvidia.com/gpu: \"8\"}}\n";
  }
  y += "---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: gpu}\n";
  y += Queues(nodes, cqs, cohorts);
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

// Decodes and runs one generated week (events not recorded), then lets `read` take its
// figures.
template <typename Read>
void RunWeek(const std::string& text, Read&& read) {
  api::Manifests m;
  api::DecodeYaml(text, "kueue-bench.yaml", &m);
  api::Scenario scenario = m.scenarios.front();
  m.scenarios.clear();
  sim::Simulation sim(std::move(m), std::move(scenario));
  sim.store().set_record_events(false);
  sim.Run();
  read(sim);
}

void BM_KueueWeek(benchmark::State& state) {
  const int nodes = 2000, cqs = 100, cohorts = 10, jobs_per_cq = 500;
  const auto run_scale = static_cast<int>(state.range(0));
  const std::string text = Manifests(nodes, cqs, cohorts, jobs_per_cq, run_scale);
  int64_t admissions = 0, cycles = 0;
  for (auto _ : state) {
    RunWeek(text, [&](const sim::Simulation& sim) {
      admissions = 0;
      for (const auto& w : sim.kueue()->cache().workloads()) admissions += w.admissions;
      cycles = static_cast<int64_t>(sim.kueue()->scheduler().cycles());
    });
  }
  state.counters["workloads"] = cqs * jobs_per_cq;
  state.counters["admissions"] = static_cast<double>(admissions);
  state.counters["cycles"] = static_cast<double>(cycles);
  state.counters["admissions_per_s"] =
      benchmark::Counter(static_cast<double>(admissions), benchmark::Counter::kIsRate);
}
// The same week under Topology-Aware Scheduling: the nodes in 8 blocks of 10 racks of 25
// (levels block, rack, hostname), one TAS flavor (every workload is TAS: the ClusterQueues
// are TAS-only), and 20 % of the workloads turned into gangs: Indexed Jobs of 4, 16 or 64
// pods of 1 GPU, the 4- and 16-pod ones required within a block, the 64-pod ones
// preferred within a rack. Target: under 15 s.
std::string TasManifests(int nodes, int cqs, int cohorts, int jobs_per_cq) {
  std::string y;
  for (int i = 0; i < nodes; ++i) {
    y += "---\napiVersion: v1\nkind: Node\nmetadata: {name: n" + std::to_string(i) +
         ", labels: {pool: gpu, topology/block: b" + std::to_string(i / 250) +
         ", topology/rack: r" + std::to_string(i / 25) +
         "}}\nstatus: {allocatable: {cpu: \"96\", memory: 1Ti, nvidia.com/gpu: \"8\", "
         "pods: \"110\"}}\n";
  }
  y += "---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: Topology\nmetadata: {name: default}\n"
       "spec:\n  levels: [{nodeLabel: topology/block}, {nodeLabel: topology/rack}, "
       "{nodeLabel: kubernetes.io/hostname}]\n";
  y += "---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: gpu}\n"
       "spec: {nodeLabels: {pool: gpu}, topologyName: default}\n";
  y += Queues(nodes, cqs, cohorts);
  y += "---\napiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: kueue-tas-bench}\n"
       "spec:\n  duration: 168h\n  metricsInterval: 1h\n  workloads:\n";
  auto generator = [&](int q, const std::string& tag, int count, int pods, int gpus,
                       const std::string& annotation, int minutes) {
    y += "  - name: q" + std::to_string(q) + "-" + tag +
         "\n    arrival: {type: poisson, ratePerHour: " + std::to_string(count / 168.0) +
         ", count: " + std::to_string(count) +
         "}\n    template:\n      apiVersion: batch/v1\n      kind: Job\n"
         "      metadata: {labels: {kueue.x-k8s.io/queue-name: cq" +
         std::to_string(q) + "}}\n      spec:\n        parallelism: " + std::to_string(pods) +
         "\n        completions: " + std::to_string(pods) +
         "\n        completionMode: Indexed\n        template:\n          metadata: "
         "{annotations: {gputwin.io/run-time: " +
         std::to_string(minutes) + "m" + annotation +
         "}}\n          spec: {restartPolicy: Never, containers: [{name: c, resources: "
         "{limits: {nvidia.com/gpu: " +
         std::to_string(gpus) + "}}}]}\n";
  };
  for (int q = 0; q < cqs; ++q) {
    // 80 %: single pods of 1-8 GPUs (implied TAS); 20 %: gangs.
    const int singles = jobs_per_cq * 4 / 5 / 4;
    for (int g : {1, 2, 4, 8})
      generator(q, "g" + std::to_string(g), singles, 1, g, "", 60 + 30 * g);
    const int gangs = jobs_per_cq / 5 / 3;
    generator(q, "gang4", gangs, 4, 1, ", kueue.x-k8s.io/podset-required-topology: topology/block",
              120);
    generator(q, "gang16", gangs, 16, 1,
              ", kueue.x-k8s.io/podset-required-topology: topology/block", 120);
    generator(q, "gang64", gangs, 64, 1,
              ", kueue.x-k8s.io/podset-preferred-topology: topology/rack", 120);
  }
  return y;
}

void BM_KueueTasWeek(benchmark::State& state) {
  const int nodes = 2000, cqs = 100, cohorts = 10, jobs_per_cq = 500;
  const std::string text = TasManifests(nodes, cqs, cohorts, jobs_per_cq);
  int64_t admissions = 0, cycles = 0, tas = 0;
  for (auto _ : state) {
    RunWeek(text, [&](const sim::Simulation& sim) {
      admissions = tas = 0;
      for (const auto& w : sim.kueue()->cache().workloads()) {
        admissions += w.admissions;
        if (!w.assignment.empty() && w.assignment.front().topology) tas += w.admissions;
      }
      cycles = static_cast<int64_t>(sim.kueue()->scheduler().cycles());
    });
  }
  state.counters["workloads"] = cqs * jobs_per_cq;
  state.counters["admissions"] = static_cast<double>(admissions);
  state.counters["tas_admissions"] = static_cast<double>(tas);
  state.counters["cycles"] = static_cast<double>(cycles);
}
BENCHMARK(BM_KueueTasWeek)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

// Arg: run-time scale. 1: the GPUs are ~20% busy (little queueing); 4: ~80% busy with
// queueing, borrowing and reclaim everywhere.
BENCHMARK(BM_KueueWeek)->Arg(1)->Arg(4)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace gputwin
