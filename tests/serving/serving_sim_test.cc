// The serving data plane inside a run, checked against timelines derived by hand from
// Kubernetes' pod lifecycle (readiness probes, EndpointSlices, graceful termination) and
// the proxies' behaviour.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "results/results.h"
#include "serving/serving_controller.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

namespace fs = std::filesystem;

fs::path Dir() {
  fs::path d = fs::temp_directory_path() / ("gputwin-serving-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// An H100 node with the device plugin (pods bind at 10 s, when it registers), a
// one-replica vLLM Deployment whose image is already there and whose 16.06 GB of weights
// load in about a second, warm-up 30 s, readiness probed every 10 s.
std::string Cluster(const std::string& extra_container = "",
                    const std::string& probe =
                        "        readinessProbe: {httpGet: {path: /health, port: 8000}, "
                        "periodSeconds: 10}\n") {
  return R"(---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dp}}
  template:
    metadata: {labels: {app: dp}}
    spec:
      tolerations: [{operator: Exists}]
      containers:
      - name: plugin
        image: "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"
        env: [{name: CONFIG_FILE, value: /config/config.yaml}]
      - name: config-manager
        image: "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"
        command: [config-manager]
        env:
        - {name: CONFIG_FILE_SRCDIR, value: /available-configs}
        - {name: CONFIG_FILE_DST, value: /config/config.yaml}
        - {name: FALLBACK_STRATEGIES, value: "named,single"}
      volumes: [{name: available-configs, configMap: {name: nvidia-device-plugin-configs}}]
---
apiVersion: v1
kind: Node
metadata:
  name: gpu-1
  annotations: {gputwin.io/gpu-model: H100-80GB, gputwin.io/gpu-count: "8"}
status: {allocatable: {cpu: "192", memory: 2000Gi}}
---
apiVersion: v1
kind: Service
metadata: {name: llama}
spec:
  selector: {app: llama}
  ports: [{port: 8000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: llama}
spec:
  replicas: 1
  selector: {matchLabels: {app: llama}}
  template:
    metadata:
      labels: {app: llama}
      annotations:
        gputwin.io/model-source: local
        gputwin.io/weights-bandwidth: "16060000000"
        gputwin.io/engine-warmup: 30s
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.11.0
        args: ["meta-llama/Llama-3.1-8B-Instruct"]
        resources: {limits: {nvidia.com/gpu: 1}}
)" + probe +
         extra_container;
}

std::unique_ptr<sim::Simulation> RunServing(const std::string& name, const std::string& scenario,
                                            const std::string& cluster, const std::string& trace) {
  const fs::path d = Dir() / name;
  fs::create_directories(d);
  // The trace replays relative to its first row: a first request at 0 s, before any pod
  // is ready (503), fixes the clock.
  std::ofstream(d / "trace.csv") << "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                 << "2023-11-16 18:00:00.0,100,10\n"
                                 << trace;
  std::ofstream(d / "scenario.yaml") << scenario << cluster;
  auto s = sim::LoadScenario((d / "scenario.yaml").string(), std::nullopt, std::nullopt);
  s->Run();
  return s;
}

const serving::TrafficStats& Stats(const sim::Simulation& s) {
  return s.serving()->traffic().at(0);
}
uint64_t Failed(const serving::TrafficStats& st, serving::Failure f) {
  return st.failed[static_cast<int>(f)];
}

const char* kScenario = R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 5m
  traffic:
  - name: chat
    service: llama
    proxy: {kind: envoy}
    arrivals: {trace: {file: trace.csv}}
  actions:
  - {at: 70s, action: delete-pod, target: "llama-*"}
)";

// Container start 10 s; server up 10 + 1 + 30 = 41 s; probes at 10, 20, 30, 40, 50 s:
// Ready at 50 s, in Envoy's endpoints at 51 s. The pod is deleted at 70 s: out of the
// endpoints at 71 s, SIGTERM at once (no preStop), SIGKILL at 100 s. Its replacement
// starts at 70 s, listens at 101 s, is Ready at 110 s and routable at 111 s.
TEST(ServingSim, ReadinessEndpointsAndGracefulTerminationAsKubernetesDoes) {
  const std::string trace =
      "2023-11-16 18:00:45.0,100,10\n"     // 45 s: no endpoint yet -> 503
      "2023-11-16 18:00:52.0,100,10\n"     // 52 s: served
      "2023-11-16 18:01:00.0,100,20000\n"  // 60 s: still streaming at SIGKILL (100 s)
      "2023-11-16 18:01:10.5,100,10\n"     // 70.5 s: routed to the old pod, which refuses
      "2023-11-16 18:01:15.0,100,10\n"     // 75 s: endpoints empty -> 503
      "2023-11-16 18:02:00.0,100,10\n";    // 120 s: the new pod serves it
  auto s = RunServing("lifecycle", kScenario, Cluster(), trace);
  const auto& st = Stats(*s);
  EXPECT_EQ(st.requests, 7u);
  EXPECT_EQ(st.served, 2u);
  EXPECT_EQ(Failed(st, serving::Failure::kNoEndpoints), 3u);
  EXPECT_EQ(Failed(st, serving::Failure::kConnectionRefused), 1u);
  EXPECT_EQ(Failed(st, serving::Failure::kInterruptedMidStream), 1u);
  const auto& reps = s->serving()->replicas();
  ASSERT_EQ(reps.size(), 2u);
  EXPECT_NEAR(reps[0].container_started, 10.0, 1e-6);
  EXPECT_NEAR(reps[0].server_up, 41.0, 0.01);
  EXPECT_NEAR(reps[0].ready, 50.0, 1e-6);
  EXPECT_NEAR(reps[0].deleted, 70.0, 1e-6);
  EXPECT_NEAR(reps[0].killed, 100.0, 1e-6);
  EXPECT_NEAR(reps[1].ready, 110.0, 1e-6);
}

// Without a readiness probe a pod is Ready as soon as its container runs (10 s), long
// before vLLM listens (41 s): requests routed to it in between are refused.
TEST(ServingSim, WithoutAReadinessProbeTrafficArrivesBeforeTheServerListens) {
  const std::string trace =
      "2023-11-16 18:00:20.0,100,10\n"   // 20 s: in the endpoints since 11 s, not listening
      "2023-11-16 18:00:30.0,100,10\n"   // 30 s: refused
      "2023-11-16 18:00:45.0,100,10\n";  // 45 s: served
  auto s = RunServing("noprobe", kScenario, Cluster("", ""), trace);
  const auto& st = Stats(*s);
  EXPECT_EQ(Failed(st, serving::Failure::kConnectionRefused), 2u);
  EXPECT_EQ(st.served, 1u);
  EXPECT_NEAR(s->serving()->replicas()[0].ready, 10.0, 1e-6);
}

// A preStop sleep keeps the old pod serving while its removal reaches the proxy: the
// request at 70.5 s is served, and SIGTERM comes at 85 s.
TEST(ServingSim, APreStopSleepCoversEndpointPropagation) {
  const std::string trace = "2023-11-16 18:01:10.5,100,10\n";  // 70.5 s
  const std::string probe =
      "        readinessProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10}\n"
      "        lifecycle: {preStop: {sleep: {seconds: 15}}}\n";
  auto s = RunServing("prestop", kScenario, Cluster("", probe), trace);
  const auto& st = Stats(*s);
  EXPECT_EQ(st.served, 1u);
  EXPECT_EQ(Failed(st, serving::Failure::kConnectionRefused), 0u);
  // The server exits at SIGTERM (85 s) with nothing in flight.
  EXPECT_NEAR(s->serving()->replicas()[0].killed, 85.0, 1e-6);
}

// A request's time to first token is its prefill step, and each further token one decode
// step (docs: engine step model); alone on a replica its TPOT is the batch-1 decode step.
TEST(ServingSim, OneRequestAloneSeesThePrefillAndDecodeSteps) {
  const std::string trace = "2023-11-16 18:01:00.0,512,11\n";
  auto s = RunServing("alone", kScenario, Cluster(), trace);
  const auto& st = Stats(*s);
  ASSERT_EQ(st.served, 1u);
  // By hand from the step model (src/serving/README.md) and the H100 datasheet
  // (3.35 TB/s x 0.90 = 3.015 TB/s; 989 TFLOPS): the 7.505 B forward parameters are
  // 15.01 GB read per step, 4.98 ms; a decode step adds 2 x 7.505 GFLOP at 60 %
  // (0.025 ms, negligible under sqrt(mem² + compute²)), ~0.02 ms of KV cache, and the
  // 32 x 61 µs graph overhead: 6.95 ms. The 512-token prefill runs 2 x 6.98 G x 512
  // = 7.15 TFLOP at 60 % (12.05 ms), sqrt(4.98² + 12.05²) = 13.04 ms, plus causal
  // attention (131,072 pairs x 0.52 MFLOP at 56 %: 0.12 ms) and the overhead: 15.1 ms.
  EXPECT_NEAR(st.ttft.mean(), 0.0151, 0.0003);
  EXPECT_NEAR(st.tpot.mean(), 0.00695, 0.00005);
}

// Two bare vLLM pods behind the Service; pod a is deleted at 70 s.
std::string TwoPods() {
  std::string c = Cluster();
  c = c.substr(0, c.find("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: llama}"));
  for (const char* name : {"llama-a", "llama-b"}) {
    c += std::string("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ") + name +
         "\n  labels: {app: llama}\n"
         "  annotations: {gputwin.io/model-source: local, gputwin.io/weights-bandwidth: "
         "\"16060000000\", gputwin.io/engine-warmup: 30s}\n"
         "spec:\n  terminationGracePeriodSeconds: 30\n  containers:\n  - name: vllm\n"
         "    image: vllm/vllm-openai:v0.11.0\n"
         "    args: [\"meta-llama/Llama-3.1-8B-Instruct\"]\n"
         "    resources: {limits: {nvidia.com/gpu: 1}}\n"
         "    readinessProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10}\n";
  }
  return c;
}

std::string ProxyScenario(const std::string& proxy, bool stream) {
  return R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 5m
  traffic:
  - name: chat
    service: llama
    proxy: )" +
         proxy + R"(
    stream: )" +
         (stream ? "true" : "false") + R"(
    arrivals: {trace: {file: trace.csv}}
  actions:
  - {at: 70s, action: delete-pod, target: llama-a}
)";
}

