// Decoding real Kubernetes YAML: multi-document files, kind: List, kubectl get -o yaml,
// warnings for unknown kinds and fields, and errors that name file, line and field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"

namespace gputwin::api {
namespace {

using ::testing::HasSubstr;

Manifests Decode(const std::string& yaml, const std::string& file = "cluster.yaml") {
  Manifests m;
  DecodeYaml(yaml, file, &m);
  return m;
}

std::string ErrorOf(const std::string& yaml, const std::string& file = "cluster.yaml") {
  try {
    Decode(yaml, file);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Decode, MultiDocumentAndList) {
  auto m = Decode(R"(
apiVersion: v1
kind: Node
metadata: {name: a}
status: {allocatable: {cpu: "4", memory: 16Gi}}
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: b}
  status: {capacity: {cpu: "8"}}
- apiVersion: scheduling.k8s.io/v1
  kind: PriorityClass
  metadata: {name: high}
  value: 1000
)");
  ASSERT_EQ(m.nodes.size(), 2u);
  EXPECT_EQ(m.nodes[0].metadata.name, "a");
  EXPECT_EQ(m.nodes[0].allocatable.at("memory").Value(), 16LL << 30);
  // allocatable defaults to capacity; the kubelet's default --max-pods is 110.
  EXPECT_EQ(m.nodes[1].allocatable.at("cpu").milli, 8000);
  EXPECT_EQ(m.nodes[1].allocatable.at("pods").Value(), 110);
  ASSERT_EQ(m.priority_classes.size(), 1u);
  EXPECT_EQ(m.priority_classes[0].value, 1000);
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

TEST(Decode, KubectlGetOutputIgnoresServerFields) {
  auto m = Decode(R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: prod
  uid: 1234
  resourceVersion: "99"
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields:
  - manager: kubectl
  ownerReferences:
  - apiVersion: apps/v1
    kind: ReplicaSet
    name: web-abc
    uid: x
    controller: true
spec:
  containers:
  - name: c
    image: nginx
    imagePullPolicy: Always
    resources:
      limits: {nvidia.com/gpu: 1}
  dnsPolicy: ClusterFirst
status:
  phase: Running
  conditions: []
)");
  ASSERT_EQ(m.pods.size(), 1u);
  EXPECT_EQ(m.pods[0].metadata.namespace_, "prod");
  // Defaulting: a limit without a request sets the request.
  EXPECT_EQ(m.pods[0].spec.containers[0].resources.requests.at("nvidia.com/gpu").Value(), 1);
  EXPECT_TRUE(m.diagnostics.warnings.empty()) << m.diagnostics.warnings[0];
}

TEST(Decode, UnknownKindsAndFieldsWarnWithFileAndLine) {
  auto m = Decode(R"(apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: v1
kind: Node
metadata:
  name: n
  colour: blue
status: {allocatable: {cpu: "1"}}
)");
  ASSERT_EQ(m.diagnostics.warnings.size(), 2u);
  EXPECT_THAT(m.diagnostics.warnings[0], HasSubstr("cluster.yaml:1: unknown kind \"Widget\""));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("cluster.yaml:9: metadata.colour: unknown field"));
}

// The GPU Operator's ServiceMonitor for dcgm-exporter (honorLabels, a 15 s interval) and a
// PodMonitor with Prometheus's defaults: the twin scrapes at one interval and keeps the
// exporters' labels, so what it does not do is warned, line by line.
TEST(Decode, ScrapeMonitorsWarnWhatTheTwinDoesNotApply) {
  auto m = Decode(R"(apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: nvidia-dcgm-exporter, namespace: gpu-operator}
spec:
  selector: {matchLabels: {app: nvidia-dcgm-exporter}}
  endpoints:
  - port: gpu-metrics
    interval: 15s
    honorLabels: true
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: vllm}
spec:
  selector: {matchLabels: {app: vllm}}
  podMetricsEndpoints:
  - port: http
    metricRelabelings: [{action: drop, regex: "vllm:cache_config_info"}]
)");
  ASSERT_EQ(m.diagnostics.warnings.size(), 3u);
  EXPECT_THAT(m.diagnostics.warnings[0],
              HasSubstr("cluster.yaml:7: spec.endpoints[0].interval: interval 15s"));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("cluster.yaml:17: spec.podMetricsEndpoints[0].honorLabels: honorLabels "
                        "is false"));
  EXPECT_THAT(m.diagnostics.warnings[2],
              HasSubstr("spec.podMetricsEndpoints[0].metricRelabelings: metricRelabelings are "
                        "not applied"));
  EXPECT_THAT(ErrorOf(R"(apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: s}
spec:
  endpoints: [{port: web, interval: soon}]
)"),
              HasSubstr("cluster.yaml:5: spec.endpoints[0].interval: not a Prometheus duration"));
}

