// Kueue's TrainJob integration (kueue pkg/controller/jobs/trainjob, v0.19 and main) as the
// store sees it: admission writes the flavor into Kueue's own runtime patch
// (RunWithPodSetsInfo: per PodSet the podset label, the flavor's node labels and
// tolerations), which the trainer carries into the JobSet it rebuilds on the resume edge;
// eviction suspends the TrainJob and, once no Job is active, clears the patch
// (RestorePodSetsInfo), and the suspended JobSet is rebuilt from the runtime alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim/simulation.h"

namespace gputwin {
namespace {

constexpr const char* kTrainJobScenario = R"(apiVersion: gputwin.io/v1alpha1
kind: Scenario
metadata: {name: trainjob-flavors}
spec:
  duration: 2h
  actions:
  - {at: 20m, patch: workload/default/trainjob-t, spec: {active: false}}
---
apiVersion: config.kueue.x-k8s.io/v1beta1
kind: Configuration
integrations:
  frameworks: [trainer.kubeflow.org/trainjob]
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: pool-a}
spec:
  nodeLabels: {pool: a}
  tolerations: [{key: dedicated, operator: Equal, value: train, effect: NoSchedule}]
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: train}
spec:
  namespaceSelector: {}
  resourceGroups:
  - coveredResources: [cpu]
    flavors: [{name: pool-a, resources: [{name: cpu, nominalQuota: 4}]}]
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: train}
spec: {clusterQueue: train}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {pool: a}}
spec:
  taints: [{key: dedicated, value: train, effect: NoSchedule}]
status: {allocatable: {cpu: "64", memory: 256Gi}}
---
apiVersion: trainer.kubeflow.org/v1alpha1
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
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata:
  name: t
  labels: {kueue.x-k8s.io/queue-name: train}
  annotations: {gputwin.io/run-time: 1h}
spec:
  runtimeRef: {name: torch-distributed}
  trainer:
    numNodes: 2
    resourcesPerNode: {requests: {cpu: "2"}}
)";

std::unique_ptr<sim::Simulation> RunScenarioUntil(Duration until) {
  const auto path = std::filesystem::temp_directory_path() / "gputwin-trainjob-flavors.yaml";
  std::ofstream(path) << kTrainJobScenario;
  auto s = sim::LoadScenario(path.string(), std::nullopt, until);
  s->Run();
  return s;
}

const api::RuntimePatch* KueuePatch(const api::TrainJob& tj) {
  for (const auto& p : tj.runtime_patches) {
    if (p.manager == "kueue.x-k8s.io/manager") return &p;
  }
  return nullptr;
}

TEST(KueueTrainJob, AdmissionWritesTheFlavorIntoItsRuntimePatch) {
  auto s = RunScenarioUntil(Duration::Minutes(10));
  ASSERT_EQ(s->store().train_jobs().size(), 1u);
  const auto& tj = s->store().train_jobs()[0];
  EXPECT_FALSE(tj.obj.suspend);
  // The webhook appended the patch; admission filled it for PodSet "node".
  const api::RuntimePatch* patch = KueuePatch(tj.obj);
  ASSERT_NE(patch, nullptr);
  ASSERT_EQ(patch->replicated_jobs.size(), 1u);
  const auto& rj = patch->replicated_jobs[0];
  EXPECT_EQ(rj.name, "node");
  EXPECT_EQ(rj.labels.at("kueue.x-k8s.io/podset"), "node");
  EXPECT_EQ(rj.node_selector.at("pool"), "a");
  ASSERT_TRUE(rj.tolerations.has_value());
  ASSERT_EQ(rj.tolerations->size(), 1u);
  EXPECT_EQ(rj.tolerations->at(0).key, "dedicated");
  // The trainer rebuilt its JobSet with it and resumed it; the pods fit n1 only so.
  ASSERT_NE(tj.job_set, cluster::kNone);
  const auto& js = s->store().job_sets()[tj.job_set].obj;
  EXPECT_FALSE(js.suspend);
  const auto& spec = js.replicated_jobs[0].template_.template_->spec;
  EXPECT_EQ(spec.node_selector.at("pool"), "a");
  ASSERT_EQ(spec.tolerations.size(), 1u);
  int running = 0;
  for (cluster::PodId p = 0; p < s->store().pod_count(); ++p) {
    running += s->store().pod(p).phase == cluster::PodPhase::kRunning ? 1 : 0;
  }
  EXPECT_EQ(running, 2);
}

TEST(KueueTrainJob, EvictionSuspendsAndRestoresThePatch) {
  // Deactivated at 20m: Stop suspends the TrainJob; once its Jobs are inactive (the twin's
  // pods leave at once) the patch is cleared and the quota released.
  auto s = RunScenarioUntil(Duration::Minutes(30));
  const auto& tj = s->store().train_jobs()[0];
  EXPECT_TRUE(tj.obj.suspend);
  const api::RuntimePatch* patch = KueuePatch(tj.obj);
  ASSERT_NE(patch, nullptr);
  EXPECT_TRUE(patch->replicated_jobs.empty());
  const auto& js = s->store().job_sets()[tj.job_set].obj;
  EXPECT_TRUE(js.suspend);
  // Rebuilt while suspended, from the runtime alone: no flavor in its template.
  EXPECT_TRUE(js.replicated_jobs[0].template_.template_->spec.node_selector.empty());
  EXPECT_TRUE(tj.IsTrue("Suspended"));
  for (cluster::PodId p = 0; p < s->store().pod_count(); ++p) {
    EXPECT_TRUE(s->store().pod(p).deleted || s->store().pod(p).Terminal());
  }
}

}  // namespace
}  // namespace gputwin