// Ten requests in the second after pod a's deletion, while the proxies still list it
// (endpointDelay 1 s) but it refuses connections (SIGTERM at once, no preStop). NGINX's
// default proxy_next_upstream "error timeout" passes a refused connection to the next
// server (nothing was sent, so even a POST may go): none fails. kube-proxy has no retries:
// the ones its random pick sends to a fail.
TEST(ServingSim, NginxPassesARefusedConnectionToTheNextServer) {
  std::string trace;
  for (int i = 1; i <= 9; ++i) trace += "2023-11-16 18:01:10." + std::to_string(i) + ",100,10\n";
  trace += "2023-11-16 18:01:10.95,100,10\n";
  auto nginx = RunServing("nginx", ProxyScenario("{kind: nginx}", true), TwoPods(), trace);
  EXPECT_EQ(Failed(Stats(*nginx), serving::Failure::kConnectionRefused), 0u);
  EXPECT_EQ(Stats(*nginx).served, 10u);
  EXPECT_GE(Stats(*nginx).retried, 1u);
  auto kp = RunServing("kubeproxy", ProxyScenario("{kind: kube-proxy}", true), TwoPods(), trace);
  EXPECT_GE(Failed(Stats(*kp), serving::Failure::kConnectionRefused), 1u);
  EXPECT_EQ(Stats(*kp).retried, 0u);
  EXPECT_EQ(Stats(*kp).served + Failed(Stats(*kp), serving::Failure::kConnectionRefused), 10u);
}

