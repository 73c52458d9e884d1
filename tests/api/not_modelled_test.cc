// The table of fields the twin understands but does not model: a manifest using one is
// warned with file:line and field, and docs/not-modelled.md lists every entry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/manifests.h"
#include "api/not_modelled.h"

namespace gputwin::api {
namespace {

using ::testing::HasSubstr;

TEST(NotModelled, FieldsInTheTableAreWarnedWithWhatUpstreamDoes) {
  // A Job with podReplacementPolicy and a RuntimeClass (Kata or gVisor sandboxes add
  // overhead): both change what the cluster does, neither is modelled.
  Manifests m;
  DecodeYaml(R"(apiVersion: batch/v1
kind: Job
metadata: {name: sandboxed}
spec:
  completions: 12
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      runtimeClassName: kata-qemu
      containers:
      - name: main
        image: docker.io/library/bash:5
  podReplacementPolicy: Failed
)",
             "job.yaml", &m);
  ASSERT_EQ(m.diagnostics.warnings.size(), 2u);
  EXPECT_THAT(m.diagnostics.warnings[0],
              HasSubstr("job.yaml:10: spec.template.spec.runtimeClassName: not modelled: upstream "
                        "the RuntimeClass's overhead is added"));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("job.yaml:14: spec.podReplacementPolicy: not modelled: upstream Failed: "
                        "a replacement pod is created only once the old one has fully terminated"));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("the twin: replacement pods are created as soon as a pod fails"));
}

TEST(NotModelled, TheDocListsEveryField) {
  std::ifstream in(std::string(GPUTWIN_SOURCE_DIR) + "/docs/not-modelled.md");
  std::stringstream doc;
  doc << in.rdbuf();
  for (const auto& f : NotModelledFields()) {
    EXPECT_THAT(doc.str(), HasSubstr(std::string("| ") + f.kind + " | `" + f.path + "` | " +
                                     f.upstream + " | " + f.twin + " |"))
        << f.kind << " " << f.path;
  }
}

TEST(NotModelled, TheDocListsEveryKind) {
  std::ifstream in(std::string(GPUTWIN_SOURCE_DIR) + "/docs/not-modelled.md");
  std::stringstream doc;
  doc << in.rdbuf();
  for (const auto& k : NotModelledKinds()) {
    const std::string group = *k.group ? k.group : "core";
    const std::string row =
        k.twin ? "| " + group + " | " + k.kind + " | " + k.upstream + " | " + k.twin + " |"
               : "| " + group + " | " + k.kind + " | — | read, kept for lint |";
    EXPECT_THAT(doc.str(), HasSubstr(row)) << k.kind;
  }
}

TEST(NotModelled, KindsAreWarnedOrKeptByGroup) {
  // Kueue's provisioning example (site/static/examples/provisioning/provisioning-setup.yaml,
  // shortened): the AdmissionCheck changes admission, the Secret changes nothing.
  Manifests m;
  DecodeYaml(R"(apiVersion: kueue.x-k8s.io/v1beta2
kind: AdmissionCheck
metadata: {name: dws-prov}
spec:
  controllerName: kueue.x-k8s.io/provisioning-request
---
apiVersion: v1
kind: Secret
metadata: {name: hf-token, namespace: serving}
stringData: {token: x}
---
apiVersion: example.com/v1
kind: AdmissionCheck
metadata: {name: other}
)",
             "checks.yaml", &m);
  ASSERT_EQ(m.diagnostics.warnings.size(), 2u);
  EXPECT_THAT(m.diagnostics.warnings[0],
              HasSubstr("checks.yaml:1: AdmissionCheck (kueue.x-k8s.io/v1beta2) is not modelled: "
                        "upstream workloads of ClusterQueues that list it wait"));
  // Same kind name, another group: unknown.
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("checks.yaml:12: unknown kind \"AdmissionCheck\" (example.com/v1)"));
  ASSERT_EQ(m.kept_objects.size(), 1u);
  EXPECT_EQ(m.kept_objects[0].name, "hf-token");
  EXPECT_EQ(m.kept_objects[0].namespace_, "serving");
  EXPECT_EQ(m.ObjectCount(), 1u);
}

TEST(NotModelled, KedaOnesApiIsAnErrorThatSaysWhatToWrite) {
  // kedacore/keda examples/prometheus_scaledobject.yaml (KEDA 1.x).
  Manifests m;
  try {
    DecodeYaml(R"(apiVersion: keda.k8s.io/v1alpha1
kind: ScaledObject
metadata: {name: prometheus-scaledobject}
spec:
  scaleTargetRef: {deploymentName: my-deployment}
)",
               "keda.yaml", &m);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("keda.yaml:1: apiVersion: Invalid value: \"keda.k8s.io/v1alpha1\": "
                          "KEDA 1.x's API, removed in KEDA 2.0"));
  }
}

TEST(NotModelled, Ec2NodeClassFieldsOfKarpenterV1AreKnown) {
  // Karpenter v1 (pkg/apis/v1/ec2nodeclass.go): volumeInitializationRate is 100-300 MiB/s
  // and needs a snapshotID (the CRD's CEL rule); nestedVirtualization filters types.
  const std::string head = R"(apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: KarpenterNodeRole
  cpuOptions: {nestedVirtualization: enabled}
  blockDeviceMappings:
  - deviceName: /dev/xvda
    rootVolume: true
)";
  Manifests ok;
  DecodeYaml(
      head + "    ebs: {volumeSize: 100Gi, snapshotID: snap-0abc, volumeInitializationRate: 300}\n",
      "nc.yaml", &ok);
  ASSERT_EQ(ok.diagnostics.warnings.size(), 1u);
  EXPECT_THAT(ok.diagnostics.warnings[0],
              HasSubstr("nc.yaml:7: spec.cpuOptions.nestedVirtualization: not modelled"));
  for (const char* bad : {"    ebs: {volumeSize: 100Gi, volumeInitializationRate: 200}\n",
                          "    ebs: {snapshotID: snap-0abc, volumeInitializationRate: 50}\n"}) {
    Manifests m;
    try {
      DecodeYaml(head + bad, "nc.yaml", &m);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const InputError& e) {
      EXPECT_THAT(
          std::string(e.what()),
          HasSubstr("nc.yaml:11: spec.blockDeviceMappings[0].ebs.volumeInitializationRate"));
    }
  }
}

}  // namespace
}  // namespace gputwin::api