// Kueue's examples are written for `kubectl create` with metadata.generateName: the API
// server names the object the prefix plus 5 characters of its alphabet
// ("bcdfghjklmnpqrstvwxz2456789", k8s.io/apimachinery/pkg/util/rand).
TEST(Decode, GenerateNameGivesTheApiServersKindOfName) {
  const std::string job = R"(apiVersion: batch/v1
kind: Job
metadata:
  generateName: sample-job-
  namespace: team-a
  labels: {kueue.x-k8s.io/queue-name: user-queue}
spec:
  parallelism: 3
  completions: 3
  suspend: true
  template:
    spec:
      containers: [{name: dummy-job, image: registry.k8s.io/e2e-test-images/agnhost:2.53, args: ["entrypoint-tester", "hello", "world"]}]
      restartPolicy: Never
)";
  auto m = Decode(job + "---\n" + job);
  ASSERT_EQ(m.jobs.size(), 2u);
  for (const auto& j : m.jobs) {
    const std::string& name = j.metadata.name;
    ASSERT_EQ(name.size(), std::string("sample-job-").size() + 5) << name;
    EXPECT_TRUE(name.starts_with("sample-job-"));
    for (char c : name.substr(11)) {
      EXPECT_NE(std::string("bcdfghjklmnpqrstvwxz2456789").find(c), std::string::npos) << name;
    }
  }
  // Two creates, two objects; the same files, the same names.
  EXPECT_NE(m.jobs[0].metadata.name, m.jobs[1].metadata.name);
  EXPECT_EQ(Decode(job).jobs[0].metadata.name, m.jobs[0].metadata.name);
  // Neither name nor generateName: still an error.
  EXPECT_THAT(
      ErrorOf("apiVersion: v1\nkind: Pod\nmetadata: {namespace: a}\nspec: {containers: []}\n"),
      HasSubstr("name or generateName is required"));
}

// A folder of manifests may hold the Prometheus rule files a scenario names
// (spec.prometheus.ruleFiles): a document with `groups:` and no kind is read as one.
TEST(Decode, APlainRuleFileAmongManifests) {
  auto m = Decode(R"(groups:
- name: gpu
  rules:
  - alert: GPUUnderutilised
    expr: DCGM_FI_DEV_GPU_UTIL < 10
    for: 30m
)",
                  "rules.yaml");
  ASSERT_EQ(m.rule_groups.size(), 1u);
  EXPECT_EQ(m.rule_groups[0].name, "gpu");
  EXPECT_EQ(m.rule_groups[0].rules.at(0).alert, "GPUUnderutilised");
  EXPECT_THAT(ErrorOf("metadata: {name: x}\n"), HasSubstr("kind must be set"));
}

TEST(Decode, BadQuantityNamesFileLineAndField) {
  std::string e = ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    resources:
      limits:
        nvidia.com/gpu: two
)");
  EXPECT_THAT(e, HasSubstr("cluster.yaml:9: spec.containers[0].resources.limits.nvidia.com/gpu: "
                           "\"two\" is not a quantity"));
}

TEST(Decode, GpuOnlyInRequestsGetsTheApiServerMessage) {
  // ValidateResourceRequirements: extended resources cannot be overcommitted.
  std::string e = ErrorOf(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - name: c
        resources:
          requests:
            nvidia.com/gpu: 1
)");
  EXPECT_THAT(e, HasSubstr("cluster.yaml:12: spec.template.spec.containers[0].resources.limits: "
                           "Required value: Limit must be set for non overcommitable resources"));
}

TEST(Decode, GpuRequestMustEqualLimit) {
  std::string e = ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    resources:
      requests: {nvidia.com/gpu: 1}
      limits: {nvidia.com/gpu: 2}
)");
  EXPECT_THAT(e, HasSubstr("must be equal to nvidia.com/gpu limit of 2"));
  EXPECT_THAT(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    resources:
      limits: {nvidia.com/gpu: 500m}
)"),
              HasSubstr("must be an integer"));
}

