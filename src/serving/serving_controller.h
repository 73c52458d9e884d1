// The serving data plane: vLLM processes in the pods that run them, the Services in front
// of them (their EndpointSlices as each proxy sees them), the proxy that routes each
// request, and the requests of the scenario's traffic. Pods come and go through the store
// as their controllers and Karpenter decide; this model runs what happens inside them:
// weight loading and warm-up before the readiness probe passes, continuous batching while
// serving, graceful termination (preStop, SIGTERM, in-flight requests, SIGKILL at the
// grace period) when they are deleted, and death with their node.
#pragma once

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/manifests.h"
#include "api/scenario.h"
#include "cluster/controller.h"
#include "core/random.h"
#include "devices/gpu_models.h"
#include "serving/engine.h"
#include "serving/latency.h"
#include "serving/llm_models.h"
#include "serving/step_time.h"
#include "serving/traffic.h"
#include "serving/vllm_config.h"
#include "serving/vllm_metrics.h"
#include "telemetry/registry.h"

namespace gputwin::serving {

// Where a pod's model weights come from (annotation gputwin.io/model-source) and how fast.
struct WeightSource {
  std::string name;  // hub | object-storage | local | image
  double bytes_per_second;
};

// Why requests failed, as a user sees them.
enum class Failure : uint8_t {
  kNoEndpoints,            // the proxy had no endpoint: 503
  kConnectionRefused,      // the endpoint was not listening (starting, shut down)
  kResetBeforeFirstToken,  // streamed: the pod died after taking it, before a token
  kInterruptedMidStream,   // the pod died while streaming: the user saw a cut answer
  kResetBeforeResponse,    // not streamed: the pod died before answering (retriable)
  kTimeout,                // the proxy's timeout cut it (Envoy route, NGINX read timeout)
  kCount
};
const char* FailureName(Failure f);

struct ServingTimelinePoint {
  double at = 0;  // seconds from the start
  int ready = 0, replicas = 0;
  int64_t in_flight = 0, waiting = 0;
  // TTFT of the first tokens seen since the previous point; NaN when there were none.
  double ttft_p50 = std::nan(""), ttft_p95 = std::nan(""), ttft_p99 = std::nan("");
};

// The figures of one traffic stream (a Service and the proxy in front of it).
struct TrafficStats {
  std::string name, service;  // traffic name, namespace/name
  std::string proxy, load_balancer;
  uint64_t requests = 0, served = 0, retried = 0;
  uint64_t retry_overflow = 0;  // retries Envoy's circuit breaker refused
  uint64_t failed[static_cast<int>(Failure::kCount)] = {};
  uint64_t prompt_tokens = 0, output_tokens = 0;
  LatencyHistogram ttft, tpot, e2e, queue;
  LatencyHistogram ttft_window;  // since the last timeline point
};

// One pod that ran vLLM, for the report: its cold start and its end.
struct ReplicaRecord {
  cluster::PodId pod = 0;
  std::string pod_key, node, gpu, model;
  double created = -1, scheduled = -1;  // the pod's
  double container_started = -1, server_up = -1, ready = -1, deleted = -1, killed = -1;
  double weights_seconds = 0, warmup_seconds = 0, pull_seconds = 0;
  double workers_seconds = 0;  // waiting for the Ray workers of its group to start
  int32_t gpus = 0;            // the engine's, its workers' included
  std::string weight_source;
  int64_t kv_cache_tokens = 0;
  uint64_t requests = 0;
  int64_t preemptions = 0;
  std::string failure;  // vLLM's start-up error, if it failed
};

class ServingController : public cluster::Controller {
 public:
  ServingController(cluster::Store* store, EventQueue* queue, const api::Manifests& manifests,
                    const api::Scenario& scenario, const devices::GpuModelTable* gpus,
                    telemetry::Registry* metrics, Duration metrics_interval);
  ~ServingController() override;
  void Start();

  const std::vector<TrafficStats>& traffic() const { return stats_; }
  const std::vector<ReplicaRecord>& replicas() const { return records_; }
  const std::vector<std::vector<ServingTimelinePoint>>& timelines() const { return timelines_; }
  // Settles every engine at the end of the run (requests still in flight stay unfinished).
  void Finish(Time end);

