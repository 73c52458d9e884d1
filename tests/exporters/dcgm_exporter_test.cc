// The DCGM exporter's GPU physics against what a real H200 measured (nvidia-smi under a
// Llama-3-8B-shaped decode, ../shared/data/h200-measured): idle 86-127 W; batch-1 decode
// 426-427 W at 1,980 MHz and 50 °C; batch-256 decode 690 W at the 700 W limit with the SM
// clock at 1,815-1,890 MHz and 60 °C; utilisation.gpu 100 % in both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "exporters/dcgm_exporter.h"
#include "sim/simulation.h"
#include "telemetry/promql.h"

namespace gputwin::exporters {
namespace {

TEST(DcgmPhysics, ReproducesTheMeasuredH200) {
  devices::GpuModelTable gpus;
  const auto& h200 = *gpus.Find("H200-141GB");
  const double idle = GpuIdleWatts(h200);
  EXPECT_GE(idle, 86);
  EXPECT_LE(idle, 127);
  // Batch 1: 189 tokens/s x 2 x 7.5e9 FLOPs on 989 TFLOPS: the tensor pipes busy 0.29 % of
  // the time; the memory interface 76 % (nvidia-smi utilization.memory).
  GpuActivity b1{1.0, 0.76, 189 * 2 * 7.5e9 / 989e12};
  const auto r1 = GpuPower(h200, b1);
  EXPECT_NEAR(r1.power_w, 426.5, 426.5 * 0.02);
  EXPECT_EQ(r1.sm_clock_mhz, 1980);
  EXPECT_NEAR(GpuSteadyTemperature(h200, r1.power_w), 50, 2);
  // Batch 256: 15,600 tokens/s, memory interface 84 %.
  GpuActivity b256{1.0, 0.84, 15600 * 2 * 7.5e9 / 989e12};
  const auto r256 = GpuPower(h200, b256);
  EXPECT_NEAR(r256.power_w, 690, 690 * 0.02);
  EXPECT_GE(r256.sm_clock_mhz, 1815);
  EXPECT_LE(r256.sm_clock_mhz, 1890);
  EXPECT_NEAR(GpuSteadyTemperature(h200, r256.power_w), 60, 2);
}

// Other boards scale by their board power: an L4 (72 W) idles at 15 % of it and saturates
// at its limit with a full tensor load.
TEST(DcgmPhysics, ScalesToOtherBoards) {
  devices::GpuModelTable gpus;
  const auto& l4 = *gpus.Find("L4");
  EXPECT_NEAR(GpuIdleWatts(l4), 10.8, 1e-9);
  const auto full = GpuPower(l4, GpuActivity{1.0, 0.6, 0.5});
  EXPECT_EQ(full.power_w, 72);
  EXPECT_LT(full.sm_clock_mhz, GpuMaxSmClock(l4));
}

// NVIDIA's device plugin and dcgm-exporter as DaemonSets, as a cluster deploys them.
constexpr const char* kGpuStack = R"(---
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
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-mig-manager, namespace: kube-system}
spec:
  selector: {matchLabels: {app: mm}}
  template:
    metadata: {labels: {app: mm}}
    spec:
      tolerations: [{operator: Exists}]
      containers:
      - {name: mm, image: "nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.12.1"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: dcgm-exporter, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dcgm}}
  template:
    metadata: {labels: {app: dcgm}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: exporter, image: "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04"}]
)";

