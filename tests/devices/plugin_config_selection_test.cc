// Which device plugin config a node gets. Upstream the plugin reads configs only from the
// ConfigMap it is pointed at: the GPU Operator's ClusterPolicy devicePlugin.config.name
// (controllers/object_controls.go handleDevicePluginConfig: the config-manager with
// DEFAULT_CONFIG = config.default and FALLBACK_STRATEGIES=empty), or a ConfigMap volume of
// the plugin's DaemonSet with CONFIG_FILE or the Helm chart's config-manager sidecar
// (FALLBACK_STRATEGIES named,single). The config-manager (cmd/config-manager,
// updateConfigName) takes the node label, else DEFAULT_CONFIG, else the fallbacks in order,
// and fails (the plugin never starts) when what it is told does not exist.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "devices/inventory.h"

namespace gputwin::devices {
namespace {

using ::testing::HasSubstr;

constexpr const char* kConfigs = R"(apiVersion: v1
kind: ConfigMap
metadata: {name: plugin-configs, namespace: gpu-operator}
data:
  time-sliced: |-
    version: v1
    sharing:
      timeSlicing:
        resources:
        - name: nvidia.com/gpu
          replicas: 4
)";

std::string Node(const std::string& name, const std::string& config_label) {
  std::string labels = config_label.empty()
                           ? ""
                           : "  labels: {nvidia.com/device-plugin.config: " + config_label + "}\n";
  return "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: " + name + "\n" + labels +
         "  annotations: {gputwin.io/gpu-model: A100-80GB, gputwin.io/gpu-count: '2'}\n"
         "status: {allocatable: {cpu: '8'}}\n";
}

struct Outcome {
  int replicas = 0;  // 1: no time-slicing
  std::string error;
};

std::map<std::string, Outcome> Plan(const std::string& yaml, std::vector<std::string>* warnings) {
  api::Manifests m;
  api::DecodeYaml(yaml, "cluster.yaml", &m);
  static const GpuModelTable kModels;
  GpuStack stack = DiscoverGpuStack(m, &kModels, &m.diagnostics);
  std::map<std::string, Outcome> out;
  for (const auto& n : m.nodes) {
    NodeGpuPlan plan;
    if (!PlanNode(n, stack, &plan)) continue;
    Outcome o;
    o.error = plan.config_error;
    o.replicas = plan.config.ReplicasFor("nvidia.com/gpu");
    out[n.metadata.name] = o;
  }
  if (warnings) *warnings = m.diagnostics.warnings;
  return out;
}

const char* kPluginDaemonSet = R"(---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dp}}
  template:
    metadata: {labels: {app: dp}}
    spec:
      containers: [{name: plugin, image: "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"}]
)";

TEST(PluginConfigSelection, AConfigMapNothingReferencesChangesNothing) {
  std::vector<std::string> warnings;
  auto out = Plan(std::string(kConfigs) + kPluginDaemonSet + Node("a", "time-sliced"), &warnings);
  EXPECT_EQ(out["a"].replicas, 1);
  EXPECT_EQ(out["a"].error, "");
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings[0], HasSubstr("cluster.yaml:6: data.time-sliced: device plugin config in "
                                     "ConfigMap plugin-configs is not used"));
}

TEST(PluginConfigSelection, GpuOperatorFallsBackToTheEmptyConfig) {
  const std::string policy = R"(---
apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  devicePlugin:
    config:
      name: plugin-configs
)";
  auto out = Plan(std::string(kConfigs) + policy + Node("labelled", "time-sliced") +
                      Node("plain", "") + Node("typo", "time-slice"),
                  nullptr);
  EXPECT_EQ(out["labelled"].replicas, 4);
  // Not labelled, no default: FALLBACK_STRATEGIES=empty, so not the single config either.
  EXPECT_EQ(out["plain"].replicas, 1);
  EXPECT_EQ(out["plain"].error, "");
  EXPECT_EQ(out["typo"].error, "specified config time-slice does not exist");
  // With config.default, unlabelled nodes get it.
  auto with_default = Plan(
      std::string(kConfigs) + policy + "      default: time-sliced\n" + Node("plain", ""), nullptr);
  EXPECT_EQ(with_default["plain"].replicas, 4);
}

