// Kueue objects in both API versions, with CRD defaults and the webhook/CEL rules
// (apis/kueue/v1beta1|v1beta2/*_types.go, pkg/webhooks/clusterqueue_webhook.go).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"

namespace gputwin::api {
namespace {

using ::testing::HasSubstr;

Manifests DecodeKueue(const std::string& yaml) {
  Manifests m;
  DecodeYaml(yaml, "kueue.yaml", &m);
  return m;
}

std::string KueueErrorOf(const std::string& yaml) {
  try {
    DecodeKueue(yaml);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

const char* kCq = R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: team-a}
spec:
  namespaceSelector: {}
  cohort: research
  flavorFungibility: {whenCanBorrow: Borrow, whenCanPreempt: Preempt}
  resourceGroups:
  - coveredResources: [cpu, nvidia.com/gpu]
    flavors:
    - name: a100
      resources:
      - {name: cpu, nominalQuota: 64}
      - {name: nvidia.com/gpu, nominalQuota: 8, borrowingLimit: 4, lendingLimit: 2}
    - name: h100
      resources:
      - {name: cpu, nominalQuota: 32}
      - {name: nvidia.com/gpu, nominalQuota: 0}
)";

TEST(KueueDecode, ClusterQueueV1beta1WithDefaultsAndOldNames) {
  auto m = DecodeKueue(kCq);
  ASSERT_EQ(m.cluster_queues.size(), 1u);
  const auto& cq = m.cluster_queues[0];
  EXPECT_EQ(cq.cohort, "research");
  EXPECT_TRUE(cq.namespace_selector.has_value());  // {} selects every namespace
  EXPECT_EQ(cq.queueing_strategy, "BestEffortFIFO");
  EXPECT_EQ(cq.within_cluster_queue, "Never");
  EXPECT_EQ(cq.reclaim_within_cohort, "Never");
  EXPECT_EQ(cq.when_can_borrow, "MayStopSearch");   // Borrow, renamed
  EXPECT_EQ(cq.when_can_preempt, "MayStopSearch");  // Preempt, renamed
  EXPECT_EQ(cq.fair_sharing_weight.milli, 1000);
  ASSERT_EQ(cq.resource_groups.size(), 1u);
  ASSERT_EQ(cq.resource_groups[0].flavors.size(), 2u);
  const auto& gpu = cq.resource_groups[0].flavors[0].resources[1];
  EXPECT_EQ(gpu.nominal_quota.Value(), 8);
  EXPECT_EQ(gpu.borrowing_limit->Value(), 4);
  EXPECT_EQ(gpu.lending_limit->Value(), 2);
  EXPECT_FALSE(cq.resource_groups[0].flavors[1].resources[1].borrowing_limit);  // nil: unlimited
}

TEST(KueueDecode, V1beta2CohortNameAndOtherKinds) {
  auto m = DecodeKueue(R"(apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: cq}
spec:
  cohortName: org
  queueingStrategy: StrictFIFO
  preemption: {reclaimWithinCohort: Any, borrowWithinCohort: {policy: LowerPriority, maxPriorityThreshold: 100}}
  resourceGroups: []
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: Cohort
metadata: {name: org}
spec: {parentName: root, fairSharing: {weight: "2"}}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: LocalQueue
metadata: {name: lq, namespace: team-a}
spec: {clusterQueue: cq}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: spot}
spec:
  nodeLabels: {karpenter.sh/capacity-type: spot}
  nodeTaints: [{key: spot, value: "true", effect: NoSchedule}]
  topologyName: default
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: WorkloadPriorityClass
metadata: {name: high}
value: 1000
)");
  ASSERT_EQ(m.cluster_queues.size(), 1u);
  EXPECT_EQ(m.cluster_queues[0].cohort, "org");
  EXPECT_FALSE(m.cluster_queues[0].namespace_selector);  // nil: no namespace may submit
  EXPECT_EQ(*m.cluster_queues[0].borrow_max_priority_threshold, 100);
  EXPECT_EQ(m.cohorts[0].parent, "root");
  EXPECT_EQ(m.cohorts[0].fair_sharing_weight.Value(), 2);
  EXPECT_EQ(m.local_queues[0].cluster_queue, "cq");
  EXPECT_EQ(m.resource_flavors[0].node_taints.size(), 1u);
  EXPECT_EQ(m.workload_priority_classes[0].value, 1000);
  EXPECT_EQ(m.resource_flavors[0].topology_name, "default");
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

// Topology (apis/kueue/v1beta1/topology_types.go): levels highest first, 1 to 16, unique,
// hostname only as the lowest; a flavor with a topology needs nodeLabels (the CRD's CEL).
TEST(KueueDecode, TopologyAsItsCrdValidates) {
  auto m = DecodeKueue(R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: Topology
metadata: {name: default}
spec:
  levels:
  - nodeLabel: cloud.google.com/gce-topology-block
  - nodeLabel: cloud.google.com/gce-topology-subblock
  - nodeLabel: kubernetes.io/hostname
)");
  ASSERT_EQ(m.topologies.size(), 1u);
  EXPECT_EQ(m.topologies[0].levels,
            (std::vector<std::string>{"cloud.google.com/gce-topology-block",
                                      "cloud.google.com/gce-topology-subblock",
                                      "kubernetes.io/hostname"}));
  auto topo = [](const std::string& levels) {
    return "apiVersion: kueue.x-k8s.io/v1beta1\nkind: Topology\nmetadata: {name: t}\nspec:\n"
           "  levels:\n" +
           levels;
  };
  EXPECT_THAT(KueueErrorOf(topo("  - nodeLabel: kubernetes.io/hostname\n  - nodeLabel: rack\n")),
              HasSubstr("spec.levels: Invalid value: the kubernetes.io/hostname label "
                        "can only be used at the lowest level of topology"));
  EXPECT_THAT(KueueErrorOf(topo("  - nodeLabel: rack\n  - nodeLabel: rack\n")),
              HasSubstr("spec.levels: Invalid value: must be unique"));
  EXPECT_THAT(KueueErrorOf(topo("  []\n")), HasSubstr("spec.levels: Required value"));
  EXPECT_THAT(KueueErrorOf(R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: tas}
spec: {topologyName: default}
)"),
              HasSubstr("kueue.yaml:4: spec.nodeLabels: Invalid value: at least one nodeLabel is "
                        "required when topology is set"));
}

TEST(KueueDecode, WebhookRules) {
  std::string cq = kCq;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = cq;
    s.replace(s.find(from), from.size(), to);
    return KueueErrorOf(s);
  };
  // A flavor lists exactly the covered resources, in order.
  EXPECT_THAT(
      with(
          "      - {name: cpu, nominalQuota: 32}\n      - {name: nvidia.com/gpu, nominalQuota: 0}",
          "      - {name: nvidia.com/gpu, nominalQuota: 0}\n      - {name: cpu, nominalQuota: 32}"),
      HasSubstr(
          "kueue.yaml:17: spec.resourceGroups[0].flavors[1].resources[0].name: Invalid value: "
          "\"nvidia.com/gpu\": must match the name in coveredResources (\"cpu\")"));
  EXPECT_THAT(with("      - {name: nvidia.com/gpu, nominalQuota: 0}\n", ""),
              HasSubstr("must have the same number of resources as coveredResources"));
  // Limits need a cohort.
  EXPECT_THAT(with("  cohort: research\n", ""),
              HasSubstr("borrowingLimit: Invalid value: must be nil when cohort is empty"));
  EXPECT_THAT(with("nominalQuota: 64}", "nominalQuota: lots}"),
              HasSubstr("\"lots\" is not a quantity"));
  EXPECT_THAT(with("nominalQuota: 64}", "nominalQuota: -1}"),
              HasSubstr("must be greater than or equal to 0"));
  EXPECT_THAT(with("  flavorFungibility: {whenCanBorrow: Borrow, whenCanPreempt: Preempt}",
                   "  flavorFungibility: {preference: PreemptionOverBorrowing}"),
              HasSubstr("preference is only allowed when"));
  EXPECT_THAT(with("  namespaceSelector: {}",
                   "  preemption: {borrowWithinCohort: {policy: LowerPriority}}"),
              HasSubstr("reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never"));
  // A resource or a flavor in two resource groups.
  std::string two =
      std::string(kCq) +
      "  - coveredResources: [nvidia.com/gpu]\n    flavors:\n    - name: l4\n      resources:\n"
      "      - {name: nvidia.com/gpu, nominalQuota: 4}\n";
  EXPECT_THAT(
      KueueErrorOf(two),
      HasSubstr("Duplicate value: \"nvidia.com/gpu\": a resource may be covered by only one"));
  std::string many =
      "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ClusterQueue\nmetadata: {name: x}\nspec:\n  "
      "resourceGroups:\n";
  for (int i = 0; i < 17; ++i) {
    many += "  - coveredResources: [r" + std::to_string(i) + "]\n    flavors: [{name: f" +
            std::to_string(i) + ", resources: [{name: r" + std::to_string(i) +
            ", nominalQuota: 1}]}]\n";
  }
  EXPECT_THAT(KueueErrorOf(many), HasSubstr("Too many: 17: must have at most 16 items"));
  EXPECT_THAT(
      KueueErrorOf(
          "apiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata: {name: q}\nspec: {}\n"),
      HasSubstr("spec.clusterQueue: Required value"));
}

}  // namespace
}  // namespace gputwin::api