// In a run: one vLLM replica on GPU 0 of a two-GPU H100 node, kept busy by 20 requests a
// second; GPU 1 idles. The exporter (its DaemonSet deployed) reports the busy GPU at 100 %
// utilisation with the pod's labels, and the idle one at 0 % drawing its idle 105 W.
TEST(DcgmExporterRun, BusyAndIdleGpusWithPodLabels) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("gputwin-dcgm-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: dcgm}
spec:
  duration: 10m
  traffic:
  - name: chat
    service: llama
    arrivals: {rate: 20}
    promptTokens: {mean: 200}
    outputTokens: {mean: 200}
)" + std::string(kGpuStack) + R"(---
apiVersion: v1
kind: Node
metadata:
  name: gpu-1
  annotations: {gputwin.io/gpu-model: H100-80GB, gputwin.io/gpu-count: "2"}
status: {allocatable: {cpu: "64", memory: 500Gi}}
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
      annotations: {gputwin.io/model-source: local, gputwin.io/engine-warmup: 30s}
    spec:
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.11.0
        args: ["meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "8192"]
        resources: {limits: {nvidia.com/gpu: 1}}
)";
  auto s = sim::LoadScenario((dir / "s.yaml").string(), std::nullopt, std::nullopt);
  s->SpoolMetrics();
  s->Run();
  const Time at = s->start() + Duration::Minutes(9);
  auto q = [&](const std::string& text) {
    return telemetry::PromQuery::Parse(text).Evaluate(s->metrics(), at);
  };
  const auto busy = q("DCGM_FI_DEV_GPU_UTIL{Hostname=\"gpu-1\",namespace=\"default\"}");
  ASSERT_EQ(busy.samples.size(), 1u);
  EXPECT_EQ(busy.samples[0].value, 100);
  EXPECT_EQ(busy.samples[0].labels.at("container"), "vllm");
  EXPECT_EQ(busy.samples[0].labels.at("modelName"), "NVIDIA H100 80GB HBM3");
  const auto idle = q("DCGM_FI_DEV_GPU_UTIL{Hostname=\"gpu-1\",pod=\"\"}");
  ASSERT_EQ(idle.samples.size(), 1u);
  EXPECT_EQ(idle.samples[0].value, 0);
  const auto idle_power =
      q("DCGM_FI_DEV_POWER_USAGE{gpu=\"" + idle.samples[0].labels.at("gpu") + "\"}");
  ASSERT_EQ(idle_power.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(idle_power.samples[0].value, 0.15 * 700);
  // The busy GPU draws more than idle and its energy counter grows by its power.
  const auto busy_power = q("DCGM_FI_DEV_POWER_USAGE{namespace=\"default\"}");
  EXPECT_GT(busy_power.samples.at(0).value, 300);
  const auto energy =
      q("rate(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{namespace=\"default\"}[2m]) / 1000");
  ASSERT_EQ(energy.samples.size(), 1u);
  EXPECT_NEAR(energy.samples[0].value, busy_power.samples[0].value,
              0.1 * busy_power.samples[0].value);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gputwin::exporters

namespace gputwin::exporters {
namespace {

// MIG (single strategy, all-1g.10gb on an A100-80GB: seven 1g.10gb instances): DCGM reports
// the profiling fields and framebuffer per GPU instance, with GPU_I_PROFILE and GPU_I_ID
// and the holding pod's labels, and no device-level GPU_UTIL; power, clocks and
// temperature stay per GPU, without pod labels. Pod a declares 30 % and 8 GiB, pod b 100 %.
TEST(DcgmExporterRun, MigInstancesAsDcgmReportsThem) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("gputwin-dcgm-mig-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: mig}
spec:
  duration: 10m
---
apiVersion: v1
kind: ConfigMap
metadata: {name: nvidia-device-plugin-configs, namespace: kube-system}
data:
  mig-single: |-
    version: v1
    flags:
      migStrategy: single
)" + std::string(kGpuStack) + R"(---
apiVersion: v1
kind: Node
metadata:
  name: gpu-mig
  labels: {nvidia.com/device-plugin.config: mig-single, nvidia.com/mig.config: all-1g.10gb}
  annotations: {gputwin.io/gpu-model: A100-80GB, gputwin.io/gpu-count: "1"}
status: {allocatable: {cpu: "32", memory: 240Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: a
  annotations: {gputwin.io/gpu-utilization: "0.3", gputwin.io/gpu-memory: 8Gi}
spec:
  containers: [{name: c, image: busybox, resources: {limits: {nvidia.com/gpu: 1}}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  annotations: {gputwin.io/gpu-utilization: "1.0"}
spec:
  containers: [{name: c, image: busybox, resources: {limits: {nvidia.com/gpu: 1}}}]
)";
  auto s = sim::LoadScenario((dir / "s.yaml").string(), std::nullopt, std::nullopt);
  s->SpoolMetrics();
  s->Run();
  const Time at = s->start() + Duration::Minutes(5);
  auto q = [&](const std::string& text) {
    return telemetry::PromQuery::Parse(text).Evaluate(s->metrics(), at);
  };
  const auto a = q("DCGM_FI_PROF_GR_ENGINE_ACTIVE{pod=\"a\"}");
  ASSERT_EQ(a.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(a.samples[0].value, 0.3);
  EXPECT_EQ(a.samples[0].labels.at("GPU_I_PROFILE"), "1g.10gb");
  EXPECT_EQ(q("DCGM_FI_PROF_GR_ENGINE_ACTIVE{pod=\"b\"}").samples.at(0).value, 1.0);
  EXPECT_EQ(q("count(DCGM_FI_PROF_GR_ENGINE_ACTIVE{Hostname=\"gpu-mig\"})").samples.at(0).value, 7);
  EXPECT_EQ(q("DCGM_FI_DEV_FB_USED{pod=\"a\"}").samples.at(0).value, 8192);
  EXPECT_EQ(q("absent(DCGM_FI_DEV_GPU_UTIL{Hostname=\"gpu-mig\"})").samples.size(), 1u);
  const auto power = q("DCGM_FI_DEV_POWER_USAGE{Hostname=\"gpu-mig\"}");
  ASSERT_EQ(power.samples.size(), 1u);
  EXPECT_EQ(power.samples[0].labels.count("pod"), 0u);
  EXPECT_GT(power.samples[0].value, 0.15 * 400);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gputwin::exporters

namespace gputwin::exporters {
namespace {

// Time-slicing (4 replicas per A100): two pods share node gpu-ts's GPU; gpu-idle's GPU
// has no pod.
// dcgm-exporter reports what the physical GPU does; by default one pod's labels for the
// shared GPU (dcgm-exporter#307). With --kubernetes-virtual-gpus it writes a copy of the
// GPU's series per pod, labelled with the replica's index as `vgpu`, and drops the GPU no
// pod holds (pkg/dcgmexporter/kubernetes.go keeps only the copies).
std::unique_ptr<sim::Simulation> RunTimeSliced(const std::string& exporter_args) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("gputwin-dcgm-vgpu-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: dcgm-vgpu}
spec:
  duration: 10m
---
apiVersion: v1
kind: ConfigMap
metadata: {name: nvidia-device-plugin-configs, namespace: kube-system}
data:
  time-sliced: |-
    version: v1
    sharing:
      timeSlicing:
        resources:
        - name: nvidia.com/gpu
          replicas: 4
---
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
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: dcgm-exporter, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dcgm}}
  template:
    metadata: {labels: {app: dcgm}}
    spec:
      tolerations: [{operator: Exists}]
      containers:
      - name: exporter
        image: "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04"
        args: [)" + exporter_args + R"(]
---
apiVersion: v1
kind: Node
metadata:
  name: gpu-ts
  labels: {pool: ts, nvidia.com/device-plugin.config: time-sliced}
  annotations: {gputwin.io/gpu-model: A100-80GB, gputwin.io/gpu-count: "1"}
status: {allocatable: {cpu: "32", memory: 240Gi}}
---
apiVersion: v1
kind: Node
metadata:
  name: gpu-idle
  labels: {nvidia.com/device-plugin.config: time-sliced}
  annotations: {gputwin.io/gpu-model: A100-80GB, gputwin.io/gpu-count: "1"}
status: {allocatable: {cpu: "32", memory: 240Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: a
  annotations: {gputwin.io/gpu-utilization: "0.3"}
spec:
  nodeSelector: {pool: ts}
  containers: [{name: main, image: img, resources: {limits: {nvidia.com/gpu: 1}}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  annotations: {gputwin.io/gpu-utilization: "0.2"}
spec:
  nodeSelector: {pool: ts}
  containers: [{name: main, image: img, resources: {limits: {nvidia.com/gpu: 1}}}]
)";
  auto s = sim::LoadScenario((dir / "s.yaml").string(), std::nullopt, std::nullopt);
  s->SpoolMetrics();
  s->Run();
  fs::remove_all(dir);
  return s;
}

TEST(DcgmExporterRun, SharedGpuHasOnePodsLabelsByDefault) {
  auto s = RunTimeSliced("");
  const auto r = telemetry::PromQuery::Parse("DCGM_FI_DEV_GPU_UTIL")
                     .Evaluate(s->metrics(), s->start() + Duration::Minutes(9));
  ASSERT_EQ(r.samples.size(), 2u);  // both GPUs, one series each
  int shared = 0;
  for (const auto& smp : r.samples) {
    EXPECT_EQ(smp.labels.count("vgpu"), 0u);
    if (smp.labels.at("Hostname") == "gpu-ts") {
      // Both pods' work (30 % + 20 %) under one pod's name.
      EXPECT_EQ(smp.value, 50);
      EXPECT_TRUE(smp.labels.at("pod") == "a" || smp.labels.at("pod") == "b");
      ++shared;
    } else {
      EXPECT_EQ(smp.value, 0);
      EXPECT_EQ(smp.labels.count("pod"), 0u);
    }
  }
  EXPECT_EQ(shared, 1);
}

TEST(DcgmExporterRun, VirtualGpusCopyTheSharedGpuPerPod) {
  auto s = RunTimeSliced("--kubernetes-virtual-gpus");
  const auto r = telemetry::PromQuery::Parse("DCGM_FI_DEV_GPU_UTIL")
                     .Evaluate(s->metrics(), s->start() + Duration::Minutes(9));
  ASSERT_EQ(r.samples.size(), 2u);  // pods a and b on gpu-ts; gpu-idle's GPU left out
  std::set<std::string> pods, vgpus;
  for (const auto& smp : r.samples) {
    EXPECT_EQ(smp.value, 50);  // the physical GPU's value in every copy
    EXPECT_EQ(smp.labels.at("Hostname"), "gpu-ts");
    pods.insert(smp.labels.at("pod"));
    vgpus.insert(smp.labels.at("vgpu"));
  }
  EXPECT_EQ(pods, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(vgpus.size(), 2u);
  for (const auto& v : vgpus) EXPECT_TRUE(v >= "0" && v <= "3") << v;
}

}  // namespace
}  // namespace gputwin::exporters

namespace gputwin::exporters {
namespace {

api::Manifests DecodeText(const std::string& yaml) {
  api::Manifests m;
  api::DecodeYaml(yaml, "cluster.yaml", &m);
  return m;
}

// Where the exporter runs and how: the GPU Operator runs it unless dcgmExporter.enabled is
// false; --kubernetes-virtual-gpus as a flag (urfave/cli: --flag, --flag=true) or the
// KUBERNETES_VIRTUAL_GPUS variable (strconv.ParseBool), in a DaemonSet or the ClusterPolicy.
TEST(DcgmExporterOptions, FromTheClusterPolicyAndTheDaemonSet) {
  const auto off = DecodeText(R"(apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  dcgmExporter: {enabled: false}
)");
  EXPECT_FALSE(DcgmExporterDeployed(off));
  const auto env = DecodeText(R"(apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  dcgmExporter:
    env: [{name: KUBERNETES_VIRTUAL_GPUS, value: "true"}]
)");
  EXPECT_TRUE(DcgmExporterDeployed(env));
  EXPECT_TRUE(DcgmExporterOptionsFrom(env).virtual_gpus);
  auto daemon_set = [](const std::string& extra) {
    return DecodeText(R"(apiVersion: apps/v1
kind: DaemonSet
metadata: {name: dcgm-exporter}
spec:
  selector: {matchLabels: {app: dcgm}}
  template:
    metadata: {labels: {app: dcgm}}
    spec:
      containers:
      - name: exporter
        image: nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04
)" + extra);
  };
  EXPECT_FALSE(DcgmExporterOptionsFrom(daemon_set("")).virtual_gpus);
  EXPECT_TRUE(DcgmExporterOptionsFrom(daemon_set("        args: [--kubernetes-virtual-gpus]\n"))
                  .virtual_gpus);
  EXPECT_FALSE(
      DcgmExporterOptionsFrom(daemon_set("        args: [--kubernetes-virtual-gpus=false]\n"))
          .virtual_gpus);
  EXPECT_TRUE(DcgmExporterOptionsFrom(
                  daemon_set("        env: [{name: KUBERNETES_VIRTUAL_GPUS, value: \"1\"}]\n"))
                  .virtual_gpus);
}

}  // namespace
}  // namespace gputwin::exporters
