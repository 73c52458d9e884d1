// Karpenter at scale: 2,000 pending GPU pods of 20 shapes (1, 2, 4 or 8 GPUs × 5 CPU
// sizes) against 3 NodePools (on-demand and spot g-family, spot p-family) and the full
// built-in AWS GPU catalog, then a week of churn: every Deployment halves at 2 days and
// grows back at 4 days (consolidation, then provisioning), with spot interruptions at
// 0.5% per instance-hour. Reports wall time, provisioning passes (and how many reused
// the previous pass's result because nothing it reads had changed), scheduling decisions
// (pods placed or refused by a pass) and decisions per second. Target: under 5 s for the
// week (hours:168); hours:24 is the quick variant for profiling.
#include <benchmark/benchmark.h>

#include <string>

#include "api/manifests.h"
#include "karpenter/karpenter.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

std::string Manifests(int64_t hours) {
  std::string y = R"(---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec: {amiSelectorTerms: [{alias: al2023@latest}]}
---
apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec: {driver: {enabled: false}}
)";
  struct Pool {
    const char* name;
    int weight;
    const char* families;
    const char* capacity;
  };
  for (const Pool& p :
       {Pool{"g-on-demand", 50, "[g5, g6, g6e]", "on-demand"},
        Pool{"g-spot", 10, "[g5, g6, g6e]", "spot"}, Pool{"p-spot", 5, "[p4d, p5]", "spot"}}) {
    y += std::string("---\napiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: ") +
         p.name + "}\nspec:\n  weight: " + std::to_string(p.weight) +
         "\n  limits: {nvidia.com/gpu: 2000}\n  disruption: {consolidateAfter: 30m}\n"
         "  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: "
         "EC2NodeClass, name: default}\n      requirements:\n"
         "      - {key: karpenter.k8s.aws/instance-family, operator: In, values: " +
         p.families + "}\n      - {key: karpenter.sh/capacity-type, operator: In, values: [" +
         p.capacity + "]}\n";
  }
  y += "---\napiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: karpenter-bench}\n"
       "spec:\n  duration: " +
       std::to_string(hours) +
       "h\n  metricsInterval: 1h\n"
       "  cloud: {spot: {interruptionRatePerHour: 0.005}}\n  actions:\n";
  int shape = 0;
  std::string deployments;
  for (int gpus : {1, 2, 4, 8}) {
    for (int cpu : {2, 4, 8, 16, 30}) {
      std::string name = "d" + std::to_string(shape++);
      y += "  - {at: 48h, action: scale, target: " + name + ", replicas: 50}\n";
      y += "  - {at: 96h, action: scale, target: " + name + ", replicas: 100}\n";
      deployments += "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name +
                     "}\nspec:\n  replicas: 100\n  selector: {matchLabels: {app: " + name +
                     "}}\n  template:\n    metadata: {labels: {app: " + name +
                     "}}\n    spec:\n      containers: [{name: c, resources: {requests: {cpu: \"" +
                     std::to_string(cpu) + "\", memory: " + std::to_string(cpu * 4) +
                     "Gi}, limits: {nvidia.com/gpu: " + std::to_string(gpus) + "}}}]\n";
    }
  }
  return y + deployments;
}

void BM_KarpenterWeek(benchmark::State& state) {
  const std::string text = Manifests(state.range(0));
  uint64_t passes = 0, reused = 0, decisions = 0, claims = 0, running = 0;
  for (auto _ : state) {
    api::Manifests m;
    api::DecodeYaml(text, "karpenter-bench.yaml", &m);
    api::Scenario scenario = m.scenarios.front();
    m.scenarios.clear();
    sim::Simulation sim(std::move(m), std::move(scenario));
    sim.store().set_record_events(false);
    sim.Run();
    passes = sim.karpenter()->provisioning_passes();
    reused = sim.karpenter()->reused_passes();
    decisions = sim.karpenter()->scheduling_decisions();
    claims = sim.karpenter()->node_claims().size();
    running = sim.store().CountPods(cluster::PodPhase::kRunning);
  }
  state.counters["provisioning_passes"] = static_cast<double>(passes);
  state.counters["reused_passes"] = static_cast<double>(reused);
  state.counters["decisions"] = static_cast<double>(decisions);
  state.counters["nodeclaims"] = static_cast<double>(claims);
  state.counters["running_pods"] = static_cast<double>(running);
  state.counters["decisions_per_s"] =
      benchmark::Counter(static_cast<double>(decisions), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_KarpenterWeek)
    ->ArgName("hours")
    ->Arg(168)
    ->Arg(24)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace gputwin
