// What a vLLM pod exports for Prometheus: the engine's /metrics (vllm/v1/metrics/loggers.py,
// 0.11: gauges, counters and histograms with upstream names, help and buckets) and the
// container's CPU as cAdvisor reports it. Like the real process, the endpoint counts on
// its own and Prometheus sees its totals only when it scrapes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/time.h"
#include "telemetry/registry.h"

namespace gputwin::serving {

class VllmEngineSim;

// Declares the vLLM and cAdvisor families in the registry (once per run).
void DeclareVllmMetrics(telemetry::Registry* registry);

class VllmMetricsEndpoint {
 public:
  VllmMetricsEndpoint(telemetry::Registry* registry, const std::string& model,
                      const std::string& pod_namespace, const std::string& pod,
                      const std::string& container, double started, const std::string& job);

  // A request's first token (`ttft` after arrival, `queued` waiting for a step).
  void FirstToken(double ttft, double queued, int32_t prompt_tokens) {
    hist_[kTtft].Observe(ttft);
    hist_[kQueue].Observe(queued);
    prompt_tokens_ += prompt_tokens;
  }
  // A request finished (`tpot` only when it had more than one token).
  void Finished(double e2e, double tpot, int32_t output_tokens) {
    if (output_tokens > 1) {
      // Same value, same buckets (the deprecated name and its successor): one search.
      const size_t i = hist_[kTpot].Observe(tpot);
      hist_[kItl].ObserveAt(i, tpot);
    }
    hist_[kE2e].Observe(e2e);
    generation_tokens_ += output_tokens;
    ++successes_;
  }
  // A scrape at `at` seconds: the gauges from the engine, counters and histograms from
  // what was counted since the last scrape, and the CPU the container used.
  void Scrape(const VllmEngineSim& engine, double at);
  // The pod is gone: its series end with a staleness marker.
  void Retire(Time now);

 private:
  telemetry::Registry::SeriesId up_;  // Prometheus's up for this pod's target
  enum Hist { kTtft, kTpot, kItl, kE2e, kQueue, kHistCount };
  struct LocalHistogram {
    const std::vector<double>* bounds = nullptr;  // the family's upper bounds
    std::vector<uint64_t> counts;                 // per bucket, +Inf last
    double sum = 0;
    uint64_t count = 0;
    size_t Observe(double v) {
      // Buckets below v (le is inclusive): a branch-free count over ~20 bounds.
      size_t i = 0;
      for (double b : *bounds) i += b < v ? 1 : 0;
      ObserveAt(i, v);
      return i;
    }
    void ObserveAt(size_t i, double v) {
      ++counts[i];
      sum += v;
      ++count;
    }
  };

  telemetry::Registry* registry_;
  std::array<telemetry::Registry::SeriesId, 3> gauges_{};  // running, waiting, kv usage
  // prompt, generation, success, preemptions
  std::array<telemetry::Registry::SeriesId, 4> counters_{};
  std::array<telemetry::Registry::SeriesId, kHistCount> series_{};
  std::array<std::vector<double>, kHistCount> bounds_;
  std::array<LocalHistogram, kHistCount> hist_;
  telemetry::Registry::SeriesId cpu_ = 0;
  int64_t prompt_tokens_ = 0, generation_tokens_ = 0, successes_ = 0;
  int64_t preemptions_seen_ = 0;
  double busy_seen_ = 0, cpu_scraped_at_ = 0;
};

}  // namespace gputwin::serving
