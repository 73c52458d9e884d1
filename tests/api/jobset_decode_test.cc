// JobSet as the JobSet webhook defaults and validates it (kubernetes-sigs/jobset
// pkg/webhooks/jobset_webhook.go, the CRD's enums and CEL rules); bad input names file,
// line and field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"

namespace gputwin::api {
namespace {

using ::testing::HasSubstr;

std::string JobSetErrorOf(const std::string& yaml) {
  try {
    Manifests m;
    DecodeYaml(yaml, "js.yaml", &m);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

constexpr const char* kHead = R"(apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: train}
spec:
)";

TEST(JobSetDecode, WebhookDefaults) {
  Manifests m;
  DecodeYaml(std::string(kHead) + R"(  replicatedJobs:
  - name: workers
    template:
      spec:
        template:
          spec:
            containers: [{name: c}]
)",
             "js.yaml", &m);
  ASSERT_EQ(m.job_sets.size(), 1u);
  const auto& js = m.job_sets[0];
  // Success policy All; no failure policy; AnyOrder; replicas 1; group "default"; the Job
  // template Indexed with the Job's own default of one completion; pods OnFailure.
  EXPECT_EQ(js.success_operator, "All");
  EXPECT_FALSE(js.failure_policy);
  EXPECT_EQ(js.startup_policy_order, "AnyOrder");
  EXPECT_EQ(js.subdomain, "train");
  const auto& rj = js.replicated_jobs[0];
  EXPECT_EQ(rj.replicas, 1);
  EXPECT_EQ(rj.group_name, "default");
  EXPECT_EQ(rj.template_.completion_mode, "Indexed");
  EXPECT_EQ(rj.template_.completions, 1);
  EXPECT_EQ(rj.template_.template_->spec.restart_policy, "OnFailure");
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

TEST(JobSetDecode, BadInputNamesLineAndField) {
  const std::string rjob = R"(  replicatedJobs:
  - name: w
    template:
      spec:
        template:
          spec:
            containers: [{name: c}]
)";
  // A rule action outside the CRD's enum.
  EXPECT_THAT(JobSetErrorOf(std::string(kHead) + rjob + R"(  failurePolicy:
    rules: [{action: RestartEverything}]
)"),
              HasSubstr("js.yaml:13: spec.failurePolicy.rules[0].action: Unsupported value: "
                        "\"RestartEverything\""));
  // A target that is no replicatedJob.
  EXPECT_THAT(JobSetErrorOf(std::string(kHead) + rjob +
                            R"(  successPolicy: {operator: All, targetReplicatedJobs: [driver]}
)"),
              HasSubstr("spec.successPolicy.targetReplicatedJobs: Invalid value: \"driver\""));
  // An unknown Job failure reason.
  EXPECT_THAT(JobSetErrorOf(std::string(kHead) + rjob + R"(  failurePolicy:
    rules: [{action: FailJobSet, onJobFailureReasons: [OOMKilled]}]
)"),
              HasSubstr("onJobFailureReasons: Unsupported value: \"OOMKilled\""));
  // Two replicatedJobs of one name.
  EXPECT_THAT(JobSetErrorOf(std::string(kHead) + rjob + R"(  - name: w
    template: {spec: {template: {spec: {containers: [{name: c}]}}}}
)"),
              HasSubstr("spec.replicatedJobs[1].name: Duplicate value: \"w\""));
  // Indexed (the default) with parallelism but no completions: the child Job is invalid.
  EXPECT_THAT(JobSetErrorOf(std::string(kHead) + R"(  replicatedJobs:
  - name: w
    template:
      spec:
        parallelism: 4
        template: {spec: {containers: [{name: c}]}}
)"),
              HasSubstr("completions: Required value: when completion mode is Indexed"));
  // The CEL rule: startupPolicy InOrder and dependsOn are mutually exclusive.
  EXPECT_THAT(JobSetErrorOf(std::string(kHead) + rjob + R"(  - name: v
    dependsOn: [{name: w, status: Ready}]
    template: {spec: {template: {spec: {containers: [{name: c}]}}}}
  startupPolicy: {startupPolicyOrder: InOrder}
)"),
              HasSubstr("mutually exclusive"));
}

}  // namespace
}  // namespace gputwin::api

namespace gputwin::api {
namespace {

// PyTorchJob as the training operator's validating webhook checks it (v1.9,
// pkg/webhooks/pytorch/pytorchjob_webhook.go): no mutating webhook, so Master must say
// replicas: 1 itself, and only "Master" and "Worker" are replica types.
TEST(PyTorchJobDecode, WebhookRules) {
  auto job = [](const std::string& replicas) {
    return "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: t}\nspec:\n"
           "  pytorchReplicaSpecs:\n" +
           replicas;
  };
  const std::string pytorch = "      template: {spec: {containers: [{name: pytorch, image: x}]}}\n";
  EXPECT_THAT(
      JobSetErrorOf(job("    Master:\n" + pytorch)),
      HasSubstr("js.yaml:7: spec.pytorchReplicaSpecs.Master.replicas: Forbidden: must be 1"));
  EXPECT_THAT(JobSetErrorOf(job("    worker:\n      replicas: 2\n" + pytorch)),
              HasSubstr("Unsupported value: \"worker\": supported values: \"Master\", \"Worker\""));
  EXPECT_THAT(JobSetErrorOf(
                  job("    Worker:\n      replicas: 2\n      template: {spec: {containers: [{name: "
                      "main, image: x}]}}\n")),
              HasSubstr("must have at least one container with name pytorch"));
  Manifests m;
  DecodeYaml(job("    Master:\n      replicas: 1\n" + pytorch + "    Worker:\n      replicas: 3\n" +
                 pytorch),
             "js.yaml", &m);
  ASSERT_EQ(m.pytorch_jobs.size(), 1u);
  const auto& pj = m.pytorch_jobs[0];
  // SetDefaults_PyTorchJob: restartPolicy OnFailure, cleanPodPolicy None.
  EXPECT_EQ(pj.clean_pod_policy, "None");
  ASSERT_EQ(pj.replica_specs.size(), 2u);
  EXPECT_EQ(pj.replica_specs[1].replicas, 3);
  EXPECT_EQ(pj.replica_specs[1].restart_policy, "OnFailure");
  EXPECT_EQ(pj.replica_specs[1].template_.spec.restart_policy, "OnFailure");
}

}  // namespace
}  // namespace gputwin::api
