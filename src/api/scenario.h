// gputwin's own kind, gputwin.io/v1alpha1 Scenario: what to load, how long to run,
// what workload to generate, what happens to the cluster when, and what to expect.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"

namespace gputwin::api {

struct Manifests;

struct ArrivalProcess {
  std::string type;             // fixed | poisson | csv
  std::vector<Duration> times;  // fixed
  double rate_per_hour = 0;     // poisson
  std::string csv_file;         // csv: resolved path
  std::string csv_column;       // csv: column name or empty for the first column
  Duration start{0};
  std::optional<Duration> stop;
  std::optional<int64_t> count;  // at most this many arrivals
};

// Creates one object from `pod` or `job` at each arrival, named <name>-<index>.
struct WorkloadGenerator {
  std::string name;
  SourceRef source;
  ArrivalProcess arrival;
  std::optional<Pod> pod;
  std::optional<Job> job;
};

// Something that happens to the cluster at a given time, as an operator would do it.
struct ScenarioAction {
  SourceRef source;
  Duration at{0};
  std::string action;  // cordon | uncordon | drain | node-not-ready | node-ready | delete-node |
                       // delete-pod | scale | taint | untaint | remove-scheduling-gate |
                       // apply | delete | patch
  std::string target;  // node name, pod or deployment "namespace/name" or "name"; for delete
                       // and patch "kind/namespace/name" (kind/name: default or cluster-scoped)
  int32_t replicas = 0;
  Taint taint;
  std::string gate;  // remove-scheduling-gate: the gate ("" for every gate)
  // apply: `kubectl apply -f FILE` at `at`; the file is read (and checked) before the run.
  std::string apply_file;
  std::shared_ptr<const Manifests> applied;
  // patch: `kubectl patch KIND NAME -p '{"spec": ...}'` with one of these fields.
  std::optional<bool> patch_suspend, patch_active;
  std::optional<int32_t> patch_replicas;
  // raycluster: spec.workerGroupSpecs[] entries by groupName, each with its new replicas.
  std::vector<std::pair<std::string, int32_t>> patch_worker_replicas;
};

// An outcome the scenario asserts; a failed one makes `gputwin run` exit 1.
struct Expectation {
  SourceRef source;
  std::optional<Duration> at;     // checked at this offset from the start, not at the end
  std::string pods;               // glob on "namespace/name" or "name"
  std::string job;                // "namespace/name" or "name"
  std::string job_set;            // a JobSet: "namespace/name" or "name"
  std::string pytorch_job;        // a PyTorchJob: "namespace/name" or "name"
  std::string leader_worker_set;  // a LeaderWorkerSet: "namespace/name" or "name"
  std::string train_job;          // a TrainJob: "namespace/name" or "name"
  // KubeRay: a RayCluster, RayJob or RayService, "namespace/name" or "name".
  std::string ray_cluster, ray_job, ray_service;
  std::optional<int32_t> ready_worker_replicas, available_worker_replicas, desired_worker_replicas,
      num_serve_endpoints;
  std::optional<std::string> job_deployment_status, job_status, service_status;
  std::optional<int32_t> restarts;  // jobSet: status.restarts; leaderWorkerSet: groups recreated
  std::optional<int32_t> ready_replicas;  // leaderWorkerSet: status.readyReplicas
  // Kueue: the Workload of a Job (glob on the Job's "namespace/name" or "name").
  std::string workload;
  // Karpenter: NodeClaims (glob on the name, <nodepool>-<suffix>).
  std::string node_claim;
  // Serving: a traffic stream's figures, and an HPA's (KEDA's keda-hpa-<name> too).
  std::string traffic, hpa;
  // Prometheus: an alerting rule's alerts (by alertname): how many fired, and when.
  std::string alert;
  std::optional<int64_t> fired;
  std::optional<Duration> pending_at, firing_at;
  std::optional<int64_t> served_min, failed_max, failed_min, max_ready_replicas;
  std::optional<std::map<std::string, std::string>> failed_by;  // reason -> exact count
  std::optional<Duration> ttft_p50_max, ttft_p99_max, ttft_p99_min;
  std::optional<int64_t> max_replicas_seen, rescales_min, rescales_max;
  std::optional<std::string> instance_type, capacity_type, zone, disruption_reason;
  std::optional<bool> deleted, pending_forever;
  std::optional<Duration> registered_at, initialized_at, deleted_at;
  std::optional<std::map<std::string, std::string>> node_labels;
  std::optional<std::string> karpenter_message_contains;
  std::optional<Duration> lost_work;         // job: work its pods lost when deleted while running
  std::optional<int32_t> succeeded, failed;  // job: status counters
  std::optional<std::string> completed_indexes, failed_indexes;  // job: "0,2-4"
  std::optional<std::string> state, cluster_queue, evicted_reason;
  std::optional<std::map<std::string, std::string>> flavors;
  std::optional<Duration> admitted_at, admitted_by;
  std::optional<int32_t> admitted_count, evictions, preemptions;
  std::optional<int64_t> count;
  std::optional<std::string> phase, node, reason, message, message_contains, condition;
  std::optional<bool> scheduled;
  std::optional<int32_t> restart_count;
  std::optional<Duration> scheduled_at, started_at, finished_at, finished_by, completed_at;
  std::optional<Duration> ready_at;  // pods: when the Ready condition became True
};

// A GPU model the twin's table lacks (for example a trace's undisclosed G1-G3).
struct GpuModelSpec {
  SourceRef source;
  std::string name, product, family;
  int64_t memory_mib = 0;
  int32_t multiprocessors = 0;
};

// A trace to replay: its nodes join the cluster at the start, its pods arrive at their
// creation times (relative to the first) and run until their deletion times.
struct TraceSpec {
  SourceRef source;
  std::string format;       // alibaba-gpu-v2023
  std::string nodes, pods;  // resolved paths
  std::string namespace_ = "default";
};

// The cloud the cluster runs in (docs/scenario.md#cloud): region and zones, the instance
// catalog and its overrides, spot prices and interruptions, account quotas, capacity.
struct CloudInstanceType {
  SourceRef source;
  std::string name, arch = "amd64", gpu_name;
  int32_t vcpu = 0, max_pods = 110, gpu_count = 0;
  int64_t memory_mib = 0, gpu_memory_mib = 0;
  std::optional<double> on_demand_price, spot_price;
  std::vector<std::string> zones;  // empty: every zone of the region
};
struct CloudCapacity {  // InsufficientInstanceCapacity windows and caps per offering
  SourceRef source;
  std::string instance_type = "*", zone = "*", capacity_type = "*";  // globs
  Duration from{0};
  std::optional<Duration> until;
  std::optional<int64_t> max_instances;  // absent: none available in the window
};
struct CloudInterruption {  // a scripted spot interruption warning
  SourceRef source;
  Duration at{0};
  std::string node, instance_type;  // globs; the first running spot instance that matches
};
struct CloudStartup {                          // node start-up pipeline defaults (docs/cloud.md)
  Duration fleet = Duration::Seconds(2);       // CreateFleet → Launched
  Duration boot = Duration::Seconds(40);       // Launched → Node registered (non-GPU)
  Duration gpu_boot = Duration::Seconds(100);  // the same for GPU instance types
  Duration startup_taints = Duration::Seconds(10);  // an agent removes startupTaints
  int64_t image_pull_bytes_per_second = 200LL * 1000 * 1000;
};
struct CloudSpec {
  bool present = false;
  SourceRef source;
  std::string provider = "aws", region = "us-east-1";
  std::vector<std::string> zones;          // default: <region>a, b, c
  std::vector<std::string> catalog_files;  // extra catalog CSVs (resolved paths)
  std::vector<CloudInstanceType> instance_types;
  std::map<std::string, double> spot_discount;            // family or category → fraction off OD
  double spot_interruption_rate_per_hour = 0;             // per running spot instance
  std::map<std::string, double> spot_interruption_rates;  // family → rate per hour
  std::vector<CloudInterruption> interruptions;
  std::map<std::string, int64_t> quotas;  // AWS quota name → vCPUs
  std::vector<CloudCapacity> capacity;
  CloudStartup startup;
  // When the provider publishes a new AMI version (offsets from the start): nodes of
  // EC2NodeClasses with an @latest alias drift (AMIDrift).
  std::vector<Duration> ami_releases;
};

// Requests to a model served behind a Service (docs/serving.md): how they arrive, how long
// prompts and answers are, and the proxy in front of the pods.
struct TokenDistribution {
  std::string distribution = "fixed";  // fixed | exponential | lognormal
  double mean = 0;
  double sigma = 1.0;  // lognormal: of the underlying normal
  int64_t min = 1, max = 1 << 20;
};
struct RatePoint {
  Duration at{0};
  double rate = 0;  // requests per second
};
struct TrafficBurst {
  Duration at{0}, duration{0};
  double multiplier = 1;
};
struct TrafficSpec {
  SourceRef source;
  std::string name;
  std::string service_namespace = "default", service;
  std::string ingress;  // "namespace/name" or "name": the proxy is that Ingress's controller
  // Proxy: kube-proxy (Service ClusterIP), envoy or nginx.
  std::string proxy = "kube-proxy";
  std::string load_balancer;  // default by proxy: random, least-request, round-robin
  Duration endpoint_delay = Duration::Seconds(1);  // EndpointSlice change to the proxy
  // Retries. Envoy: retry_on conditions, num_retries (1 once retry_on is set), the
  // previous_hosts predicate. NGINX: proxy_next_upstream, its tries (3), and whether
  // non-idempotent requests (POST) may be passed on (retry-non-idempotent, off).
  std::vector<std::string> retry_on;
  int32_t num_retries = 1;
  bool previous_hosts = false;
  std::vector<std::string> next_upstream = {"error", "timeout"};
  int32_t next_upstream_tries = 3;
  bool retry_non_idempotent = false;
  // The proxy's response timeout: Envoy's route timeout over the whole exchange, retries
  // included (15 s by default; 0 turns it off, as Istio does); NGINX's proxy-read-timeout
  // between two reads of the answer (60 s). Unset: the proxy's default.
  std::optional<Duration> timeout;
  // Envoy's circuit breaker on concurrent retries (max_retries, 3), or a retry budget
  // (budget_percent of active requests, at least min_retry_concurrency) when set.
  int32_t max_retries = 3;
  std::optional<double> retry_budget_percent;
  int32_t min_retry_concurrency = 3;
  bool stream = true;  // clients ask for streamed answers (the response starts at once)
  // Arrivals: a Poisson rate (constant, ramp or diurnal, with bursts) or a trace.
  double rate = 0;
  std::vector<RatePoint> ramp;  // piecewise linear; holds the last rate
  struct Diurnal {
    double min = 0, max = 0;
    Duration peak_at = Duration::Hours(14);
  };
  std::optional<Diurnal> diurnal;
  std::vector<TrafficBurst> bursts;
  Duration start{0};
  std::optional<Duration> stop;
  std::string trace_file, trace_format;  // azure-llm-inference-2023
  double trace_rate_scale = 1.0;
  bool trace_loop = false;
  TokenDistribution prompt_tokens, output_tokens;
};

struct ServingModelSpec {  // a model added from its Hugging Face config.json
  SourceRef source;
  std::string name, config;  // config: resolved path
};

struct Scenario {
  ObjectMeta metadata;
  std::vector<std::string> manifests;  // resolved paths
  // Prometheus: rule files (resolved paths) and the global evaluation interval.
  std::vector<std::string> rule_files;
  Duration evaluation_interval = Duration::Minutes(1);
  Duration duration = Duration::Hours(24);
  uint64_t seed = 1;
  // spec.maxPods: the most pods a run may create (docs/scenario.md); inputs that would need
  // more are refused before the clock starts, a run that gets there stops with an error.
  int64_t max_pods = 5'000'000;
  SourceRef max_pods_source;
  std::optional<Duration> metrics_interval;       // Kueue metrics sampling
  Time start_time{1767225600LL * 1'000'000'000};  // 2026-01-01T00:00:00Z
  std::vector<WorkloadGenerator> workloads;
  std::vector<ScenarioAction> actions;
  std::vector<Expectation> expectations;
  std::vector<GpuModelSpec> gpu_models;
  std::vector<TraceSpec> traces;
  std::vector<TrafficSpec> traffic;
  std::vector<ServingModelSpec> serving_models;
  Duration scrape_interval = Duration::Seconds(30);  // spec.serving.scrapeInterval (Prometheus)
  CloudSpec cloud;
};

}  // namespace gputwin::api
