// Telemetry at scale: a week of a 1,000-GPU cluster (bench/telemetry/week.yaml: 125
// p5.48xlarge nodes, training Jobs and notebooks arriving as Poisson processes) with
// dcgm-exporter, kube-state-metrics and OpenCost scraped every 30 s, written as a
// Prometheus TSDB block (what `gputwin run --metrics-tsdb DIR` does). hours:168 is the
// issue's week (target under 30 s and 1 GB); hours:24 is the quick variant. Peak RSS is the
// process's: run one variant alone (--benchmark_filter) for a clean figure.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <filesystem>

#include "sim/simulation.h"
#include "telemetry/tsdb_block.h"

namespace gputwin {
namespace {

void BM_TelemetryWeek(benchmark::State& state) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "gputwin-bench-telemetry";
  telemetry::TsdbBlockWriter::Stats stats;
  for (auto _ : state) {
    fs::remove_all(dir);
    auto sim = sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/bench/telemetry/week.yaml",
                                 std::nullopt, Duration::Hours(state.range(0)));
    telemetry::TsdbBlockWriter block(dir.string(), sim->start(), sim->scenario().seed,
                                     &sim->mutable_metrics());
    sim->Run();
    block.Commit();
    stats = block.stats();
  }
  fs::remove_all(dir);
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  state.counters["samples"] = double(stats.samples);
  state.counters["series"] = double(stats.series);
  state.counters["block_MB"] = double(stats.bytes) / 1e6;
  state.counters["bytes_per_sample"] =
      double(stats.bytes) / double(std::max<uint64_t>(1, stats.samples));
  state.counters["peak_rss_MB"] = double(usage.ru_maxrss) / 1024.0;
  state.counters["samples_per_s"] =
      benchmark::Counter(double(stats.samples), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TelemetryWeek)
    ->ArgName("hours")
    ->Arg(24)
    ->Arg(168)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

}  // namespace
}  // namespace gputwin
