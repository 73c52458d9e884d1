// Scheduling throughput: 10,000 nodes of 20 shapes, 100,000 pods of 20 templates, the
// default profile (LeastAllocated, adaptive percentageOfNodesToScore = 5%).
// Prints pods/s; the target is >= 50,000 pods/s on one core.
// Third argument, the mode: 0 plain pods; 1 plain pods with PodTopologySpread,
// InterPodAffinity and ImageLocality disabled (the plain path must cost the same);
// 2 topology: of every 4 templates one has a hard zone spread (maxSkew 1), one a soft
// hostname spread and one a preferred hostname anti-affinity.
#include <benchmark/benchmark.h>

#include "cluster/store.h"
#include "core/event_queue.h"
#include "scheduler/scheduler.h"

namespace gputwin {
namespace {

api::Node MakeNode(int i) {
  static const int kCpu[] = {16, 32, 48, 64, 96};
  static const int kGpu[] = {0, 1, 4, 8};
  int shape = i % 20;
  api::Node n;
  n.metadata.name = "node-" + std::to_string(i);
  n.metadata.labels["topology.kubernetes.io/zone"] = "zone-" + std::to_string(i % 3);
  n.metadata.labels["shape"] = std::to_string(shape);
  n.allocatable["cpu"] = Quantity{kCpu[shape % 5] * 1000LL};
  n.allocatable["memory"] = Quantity{kCpu[shape % 5] * 4LL * 1024 * 1024 * 1024 * 1000};
  n.allocatable["pods"] = Quantity{110'000};
  int gpus = kGpu[shape / 5];
  if (gpus) {
    n.allocatable["nvidia.com/gpu"] = Quantity{gpus * 1000LL};
    n.taints.push_back({"nvidia.com/gpu", "present", "NoSchedule"});
  }
  return n;
}

api::PodSpec MakeSpec(int t, bool topology) {
  api::PodSpec spec;
  if (topology && t % 4 != 0) {
    api::LabelSelector self;
    self.match_labels = {{"app", "t" + std::to_string(t)}};
    if (t % 4 == 1 || t % 4 == 2) {
      api::TopologySpreadConstraint c;
      c.max_skew = 1;
      c.topology_key = t % 4 == 1 ? "topology.kubernetes.io/zone" : "kubernetes.io/hostname";
      c.when_unsatisfiable = t % 4 == 1 ? "DoNotSchedule" : "ScheduleAnyway";
      c.label_selector = self;
      spec.topology_spread_constraints.push_back(c);
    } else {
      api::PodAffinityTerm term;
      term.label_selector = self;
      term.topology_key = "kubernetes.io/hostname";
      spec.pod_anti_affinity = api::PodAffinity{{}, {{100, term}}};
    }
  }
  api::Container c;
  c.name = "c";
  c.resources.requests["cpu"] = Quantity{250LL * (1 + t % 8)};
  c.resources.requests["memory"] = Quantity{512LL * 1024 * 1024 * 1000 * (1 + t % 4)};
  if (t % 5 == 0) {
    c.resources.limits["nvidia.com/gpu"] = Quantity{1000LL * (1 + t % 2)};
    c.resources.requests["nvidia.com/gpu"] = c.resources.limits["nvidia.com/gpu"];
    spec.tolerations.push_back({"nvidia.com/gpu", "Exists", "", "NoSchedule", std::nullopt});
  }
  spec.containers.push_back(c);
  return spec;
}

void BM_Schedule(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int pods = static_cast<int>(state.range(1));
  const int64_t mode = state.range(2);
  scheduler::SchedulerConfig config;
  if (mode == 1) {
    api::KubeSchedulerConfiguration c;
    for (const char* name : {"PodTopologySpread", "InterPodAffinity", "ImageLocality"}) {
      c.plugins["multiPoint"].disabled.push_back(name);
    }
    config = scheduler::SchedulerConfig::From(c, nullptr);
  }
  uint64_t total_bound = 0;
  for (auto _ : state) {
    state.PauseTiming();
    cluster::Store store;
    store.set_record_events(false);
    EventQueue queue;
    scheduler::Scheduler sched(&store, &queue, config, 1);
    for (int i = 0; i < nodes; ++i) store.AddNode(MakeNode(i));
    std::vector<std::shared_ptr<const cluster::PodTemplateInfo>> templates;
    for (int t = 0; t < 20; ++t) {
      api::ObjectMeta meta;
      meta.name = "t" + std::to_string(t);
      meta.labels = {{"app", "t" + std::to_string(t)}};
      templates.push_back(store.MakeTemplate(meta, MakeSpec(t, mode == 2), "default"));
    }
    for (int i = 0; i < pods; ++i) {
      cluster::PodRecord rec;
      rec.namespace_ = "default";
      rec.name = "pod-" + std::to_string(i);
      rec.tmpl = templates[static_cast<size_t>(i % 20)];
      std::string err;
      store.CreatePod(std::move(rec), &err);
    }
    state.ResumeTiming();
    while (!queue.empty()) {
      Event e = queue.Pop();
      store.set_now(e.at);
      e.handler->OnEvent(e.at, e.arg);
      if (e.at > Time{0} + Duration::Minutes(1)) break;
    }
    total_bound += sched.bound_pods();
    state.PauseTiming();
    state.counters["bound"] = static_cast<double>(sched.bound_pods());
    state.ResumeTiming();
  }
  state.counters["pods/s"] =
      benchmark::Counter(static_cast<double>(total_bound), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Schedule)
    ->ArgNames({"nodes", "pods", "mode"})
    ->Args({10'000, 100'000, 0})
    ->Args({10'000, 100'000, 1})
    ->Args({10'000, 100'000, 2})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK(BM_Schedule)
    ->ArgNames({"nodes", "pods", "mode"})
    ->Args({1'000, 10'000, 0})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace gputwin

BENCHMARK_MAIN();