// A long answer on pod a when it is killed at 100 s (grace 30 s). Streamed, its response
// started when vLLM took it: Envoy cannot retry it (router.cc: no retry once the
// response started) and the user sees a cut answer. Not streamed, Envoy's retry_on reset
// sends it again, to pod b with previous_hosts, and it is served.
TEST(ServingSim, EnvoyRetriesAResetOnlyBeforeTheResponseStarted) {
  // 20000 tokens take ~2.5 min at batch 1; the request arrives at 65 s. Round robin from a
  // random start would make the first pod unknown, so both pods get a copy: a's is cut.
  const std::string trace =
      "2023-11-16 18:01:05.0,100,20000\n"
      "2023-11-16 18:01:05.5,100,20000\n";
  // timeout 0s: Envoy's default 15 s route timeout would cut these long answers first.
  const std::string envoy =
      "{kind: envoy, timeout: 0s, loadBalancer: round-robin, retries: {retryOn: "
      "\"reset,connect-failure\", numRetries: 2, retryHostPredicate: previous_hosts}}";
  auto streamed = RunServing("envoy-stream", ProxyScenario(envoy, true), TwoPods(), trace);
  EXPECT_EQ(Failed(Stats(*streamed), serving::Failure::kInterruptedMidStream), 1u);
  EXPECT_EQ(Stats(*streamed).retried, 0u);
  auto plain = RunServing("envoy-plain", ProxyScenario(envoy, false), TwoPods(), trace);
  EXPECT_EQ(Stats(*plain).retried, 1u);
  EXPECT_EQ(Stats(*plain).served, 2u);
  uint64_t failed = 0;
  for (auto v : Stats(*plain).failed) failed += v;
  EXPECT_EQ(failed, 1u);  // the first row at 0 s, before any pod was ready
}

