#include "serving/vllm_metrics.h"

#include <algorithm>

#include "serving/engine.h"

namespace gputwin::serving {
namespace {

// CPU of a vLLM pod (README.md): the engine core process spins about one core while the
// GPU runs steps; the API server and idle loop take about a tenth of one.
constexpr double kIdleCores = 0.1, kBusyCores = 1.0;

constexpr const char* kHistogramNames[] = {
    "vllm:time_to_first_token_seconds", "vllm:time_per_output_token_seconds",
    "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds",
    "vllm:request_queue_time_seconds"};

}  // namespace

void DeclareVllmMetrics(telemetry::Registry* registry) {
  // vLLM's metrics (vllm/v1/metrics/loggers.py, 0.11), with the pod labels a Prometheus
  // scrape adds. Buckets as upstream.
  const std::vector<std::string> labels = {"model_name", "engine", "namespace", "pod"};
  using telemetry::MetricType;
  auto declare = [&](const char* name, const char* help, MetricType type,
                     std::vector<double> buckets = {}, const char* unit = "",
                     std::vector<std::string> extra = {}) {
    telemetry::MetricDesc d;
    d.name = name;
    d.help = help;
    d.type = type;
    d.label_names = labels;
    d.label_names.insert(d.label_names.end(), extra.begin(), extra.end());
    d.buckets = std::move(buckets);
    d.unit = unit;
    registry->Declare("vllm", d);
  };
  {
    telemetry::MetricDesc cpu;
    cpu.name = "container_cpu_usage_seconds_total";
    cpu.help = "Cumulative cpu time consumed by the container in core-seconds";
    cpu.type = MetricType::kCounter;
    cpu.label_names = {"namespace", "pod", "container"};
    cpu.unit = "seconds";
    registry->Declare("cadvisor", cpu);
  }
  declare("vllm:num_requests_running", "Number of requests in model execution batches.",
          MetricType::kGauge);
  declare("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
          MetricType::kGauge);
  declare("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.",
          MetricType::kGauge);
  declare("vllm:prompt_tokens_total", "Number of prefill tokens processed.", MetricType::kCounter);
  declare("vllm:generation_tokens_total", "Number of generation tokens processed.",
          MetricType::kCounter);
  declare("vllm:request_success_total", "Count of successfully processed requests.",
          MetricType::kCounter, {}, "", {"finished_reason"});
  declare("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.",
          MetricType::kCounter);
  const std::vector<double> ttft = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                    0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                    20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
  const std::vector<double> itl = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                   0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
  const std::vector<double> latency = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                       5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                       60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
  declare(kHistogramNames[0], "Histogram of time to first token in seconds.",
          MetricType::kHistogram, ttft, "seconds");
  declare(kHistogramNames[1], "DEPRECATED: Use vllm:inter_token_latency_seconds instead.",
          MetricType::kHistogram, itl, "seconds");
  declare(kHistogramNames[2], "Histogram of inter-token latency in seconds.",
          MetricType::kHistogram, itl, "seconds");
  declare(kHistogramNames[3], "Histogram of e2e request latency in seconds.",
          MetricType::kHistogram, latency, "seconds");
  declare(kHistogramNames[4], "Histogram of time spent in WAITING phase for request.",
          MetricType::kHistogram, latency, "seconds");
}

VllmMetricsEndpoint::VllmMetricsEndpoint(telemetry::Registry* registry, const std::string& model,
                                         const std::string& pod_namespace, const std::string& pod,
                                         const std::string& container, double started,
                                         const std::string& job)
    : up_(registry->Up("vllm", job, pod + ":8000")), registry_(registry), cpu_scraped_at_(started) {
  const telemetry::Labels labels = {
      {"model_name", model}, {"engine", "0"}, {"namespace", pod_namespace}, {"pod", pod}};
  size_t i = 0;
  for (const char* g :
       {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"}) {
    gauges_[i++] = registry->At(registry->Find(g), labels);
  }
  counters_[0] = registry->At(registry->Find("vllm:prompt_tokens_total"), labels);
  counters_[1] = registry->At(registry->Find("vllm:generation_tokens_total"), labels);
  auto success = labels;
  success["finished_reason"] = "stop";
  counters_[2] = registry->At(registry->Find("vllm:request_success_total"), success);
  counters_[3] = registry->At(registry->Find("vllm:num_preemptions_total"), labels);
  for (size_t h = 0; h < kHistCount; ++h) {
    series_[h] = registry->At(registry->Find(kHistogramNames[h]), labels);
    // The registry keeps one bounds vector per series; series are never removed, but the
    // vector of them may grow, so the endpoint keeps its own pointer-stable copy.
    bounds_[h] = registry->Buckets(series_[h]);
    hist_[h].bounds = &bounds_[h];
    hist_[h].counts.assign(bounds_[h].size() + 1, 0);
  }
  cpu_ = registry->At(registry->Find("container_cpu_usage_seconds_total"),
                      {{"namespace", pod_namespace}, {"pod", pod}, {"container", container}});
}

void VllmMetricsEndpoint::Scrape(const VllmEngineSim& engine, double at) {
  registry_->Set(gauges_[0], engine.running());
  registry_->Set(gauges_[1], engine.waiting());
  registry_->Set(gauges_[2], engine.kv_usage());
  registry_->Add(counters_[0], double(prompt_tokens_));
  registry_->Add(counters_[1], double(generation_tokens_));
  registry_->Add(counters_[2], double(successes_));
  prompt_tokens_ = generation_tokens_ = successes_ = 0;
  const int64_t pre = engine.preemptions();
  registry_->Add(counters_[3], double(pre - preemptions_seen_));
  preemptions_seen_ = pre;
  for (size_t h = 0; h < kHistCount; ++h) {
    auto& l = hist_[h];
    if (l.count == 0) continue;
    registry_->Merge(series_[h], l.counts, l.sum, l.count);
    std::fill(l.counts.begin(), l.counts.end(), 0);
    l.sum = 0;
    l.count = 0;
  }
  const double busy = engine.busy_seconds();
  const double dt = std::max(0.0, at - cpu_scraped_at_);
  registry_->Add(cpu_, kIdleCores * dt + kBusyCores * (busy - busy_seen_));
  busy_seen_ = busy;
  cpu_scraped_at_ = at;
}

void VllmMetricsEndpoint::Retire(Time now) {
  for (auto s : gauges_) registry_->Retire(s, now);
  for (auto s : counters_) registry_->Retire(s, now);
  for (auto s : series_) registry_->Retire(s, now);
  registry_->Retire(cpu_, now);
  registry_->Retire(up_, now);
}

}  // namespace gputwin::serving