 protected:
  void OnWatch(cluster::WatchKind kind, cluster::WatchOp op, uint32_t id) override;
  void Reconcile(Time now) override;
  void OnTimer(Time now, uint64_t arg) override;

 private:
  struct TemplateServing;
  struct Replica;
  struct Traffic;
  struct Request;
  class Sink;

  double Sec(Time t) const { return double((t - start_).ns) / 1e9; }
  Time AtSec(double s) const;
  const TemplateServing* ServingOf(const cluster::PodRecord& p);
  void StartReplica(cluster::PodId pod, Time now);
  void Terminate(uint32_t r, Time now);
  void Kill(uint32_t r, Time now, bool node_gone);
  void Retire(uint32_t r, Time now);
  void ScheduleWake(uint32_t r);
  void Wake(uint32_t r, Time now);
  void Arrive(uint32_t t, Time now);
  void ChangeEndpoints(uint32_t replica, bool add, Time now);
  void ApplyEndpoints(uint32_t t, Time now);
  uint32_t Pick(Traffic& tr, const Request* retry, double now);
  int64_t Active(uint32_t r, double at);
  void Share(uint32_t r, bool add, Time now);
  void Route(Request q, uint32_t slot, double at);
  void Fail(Request q, uint32_t slot, Failure why, double at);
  uint32_t HoldRequest();
  void Sample(Time now);
  void Scrape(Time now);
  bool Selects(const api::Service& s, const cluster::PodRecord& p) const;
  // A LeaderWorkerSet pod's group: its leader, and the leader's workers; nullopt for any
  // other pod (a worker's list is its group's, the leader's is empty when size is 1).
  struct LwsGroup {
    cluster::PodId leader = cluster::kNone;
    std::vector<cluster::PodId> workers;
    bool is_leader = false;
  };
  std::optional<LwsGroup> GroupOf(const cluster::PodRecord& p) const;

  const api::Manifests& manifests_;
  const api::Scenario& scenario_;
  const devices::GpuModelTable* gpus_;
  telemetry::Registry* metrics_;
  Duration metrics_interval_;
  Time start_;
  LlmModelTable models_;

  std::unordered_map<uint32_t, std::unique_ptr<TemplateServing>> templates_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<uint32_t> replica_of_pod_;  // PodId -> replica index, kNone when none
  std::vector<uint32_t> live_;            // replicas not dead (compacted at scrapes)
  // vLLM processes by time-sliced physical GPU (node, GPU index).
  std::map<std::pair<cluster::NodeId, int32_t>, std::vector<uint32_t>> sharing_;
  std::vector<std::unique_ptr<Traffic>> traffic_;
  std::vector<TrafficStats> stats_;
  std::vector<uint8_t> streamed_;  // by traffic: clients ask for streamed answers
  std::vector<ReplicaRecord> records_;
  std::vector<std::vector<ServingTimelinePoint>> timelines_;
  std::vector<Request> requests_;  // held by the proxy (retries); see Request
  std::vector<uint32_t> free_requests_;
  std::vector<cluster::PodId> started_;          // pods whose container (re)started
  std::vector<cluster::PodId> waiting_leaders_;  // leaders waiting for their workers' start
  std::vector<uint32_t> engine_of_worker_;       // a Ray worker pod -> its engine's replica
};

}  // namespace gputwin::serving

namespace gputwin::serving {

// Checks before a run: every vLLM container names a known model (or one the scenario
// adds from a config.json) with a tensor parallel size that divides its heads and fits its
// GPUs, and every traffic stream targets a Service in the manifests. Warns about vLLM
// flags the twin does not model. Throws InputError naming file:line.
void ValidateServing(const api::Manifests& m, const api::Scenario& s, Diagnostics* diagnostics);

}  // namespace gputwin::serving

namespace gputwin::serving {

// Traffic aimed at an Ingress goes through its controller: the backend Service (the
// default backend, else the first rule's first path) and ingress-nginx's settings from
// the Ingress's nginx.ingress.kubernetes.io/ annotations and the controller ConfigMap's
// retry-non-idempotent. Annotations that change routing but are not modelled are warned
// about. Throws InputError for a missing Ingress.
void ResolveIngresses(const api::Manifests& m, api::Scenario* s, Diagnostics* diagnostics);

}  // namespace gputwin::serving
