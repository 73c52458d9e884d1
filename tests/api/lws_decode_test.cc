// LeaderWorkerSet as its webhook defaults and validates it (kubernetes-sigs/lws v0.7,
// pkg/webhooks/leaderworkerset_webhook.go: Default and generalValidate, with its messages);
// bad input names file, line and field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"

namespace gputwin::api {
namespace {

using ::testing::HasSubstr;

std::string LwsErrorOf(const std::string& yaml) {
  try {
    Manifests m;
    DecodeYaml(yaml, "lws.yaml", &m);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string Lws(const std::string& name, const std::string& spec) {
  return "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata: {name: " +
         name + "}\nspec:\n" + spec;
}

constexpr const char* kWorker = R"(    workerTemplate:
      spec:
        containers: [{name: c, image: vllm/vllm-openai}]
)";

TEST(LeaderWorkerSetDecode, WebhookDefaults) {
  Manifests m;
  DecodeYaml(Lws("vllm", "  leaderWorkerTemplate:\n" + std::string(kWorker)), "lws.yaml", &m);
  ASSERT_EQ(m.leader_worker_sets.size(), 1u);
  const auto& l = m.leader_worker_sets[0];
  // CRD defaults replicas 1, size 1; the webhook: RecreateGroupOnPodRestart, RollingUpdate
  // with maxUnavailable 1 and maxSurge 0, subdomainPolicy Shared; startupPolicy LeaderCreated.
  EXPECT_EQ(l.replicas, 1);
  EXPECT_EQ(l.size, 1);
  EXPECT_EQ(l.restart_policy, "RecreateGroupOnPodRestart");
  EXPECT_EQ(l.startup_policy, "LeaderCreated");
  EXPECT_EQ(l.subdomain_policy, "Shared");
  EXPECT_EQ(l.max_unavailable, "1");
  EXPECT_EQ(l.max_surge, "0");
  EXPECT_FALSE(l.leader_template.has_value());
  EXPECT_EQ(&l.LeaderTemplate(), &l.worker_template);
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

TEST(LeaderWorkerSetDecode, DeprecatedDefaultRestartPolicyIsNone) {
  Manifests m;
  DecodeYaml(
      Lws("x", "  leaderWorkerTemplate:\n    restartPolicy: Default\n" + std::string(kWorker)),
      "lws.yaml", &m);
  EXPECT_EQ(m.leader_worker_sets[0].restart_policy, "None");
}

TEST(LeaderWorkerSetDecode, BadInputNamesLineAndField) {
  // The webhook's own wording.
  EXPECT_THAT(
      LwsErrorOf(Lws("x", "  replicas: -1\n  leaderWorkerTemplate:\n" + std::string(kWorker))),
      HasSubstr("lws.yaml:5: spec.replicas: replicas must be equal or greater than 0"));
  EXPECT_THAT(
      LwsErrorOf(Lws("x", "  leaderWorkerTemplate:\n    size: 0\n" + std::string(kWorker))),
      HasSubstr(
          "lws.yaml:6: spec.leaderWorkerTemplate.size: size must be equal or greater than 1"));
  EXPECT_THAT(LwsErrorOf(Lws("x", "  replicas: 1000\n  leaderWorkerTemplate:\n    size: 3000000\n" +
                                      std::string(kWorker))),
              HasSubstr("the product of replicas and worker replicas must not exceed 2147483647"));
  // Its name is its Service's: a DNS-1035 label (no leading digit).
  EXPECT_THAT(LwsErrorOf(Lws("1vllm", "  leaderWorkerTemplate:\n" + std::string(kWorker))),
              HasSubstr("metadata.name: Invalid value: \"1vllm\": a DNS-1035 label"));
  // A worker template without containers.
  EXPECT_THAT(
      LwsErrorOf(Lws("x", "  leaderWorkerTemplate:\n    workerTemplate:\n      spec: {}\n")),
      HasSubstr("lws.yaml:7: spec.leaderWorkerTemplate.workerTemplate.spec.containers: "
                "Required value"));
  EXPECT_THAT(LwsErrorOf(Lws("x", "  leaderWorkerTemplate:\n    restartPolicy: Always\n" +
                                      std::string(kWorker))),
              HasSubstr("spec.leaderWorkerTemplate.restartPolicy: Unsupported value: \"Always\""));
  EXPECT_THAT(LwsErrorOf(Lws("x", "  startupPolicy: LeaderRunning\n  leaderWorkerTemplate:\n" +
                                      std::string(kWorker))),
              HasSubstr("spec.startupPolicy: Unsupported value: \"LeaderRunning\""));
  // Subgroups: size 4 is neither divisible by 3 nor is size-1.
  EXPECT_THAT(LwsErrorOf(Lws("x",
                             "  leaderWorkerTemplate:\n    size: 5\n    subGroupPolicy: "
                             "{subGroupSize: 3}\n" +
                                 std::string(kWorker))),
              HasSubstr("size or size - 1 must be divisible by subGroupSize"));
  // Both 0 after scaling: 10% of 2 groups rounds down to 0 for maxUnavailable.
  EXPECT_THAT(LwsErrorOf(Lws("x",
                             "  replicas: 2\n  rolloutStrategy:\n    rollingUpdateConfiguration: "
                             "{maxUnavailable: 10%, maxSurge: 0}\n  leaderWorkerTemplate:\n" +
                                 std::string(kWorker))),
              HasSubstr("must not be 0 when `maxSurge` is 0"));
  EXPECT_THAT(LwsErrorOf(Lws("x",
                             "  rolloutStrategy:\n    rollingUpdateConfiguration: "
                             "{maxSurge: 120%}\n  leaderWorkerTemplate:\n" +
                                 std::string(kWorker))),
              HasSubstr("must not be greater than 100%"));
}

}  // namespace
}  // namespace gputwin::api