// The same through an Ingress: ingress-nginx round robin over [a, b] and its annotations.
// Endpoint changes reach it 3 s later, so the ten requests at 70.1-70.95 s alternate a, b;
// with proxy-next-upstream-tries "1" (one attempt in all) the five sent to a are refused;
// with the default 3 each goes on to b, and since a retry also takes its turn in the
// round robin, every one of the ten meets a first: ten retries, none refused.
TEST(ServingSim, IngressNginxAnnotationsDecideRetries) {
  std::string trace;
  for (int i = 1; i <= 9; ++i) trace += "2023-11-16 18:01:10." + std::to_string(i) + ",100,10\n";
  trace += "2023-11-16 18:01:10.95,100,10\n";
  auto ingress = [](const std::string& tries) {
    return std::string(R"(---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: llama
  annotations:
    nginx.ingress.kubernetes.io/proxy-next-upstream-tries: ")") +
           tries + R"("
spec:
  ingressClassName: nginx
  rules:
  - http:
      paths:
      - path: /v1
        pathType: Prefix
        backend: {service: {name: llama, port: {number: 8000}}}
)";
  };
  const std::string scenario = R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 5m
  traffic:
  - name: chat
    ingress: llama
    arrivals: {trace: {file: trace.csv}}
  actions:
  - {at: 70s, action: delete-pod, target: llama-a}
)";
  auto one = RunServing("ingress1", scenario, TwoPods() + ingress("1"), trace);
  EXPECT_EQ(Stats(*one).proxy, "nginx");
  EXPECT_EQ(Failed(Stats(*one), serving::Failure::kConnectionRefused), 5u);
  auto three = RunServing("ingress3", scenario, TwoPods() + ingress("3"), trace);
  EXPECT_EQ(Failed(Stats(*three), serving::Failure::kConnectionRefused), 0u);
  EXPECT_EQ(Stats(*three).retried, 10u);
  EXPECT_EQ(Stats(*three).served, 10u);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// Prometheus scrapes vLLM every spec.serving.scrapeInterval (30 s by default).
