// The serving controller's private parts, shared by its two source files:
// serving_controller.cc (pods, vLLM processes, their lifecycle and metrics) and proxy.cc
// (each proxy's view of the endpoints, load balancing, retries, timeouts and what users
// see of each request).
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "serving/serving_controller.h"

namespace gputwin::serving {

// The controller's own events: the kind in the top byte, a payload below.
enum Timer : uint64_t {
  kArrival = 1,
  kWake,
  kServerUp,
  kReady,
  kEndpoint,
  kSigterm,
  kKill,
  kSample,
  kScrape,
  kRetry,
};
inline uint64_t Arg(Timer t, uint64_t payload) {
  return (uint64_t{t} << 56) | payload;
}

struct ServingController::TemplateServing {
  bool vllm = false;
  VllmEngineArgs args;
  const LlmArchitecture* model = nullptr;
  WeightSource source;
  double warmup = 60;  // engine warm-up (s): profile run, compile, CUDA graphs
  std::optional<api::Probe> readiness, startup;
  double pre_stop = 0, grace = 30;
  SourceRef where;
};

struct ServingController::Replica {
  cluster::PodId pod = 0;
  cluster::NodeId node = cluster::kNone;
  uint32_t record = 0;
  const TemplateServing* ts = nullptr;
  std::unique_ptr<StepTimeModel> step;
  std::optional<VllmEngineSim> engine;  // in place: routing reads it per request
  enum State : uint8_t { kStarting, kServing, kTerminating, kDead } state = kStarting;
  bool listening = false, ready = false, failed = false;
  double sigterm_at = 1e300;
  uint32_t wake_version = 0;
  double wake_target = 0;
  bool wake_pending = false;  // an event at wake_target is queued
  int64_t active = 0;
  std::vector<std::pair<int32_t, int64_t>> claimed;  // (GPU index, MiB) of the node
  std::unique_ptr<VllmMetricsEndpoint> metrics;      // its /metrics, once vLLM started
  std::unique_ptr<Sink> sink;
  std::vector<std::pair<cluster::NodeId, int32_t>> shared;  // time-sliced (node, GPU)
  double flops_per_token = 0, tensor_flops = 0;             // per GPU, for the DCGM exporter
  int64_t claimed_mib = 0;                                  // GPU memory the process holds per GPU
  // The other pods of its Ray cluster (a LeaderWorkerSet leader's workers): their GPUs
  // run the engine's other ranks, and the engine dies with any of them.
  std::vector<cluster::PodId> group;
};

struct ServingController::Traffic {
  const api::TrafficSpec* spec = nullptr;
  std::unique_ptr<TrafficSource> source;
  Arrival next;
  bool has_next = false;
  int32_t service = -1;
  std::vector<uint32_t> endpoints;  // replicas, as this proxy sees them
  struct Change {
    double at;
    uint32_t replica;
    bool add;
  };
  std::vector<Change> pending;
  uint64_t cursor = 0;
  RandomStream rng;
  enum class Proxy : uint8_t { kKubeProxy, kEnvoy, kNginx } proxy = Proxy::kKubeProxy;
  enum class Balancer : uint8_t {
    kRandom,
    kRoundRobin,
    kLeastRequest,
    kEwma
  } balancer = Balancer::kRandom;
  // ingress-nginx's ewma balancer (balancer/ewma.lua), by replica: the response-time
  // average and when it was last updated.
  std::vector<double> ewma, ewma_touched;
  // Timeouts (seconds; infinity when none): Envoy's route timeout over the whole exchange,
  // NGINX's read timeout between two reads (the first token when streamed, else the end).
  double total_timeout = std::numeric_limits<double>::infinity();
  double read_timeout = std::numeric_limits<double>::infinity();
  // Envoy's retry circuit breaker: retries scheduled whose attempt has no response headers
  // yet (RetryStateImpl: retries().inc() on a retry, dec() at the next outcome), and the
  // requests in flight (the budget's base).
  int64_t active_retries = 0, in_flight = 0;
  Traffic(uint64_t seed, const api::TrafficSpec& s) : spec(&s), rng(seed, "proxy/" + s.name) {
    proxy = s.proxy == "envoy"   ? Proxy::kEnvoy
            : s.proxy == "nginx" ? Proxy::kNginx
                                 : Proxy::kKubeProxy;
    if (proxy == Proxy::kEnvoy) {
      const double t = s.timeout.value_or(Duration::Seconds(15)).seconds();  // route default
      if (t > 0) total_timeout = t;
    } else if (proxy == Proxy::kNginx) {
      const double t = s.timeout.value_or(Duration::Seconds(60)).seconds();  // proxy_read_timeout
      if (t > 0) read_timeout = t;
    }
    balancer = s.load_balancer == "round-robin"     ? Balancer::kRoundRobin
               : s.load_balancer == "least-request" ? Balancer::kLeastRequest
               : s.load_balancer == "ewma"          ? Balancer::kEwma
                                                    : Balancer::kRandom;
  }
  // ewma.lua's DECAY_TIME: an endpoint's score fades towards 0 over 10 s untouched.
  static constexpr double kEwmaDecaySeconds = 10;
  double EwmaScore(uint32_t r, double now) const {
    if (r >= ewma.size()) return 0;
    return ewma[r] * std::exp(-std::max(0.0, now - ewma_touched[r]) / kEwmaDecaySeconds);
  }
  void EwmaReset(uint32_t r, double value, double now) {
    if (r >= ewma.size()) ewma.resize(r + 1, 0), ewma_touched.resize(r + 1, 0);
    ewma[r] = value;
    ewma_touched[r] = now;
  }
  // after_balance: the first attempt's connect + response time, at the end of the request.
  void EwmaUpdate(uint32_t r, double rtt, double now) {
    if (r >= ewma.size()) EwmaReset(r, 0, 0);
    const double w = std::exp(-std::max(0.0, now - ewma_touched[r]) / kEwmaDecaySeconds);
    ewma[r] = ewma[r] * w + rtt * (1.0 - w);
    ewma_touched[r] = now;
  }
};

// A request the proxy holds: before its first attempt, between attempts, and (for one
// retried) while a replica serves it, so a later failure knows the hosts it tried.
struct ServingController::Request {
  double arrival = 0;
  int32_t prompt = 0, output = 0;
  uint32_t traffic = 0;
  uint8_t attempts = 0;
  std::array<uint32_t, 4> tried{};  // the endpoints it went to (previous_hosts, NGINX)
  bool retry_armed = false;         // a retry counted by Envoy's circuit breaker
};

// Where a replica's engine reports first tokens and finishes.
class ServingController::Sink : public EngineSink {
 public:
  Sink(ServingController* c, uint32_t replica) : c_(c), replica_(replica) {}
  void OnFirstToken(const RequestTag& q, double at, double scheduled, int32_t prompt) override {
    auto& st = c_->stats_[q.stream];
    const auto& tr = *c_->traffic_[q.stream];
    // A streamed request's user sees this token, unless a proxy timeout cut it first; a
    // non-streamed one counts its last attempt, at its end.
    if (c_->streamed_[q.stream] && at - q.arrival <= std::min(tr.total_timeout, tr.read_timeout)) {
      st.ttft.Observe(at - q.arrival);
      st.ttft_window.Observe(at - q.arrival);
      st.queue.Observe(std::max(0.0, scheduled - q.arrival));
    } else if (!c_->streamed_[q.stream]) {
      st.queue.Observe(std::max(0.0, scheduled - q.arrival));
    }
    auto& r = *c_->replicas_[replica_];
    if (r.metrics) {
      r.metrics->FirstToken(at - q.arrival, std::max(0.0, scheduled - q.arrival), prompt);
    }
  }
  void OnFinished(const RequestTag& q, double at, double first_token, int32_t tokens,
                  int32_t prompt) override {
    auto& st = c_->stats_[q.stream];
    auto& tr = *c_->traffic_[q.stream];
    auto& r = *c_->replicas_[replica_];
    --r.active;
    --tr.in_flight;
    ++c_->records_[r.record].requests;
    const double tpot = tokens > 1 ? (at - first_token) / (tokens - 1) : 0;
    // vLLM finished it (the twin does not abort a request whose client went away).
    if (r.metrics) r.metrics->Finished(at - q.arrival, tpot, tokens);
    if (q.id != 0) {
      // A retried attempt: non-streamed, its response headers arrive now (the retry
      // stops counting against the circuit breaker).
      if (!c_->streamed_[q.stream]) --tr.active_retries;
      c_->free_requests_.push_back(static_cast<uint32_t>(q.id - 1));
    } else if (tr.balancer == Traffic::Balancer::kEwma) {
      tr.EwmaUpdate(replica_, at - q.arrival, at);
    }
    // A proxy timeout cut it: Envoy's route timeout over the whole exchange; NGINX's read
    // timeout from the request to the first byte of the answer (the first token when
    // streamed, the whole answer otherwise).
    const double read_wait = c_->streamed_[q.stream] ? first_token - q.arrival : at - q.arrival;
    if (at - q.arrival > tr.total_timeout || read_wait > tr.read_timeout) {
      ++st.failed[static_cast<int>(Failure::kTimeout)];
      return;
    }
    ++st.served;
    st.prompt_tokens += static_cast<uint64_t>(prompt);
    st.output_tokens += static_cast<uint64_t>(tokens);
    st.e2e.Observe(at - q.arrival);
    if (!c_->streamed_[q.stream]) {
      st.ttft.Observe(first_token - q.arrival);
      st.ttft_window.Observe(first_token - q.arrival);
    }
    if (tokens > 1) st.tpot.Observe(tpot);
  }

 private:
  ServingController* c_;
  uint32_t replica_;
};

}  // namespace gputwin::serving