TEST(Decode, MalformedYamlAndWrongTypes) {
  EXPECT_THAT(ErrorOf("apiVersion: v1\nkind: Node\nmetadata: {name: [\n"),
              HasSubstr("cluster.yaml:"));
  EXPECT_THAT(ErrorOf("apiVersion: v1\nkind: Node\nmetadata: {name: a}\nspec:\n  taints: nope\n"
                      "status: {capacity: {cpu: '1'}}\n"),
              HasSubstr("cluster.yaml:5: spec.taints: expected a list"));
  EXPECT_THAT(ErrorOf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
                      "  replicas: two\n"),
              HasSubstr("cluster.yaml:5: spec.replicas: \"two\" is not an integer"));
  EXPECT_THAT(ErrorOf("apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\nspec: {containers: "
                      "[{name: c}]}\n"),
              HasSubstr("metadata.name: Required value"));
  EXPECT_THAT(ErrorOf("kind: Node\nmetadata: {name: a}\n"),
              HasSubstr("apiVersion: Required value"));
}

TEST(Decode, JobsRejectRestartPolicyAlways) {
  EXPECT_THAT(ErrorOf(R"(apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      containers: [{name: c}]
)"),
              HasSubstr("spec.template.spec.restartPolicy: Required value"));
}

// ValidatePodSpec: a container name is unique across containers and init containers; the
// init containers are checked first, each against every container and the init containers
// before it (validateInitContainers), then the containers (validateContainers).
TEST(Decode, ContainerNamesAreUnique) {
  const std::string two_mains = R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: main, image: i}
  - {name: main, image: j}
)";
  EXPECT_THAT(ErrorOf(two_mains),
              HasSubstr("cluster.yaml:7: spec.containers[1].name: Duplicate value: \"main\""));
  // The init containers are checked before the containers' own duplicate.
  EXPECT_THAT(ErrorOf(two_mains + R"(  initContainers:
  - {name: setup, image: i}
  - {name: main, image: k}
)"),
              HasSubstr("cluster.yaml:10: spec.initContainers[1].name: Duplicate value: "
                        "\"main\""));
  EXPECT_EQ(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: main, image: i}, {name: sidecar, image: j}]
  initContainers: [{name: setup, image: i}]
)"),
            "no error");
}

TEST(Decode, TolerationAndAffinityValidation) {
  EXPECT_THAT(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c}]
  tolerations:
  - operator: Equal
    value: x
)"),
              HasSubstr("operator must be Exists when `key` is empty"));
  EXPECT_THAT(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: a, operator: Gt, values: ["1", "2"]}
)"),
              HasSubstr("single value"));
}

TEST(Decode, SchedulerConfiguration) {
  auto m = Decode(R"(apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - {name: nvidia.com/gpu, weight: 5}
        - {name: cpu, weight: 1}
)");
  ASSERT_TRUE(m.scheduler_config);
  EXPECT_EQ(m.scheduler_config->percentage_of_nodes_to_score, 30);
  EXPECT_EQ(m.scheduler_config->scoring_strategy, "MostAllocated");
  ASSERT_EQ(m.scheduler_config->scoring_resources.size(), 2u);
  EXPECT_EQ(m.scheduler_config->scoring_resources[0].weight, 5);
}

// policy/v1 PodDisruptionBudget validation (ValidatePodDisruptionBudgetSpec): the two
// fields are exclusive, percentages stop at 100%, an absent selector selects no pods.
TEST(Decode, PodDisruptionBudget) {
  Manifests m = Decode(R"(apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  maxUnavailable: 25%
  selector: {matchLabels: {app: web}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: none}
spec: {minAvailable: 2}
)");
  ASSERT_EQ(m.pod_disruption_budgets.size(), 2u);
  EXPECT_EQ(m.pod_disruption_budgets[0].max_unavailable, "25%");
  EXPECT_TRUE(m.pod_disruption_budgets[0].selector->Matches({{"app", "web"}}));
  EXPECT_EQ(m.pod_disruption_budgets[1].min_available, "2");
  EXPECT_FALSE(m.pod_disruption_budgets[1].selector.has_value());
  EXPECT_THAT(ErrorOf(R"(apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: x}
spec: {minAvailable: 1, maxUnavailable: 1}
)"),
              HasSubstr("cluster.yaml:4: spec.maxUnavailable: Invalid value: minAvailable and "
                        "maxUnavailable cannot be both set"));
  EXPECT_THAT(ErrorOf(R"(apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: x}
spec:
  minAvailable: 120%
)"),
              HasSubstr("cluster.yaml:5: spec.minAvailable: Invalid value: \"120%\": must not be "
                        "greater than 100%"));
}

}  // namespace
}  // namespace gputwin::api