TEST(PluginConfigSelection, HelmConfigManagerFallsBackToTheSingleConfig) {
  auto daemon_set = [](const std::string& strategies) {
    return R"(---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dp}}
  template:
    metadata: {labels: {app: dp}}
    spec:
      containers:
      - name: plugin
        image: nvcr.io/nvidia/k8s-device-plugin:v0.17.0
        env: [{name: CONFIG_FILE, value: /config/config.yaml}]
      - name: config-manager
        image: nvcr.io/nvidia/k8s-device-plugin:v0.17.0
        command: [config-manager]
        env: [{name: FALLBACK_STRATEGIES, value: ")" +
           strategies + R"("}]
      volumes: [{name: available-configs, configMap: {name: plugin-configs}}]
)";
  };
  auto single =
      Plan(std::string(kConfigs) + daemon_set("named,single") + Node("plain", ""), nullptr);
  EXPECT_EQ(single["plain"].replicas, 4);
  // `named` looks for a config called "default" only: none here, so it fails.
  auto named = Plan(std::string(kConfigs) + daemon_set("named") + Node("plain", ""), nullptr);
  EXPECT_EQ(named["plain"].error,
            "no config was set, no default was provided, and all fallbacks failed");
}

TEST(PluginConfigSelection, StaticConfigFileAppliesToEveryNode) {
  const std::string static_ds = R"(---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dp}}
  template:
    metadata: {labels: {app: dp}}
    spec:
      containers:
      - name: plugin
        image: nvcr.io/nvidia/k8s-device-plugin:v0.17.0
        args: [--config-file=/etc/nvidia/time-sliced]
      volumes: [{name: config, configMap: {name: plugin-configs}}]
)";
  auto out = Plan(std::string(kConfigs) + static_ds + Node("a", "") + Node("b", "other"), nullptr);
  EXPECT_EQ(out["a"].replicas, 4);
  EXPECT_EQ(out["b"].replicas, 4);  // no config-manager: the node label means nothing
}

}  // namespace
}  // namespace gputwin::devices

namespace gputwin::devices {
namespace {

// One mig-parted config with an entry per GPU model, told apart by device-filter (the PCI
// device ID), as the GPU Operator's default-mig-parted-config writes all-1g.*: an A100-80GB
// (0x20B210DE) takes its own entry, not the A100-40GB's (0x20B010DE) listed first.
TEST(MigParted, DeviceFilterPicksTheEntryOfTheGpuModel) {
  api::Manifests m;
  api::DecodeYaml(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: default-mig-parted-config, namespace: gpu-operator}
data:
  config.yaml: |
    version: v1
    mig-configs:
      all-1g:
      - device-filter: ["0x20B010DE", "0x20B110DE", "0x20F110DE", "0x20F610DE"]
        devices: all
        mig-enabled: true
        mig-devices:
          "1g.5gb": 7
      - device-filter: ["0x20B210DE", "0x20B510DE", "0x20F310DE", "0x20F510DE"]
        devices: all
        mig-enabled: true
        mig-devices:
          "1g.10gb": 7
---
apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  mig: {strategy: single}
---
apiVersion: v1
kind: Node
metadata:
  name: a100-80
  labels: {nvidia.com/mig.config: all-1g}
  annotations: {gputwin.io/gpu-model: A100-80GB, gputwin.io/gpu-count: "2"}
status: {allocatable: {cpu: "8"}}
)",
                  "cluster.yaml", &m);
  static const GpuModelTable kModels;
  const GpuStack stack = DiscoverGpuStack(m, &kModels, &m.diagnostics);
  NodeGpuPlan plan;
  ASSERT_TRUE(PlanNode(m.nodes.at(0), stack, &plan));
  ASSERT_EQ(plan.gpus.mig.size(), 2u);
  for (const auto& gpu : plan.gpus.mig) {
    ASSERT_EQ(gpu.size(), 7u);
    for (const auto& inst : gpu) EXPECT_EQ(inst.profile, "1g.10gb");
  }
}

}  // namespace
}  // namespace gputwin::devices
