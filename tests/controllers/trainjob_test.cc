// The TrainJob controller (kubeflow/trainer v2.3 pkg/controller/trainjob_controller.go):
// what it does with a JobSet the JobSet webhook refuses, and its status conditions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

using ::testing::HasSubstr;

constexpr const char* kRuntime = R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: ClusterTrainingRuntime
metadata: {name: torch-distributed}
spec:
  mlPolicy: {numNodes: 1, torch: {}}
  template:
    spec:
      replicatedJobs:
      - name: node
        template:
          metadata: {labels: {trainer.kubeflow.org/trainjob-ancestor-step: trainer}}
          spec:
            template:
              spec:
                containers: [{name: node, image: "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"}]
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "64", memory: 256Gi}}
---
)";

std::unique_ptr<sim::Simulation> RunFor(const std::string& yaml, Duration d) {
  api::Manifests m;
  api::DecodeYaml(std::string(kRuntime) + yaml, "tj.yaml", &m);
  api::Scenario s;
  s.duration = d;
  auto sim = std::make_unique<sim::Simulation>(std::move(m), s);
  sim->Run();
  return sim;
}

TEST(TrainJobController, JobSetWebhookRefusesLongPodNames) {
  // A 55-character TrainJob name: Job "<name>-node-0" has 62 characters (allowed), but its
  // Indexed pods "<name>-node-0-1-xxxxx" would have 70. jobset_webhook.go ValidateCreate
  // refuses the JobSet (podNameTooLongErrorMsg at spec.replicatedJobs[0].name), the apply
  // fails and the controller records TrainJobResourcesCreationFailed; no JobSet, no pods.
  const std::string name(55, 'a');
  auto sim =
      RunFor("apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: " + name +
                 "}\nspec:\n  runtimeRef: {name: torch-distributed}\n"
                 "  trainer: {numNodes: 2}\n",
             Duration::Minutes(1));
  const auto& tj = sim->store().train_jobs().at(0);
  EXPECT_EQ(tj.job_set, cluster::kNone);
  EXPECT_TRUE(sim->store().job_sets().empty());
  EXPECT_EQ(sim->store().pod_count(), 0u);
  bool found = false;
  for (const auto& e : sim->store().events()) {
    if (e.reason != "TrainJobResourcesCreationFailed") continue;
    found = true;
    EXPECT_EQ(e.type, "Warning");
    EXPECT_EQ(e.kind, "TrainJob");
    EXPECT_THAT(e.message,
                HasSubstr("TrainJob resources reconciliation failed: admission webhook "
                          "\"vjobset.kb.io\" denied the request: spec.replicatedJobs[0].name: "
                          "Invalid value: \"" +
                          name +
                          "-node-0\": JobSet name is too long, pod names generated for this "
                          "JobSet will exceed 63 characters"));
  }
  EXPECT_TRUE(found);
  // setSuspendedCondition: never suspended, no condition at all (and no Created one).
  EXPECT_TRUE(tj.conditions.empty());
}

TEST(TrainJobController, SuspendedTrainJobKeepsItsJobSetSuspended) {
  // spec.suspend true without Kueue: the JobSet is created suspended (Build: Suspend(trainJob
  // .spec.suspend)) and nothing resumes it; Suspended True, reason Suspended, at creation.
  auto sim = RunFor(R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: held}
spec:
  runtimeRef: {name: torch-distributed}
  suspend: true
  trainer: {numNodes: 2}
)",
                    Duration::Minutes(10));
  const auto& tj = sim->store().train_jobs().at(0);
  ASSERT_NE(tj.job_set, cluster::kNone);
  EXPECT_TRUE(sim->store().job_sets()[tj.job_set].obj.suspend);
  ASSERT_EQ(tj.conditions.size(), 1u);
  EXPECT_EQ(tj.conditions[0].type, "Suspended");
  EXPECT_EQ(tj.conditions[0].status, "True");
  EXPECT_EQ(tj.conditions[0].reason, "Suspended");
  EXPECT_EQ(tj.conditions[0].message, "TrainJob is suspended");
  for (cluster::PodId p = 0; p < sim->store().pod_count(); ++p) {
    EXPECT_TRUE(sim->store().pod(p).deleted);
  }
}

}  // namespace
}  // namespace gputwin