TEST(ServingSim, ScrapeIntervalSetsTheSampleSpacing) {
  std::string scenario = kScenario;
  scenario.replace(scenario.find("  traffic:"), 0, "  serving: {scrapeInterval: 10s}\n");
  auto s = RunServing("scrape", scenario, Cluster(), "2023-11-16 18:01:00.0,100,10\n");
  const auto& reg = s->metrics();
  const auto fam = reg.Find("vllm:num_requests_running");
  ASSERT_FALSE(reg.family(fam).series.empty());
  const auto& samples = reg.series(reg.family(fam).series[0]).samples;
  ASSERT_GE(samples.size(), 3u);
  EXPECT_EQ((samples[1].first - samples[0].first).seconds(), 10.0);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// ingress-nginx's ewma balancer (balancer/ewma.lua): two distinct endpoints drawn, the
// lower decayed response-time score wins (DECAY_TIME 10 s; a finished request moves its
// endpoint's score towards its time). Pod a runs on an H100 (a 100-token answer in
// ~0.7 s), pod b on an L4 (300 GB/s: ~6 s). Thirty requests, one every 8 s, replayed by
// hand through ewma.lua's formulas: a gets 23 or 24 whichever pod takes the first request
// and for b's time anywhere in 5-7.5 s. Round robin splits 15/15.
TEST(ServingSim, NginxEwmaPrefersTheFasterEndpoint) {
  std::string pods = TwoPods();
  pods += R"(---
apiVersion: v1
kind: Node
metadata:
  name: gpu-l4
  annotations: {gputwin.io/gpu-model: L4, gputwin.io/gpu-count: "1"}
status: {allocatable: {cpu: "16", memory: 64Gi}}
)";
  const std::string args = "args: [\"meta-llama/Llama-3.1-8B-Instruct\"]";
  pods.replace(pods.rfind(args), args.size(),
               "args: [\"meta-llama/Llama-3.1-8B-Instruct\", \"--max-model-len\", \"4096\"]");
  const std::string spec = "spec:\n  terminationGracePeriodSeconds: 30\n";
  pods.replace(pods.rfind(spec), spec.size(),
               spec + "  nodeSelector: {kubernetes.io/hostname: gpu-l4}\n");
  pods.replace(pods.find(spec), spec.size(),
               spec + "  nodeSelector: {kubernetes.io/hostname: gpu-1}\n");
  std::string trace;
  for (int k = 0; k < 30; ++k) {
    const int s = 60 + 8 * k;
    trace += "2023-11-16 18:" + std::to_string(100 + s / 60).substr(1) + ":" +
             std::to_string(100 + s % 60).substr(1) + ".0,100,100\n";
  }
  auto scenario = [](const std::string& lb) {
    return R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 6m
  traffic:
  - name: chat
    service: llama
    proxy: {kind: nginx, loadBalancer: )" +
           lb + R"(}
    arrivals: {trace: {file: trace.csv}}
)";
  };
  auto served_by = [](const sim::Simulation& s, const std::string& pod) {
    for (const auto& r : s.serving()->replicas()) {
      if (r.pod_key == "default/" + pod) return r.requests;
    }
    return uint64_t{0};
  };
  auto ewma = RunServing("ewma", scenario("ewma"), pods, trace);
  EXPECT_EQ(Stats(*ewma).served, 30u);
  EXPECT_GE(served_by(*ewma, "llama-a"), 23u);
  EXPECT_LE(served_by(*ewma, "llama-a"), 24u);
  auto rr = RunServing("rr", scenario("round-robin"), pods, trace);
  EXPECT_EQ(served_by(*rr, "llama-a"), 15u);
  EXPECT_EQ(served_by(*rr, "llama-b"), 15u);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// Proxy timeouts. Envoy's route timeout (15 s unless set; "spans ... until the upstream
// response has been completely processed", retries included) cuts a streamed 20000-token
// answer (~2.5 min); a 10-token one is served. NGINX's proxy_read_timeout (60 s) runs
// between two reads: streamed, the first token comes within a second and the answer is
// served; not streamed, nothing arrives until the end (~2.5 min): 504 after 60 s.
TEST(ServingSim, ProxyTimeoutsCutLongAnswers) {
  const std::string trace =
      "2023-11-16 18:01:00.0,100,20000\n"
      "2023-11-16 18:01:01.0,100,10\n";
  // No pod is deleted here.
  auto ProxyScenario = [](const std::string& proxy, bool stream) {
    std::string s = gputwin::ProxyScenario(proxy, stream);
    return s.substr(0, s.find("  actions:"));
  };
  auto envoy = RunServing("timeout-envoy", ProxyScenario("{kind: envoy}", true), TwoPods(), trace);
  EXPECT_EQ(Failed(Stats(*envoy), serving::Failure::kTimeout), 1u);
  EXPECT_EQ(Stats(*envoy).served, 1u);
  EXPECT_EQ(Stats(*envoy).ttft.count(), 2u);  // the cut one had streamed its first token
  auto streamed =
      RunServing("timeout-nginx-s", ProxyScenario("{kind: nginx}", true), TwoPods(), trace);
  EXPECT_EQ(Failed(Stats(*streamed), serving::Failure::kTimeout), 0u);
  EXPECT_EQ(Stats(*streamed).served, 2u);
  auto plain =
      RunServing("timeout-nginx-p", ProxyScenario("{kind: nginx}", false), TwoPods(), trace);
  EXPECT_EQ(Failed(Stats(*plain), serving::Failure::kTimeout), 1u);
  EXPECT_EQ(Stats(*plain).served, 1u);
  auto longer =
      RunServing("timeout-nginx-l", ProxyScenario("{kind: nginx, proxyReadTimeout: 300s}", false),
                 TwoPods(), trace);
  EXPECT_EQ(Stats(*longer).served, 2u);
}