namespace gputwin::api {
namespace {

// A vLLM Deployment and its Service as the vLLM docs' Kubernetes guide writes them.
TEST(Decode, ServingContainersAndServices) {
  const std::string yaml = R"(apiVersion: v1
kind: Service
metadata:
  name: vllm
spec:
  selector:
    app: vllm
  ports:
  - name: http
    port: 8000
    targetPort: 8000
  publishNotReadyAddresses: true
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm
spec:
  selector:
    matchLabels:
      app: vllm
  template:
    metadata:
      labels:
        app: vllm
    spec:
      terminationGracePeriodSeconds: 120
      containers:
      - name: vllm
        image: vllm/vllm-openai:latest
        command: ["/bin/sh", "-c"]
        args: ["vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192"]
        readinessProbe:
          httpGet: {path: /health, port: 8000}
          initialDelaySeconds: 60
          periodSeconds: 5
        lifecycle:
          preStop:
            exec:
              command: ["/bin/sh", "-c", "sleep 15"]
)";
  Manifests m;
  DecodeYaml(yaml, "vllm.yaml", &m);
  ASSERT_EQ(m.services.size(), 1u);
  EXPECT_EQ(m.services[0].selector.at("app"), "vllm");
  EXPECT_EQ(m.services[0].ports[0].port, 8000);
  EXPECT_TRUE(m.services[0].publish_not_ready_addresses);
  ASSERT_EQ(m.deployments.size(), 1u);
  const auto& spec = m.deployments[0].template_.spec;
  EXPECT_EQ(spec.termination_grace_period_seconds, 120);
  const auto& c = spec.containers[0];
  EXPECT_EQ(c.command, (std::vector<std::string>{"/bin/sh", "-c"}));
  ASSERT_EQ(c.args.size(), 1u);
  ASSERT_TRUE(c.readiness_probe);
  EXPECT_EQ(c.readiness_probe->initial_delay_seconds, 60);
  EXPECT_EQ(c.readiness_probe->period_seconds, 5);
  EXPECT_EQ(c.readiness_probe->failure_threshold, 3);  // core/v1 default
  EXPECT_EQ(c.pre_stop_seconds, 15);
  EXPECT_EQ(c.source.line, 29);  // "- name: vllm"
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

}  // namespace
}  // namespace gputwin::api

namespace gputwin::api {
namespace {

// Pod-level resources take cpu, memory and hugepages only (validatePodResources); GPUs
// stay on containers. A request above the limit is rejected as for containers.
TEST(Decode, PodLevelResourcesAreValidatedAndDefaulted) {
  EXPECT_THAT(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources:
    limits: {nvidia.com/gpu: 1}
  containers: [{name: c, image: i}]
)"),
              HasSubstr("cluster.yaml:6: spec.resources.limits: Unsupported value: "
                        "\"nvidia.com/gpu\""));
  EXPECT_THAT(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources: {requests: {cpu: "1"}}
  containers: [{name: c, image: i, resources: {requests: {cpu: "2"}}}]
)"),
              HasSubstr("must be greater than or equal to aggregate container requests of 2"));
  auto m = Decode(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources: {limits: {cpu: "4", memory: 8Gi}}
  containers: [{name: c, image: i, resources: {requests: {cpu: 500m}}}]
)");
  ASSERT_EQ(m.pods.size(), 1u);
  const auto& req = m.pods[0].spec.pod_resources->requests;
  EXPECT_EQ(FormatQuantity(req.at("cpu")), "500m");       // the containers' aggregate
  EXPECT_EQ(req.at("memory").Value(), int64_t{8} << 30);  // no container asks: the limit
}

TEST(Decode, SidecarIsAnInitContainerWithRestartPolicyAlways) {
  // The Kubernetes docs' sidecar example (concepts/workloads/pods/sidecar-containers).
  auto m = Decode(R"(apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  initContainers:
  - {name: logshipper, image: alpine:latest, restartPolicy: Always}
  containers:
  - {name: myapp, image: alpine:latest}
)");
  ASSERT_EQ(m.pods.size(), 1u);
  EXPECT_TRUE(m.pods[0].spec.init_containers[0].sidecar);
  EXPECT_FALSE(m.pods[0].spec.containers[0].sidecar);
  // API validation: only init containers, and only Always.
  EXPECT_THAT(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - {name: myapp, image: alpine:latest, restartPolicy: Always}
)"),
              HasSubstr("cluster.yaml:6: spec.containers[0].restartPolicy: Unsupported value"));
  EXPECT_THAT(ErrorOf(R"(apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  initContainers:
  - {name: init, image: alpine:latest, restartPolicy: Never}
  containers:
  - {name: myapp, image: alpine:latest}
)"),
              HasSubstr("supported values: \"Always\""));
}

}  // namespace
}  // namespace gputwin::api