// Envoy's circuit breaker on retries (max_retries 3 by default; RetryStateImpl counts a
// retry from when it is scheduled until its attempt's response headers). Ten requests at
// 70.5 s, round robin over [a, b] while a refuses (SIGTERM at 70 s, out of the endpoints
// at 71 s): five go to a and are refused at once. The first three refusals get a retry
// (to b, previous_hosts); the fourth and fifth find three retries outstanding: overflow,
// failed. With maxRetries 100 all five are retried; a budget of 20 % of the five in
// flight on b is 1, raised to minRetryConcurrency 4: one overflow.
TEST(ServingSim, EnvoyRetryCircuitBreakerLimitsConcurrentRetries) {
  std::string trace;
  for (int i = 0; i < 10; ++i) trace += "2023-11-16 18:01:10.5,100,10\n";
  auto run = [&](const std::string& name, const std::string& extra) {
    return RunServing(name,
                      ProxyScenario("{kind: envoy, loadBalancer: round-robin" + extra +
                                        ", retries: {retryOn: connect-failure, numRetries: 2, "
                                        "retryHostPredicate: previous_hosts}}",
                                    true),
                      TwoPods(), trace);
  };
  auto plain = run("cb-default", "");
  EXPECT_EQ(Stats(*plain).retried, 3u);
  EXPECT_EQ(Stats(*plain).retry_overflow, 2u);
  EXPECT_EQ(Failed(Stats(*plain), serving::Failure::kConnectionRefused), 2u);
  EXPECT_EQ(Stats(*plain).served, 8u);
  auto wide = run("cb-100", ", maxRetries: 100");
  EXPECT_EQ(Stats(*wide).retried, 5u);
  EXPECT_EQ(Stats(*wide).retry_overflow, 0u);
  EXPECT_EQ(Stats(*wide).served, 10u);
  auto budget = run("cb-budget", ", retryBudget: {budgetPercent: 20, minRetryConcurrency: 4}");
  EXPECT_EQ(Stats(*budget).retried, 4u);
  EXPECT_EQ(Stats(*budget).retry_overflow, 1u);
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// Time-slicing (device plugin sharing.timeSlicing, replicas 2): two vLLM pods on one H100,
// each asking for 45 % of its memory. CUDA time-slicing gives the two busy processes turns,
// so each step takes twice as long as on a GPU of its own: one request on each pod at the
// same time finishes in exactly twice the end-to-end time it takes on two separate GPUs.
TEST(ServingSim, TimeSlicedVllmProcessesTakeTurnsOnTheGpu) {
  auto pods = [](bool shared) {
    std::string c = TwoPods();
    const std::string args = "args: [\"meta-llama/Llama-3.1-8B-Instruct\"]";
    for (size_t at = c.find(args); at != std::string::npos; at = c.find(args, at + 1)) {
      c.replace(at, args.size(),
                "args: [\"meta-llama/Llama-3.1-8B-Instruct\", \"--gpu-memory-utilization\", "
                "\"0.45\", \"--max-model-len\", \"8192\"]");
    }
    const std::string count = "gputwin.io/gpu-count: \"8\"";
    c.replace(c.find(count), count.size(),
              shared ? "gputwin.io/gpu-count: \"1\"" : "gputwin.io/gpu-count: \"2\"");
    if (shared) {
      c += "---\napiVersion: v1\nkind: ConfigMap\n"
           "metadata: {name: nvidia-device-plugin-configs, namespace: kube-system}\n"
           "data:\n  default: |-\n    version: v1\n    sharing:\n      timeSlicing:\n"
           "        resources:\n        - name: nvidia.com/gpu\n          replicas: 2\n";
    }
    return c;
  };
  const std::string trace =
      "2023-11-16 18:01:00.0,500,300\n"
      "2023-11-16 18:01:00.0,500,300\n";
  std::string scenario = ProxyScenario("{kind: kube-proxy, loadBalancer: round-robin}", true);
  scenario = scenario.substr(0, scenario.find("  actions:"));
  auto alone = RunServing("ts-alone", scenario, pods(false), trace);
  auto shared = RunServing("ts-shared", scenario, pods(true), trace);
  ASSERT_EQ(Stats(*alone).served, 2u);
  ASSERT_EQ(Stats(*shared).served, 2u);
  for (const auto& r : shared->serving()->replicas()) EXPECT_EQ(r.requests, 1u) << r.pod_key;
  EXPECT_NEAR(Stats(*shared).e2e.max() / Stats(*alone).e2e.max(), 2.0, 1e-6);
}

}  // namespace
}  // namespace gputwin
