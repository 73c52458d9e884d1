// Workloads for Jobs as Kueue builds them (pkg/controller/jobs/job/job_controller.go
// PodSets; pkg/controller/jobframework ExtractPriority; resourcehelpers.PodRequests).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kueue/workload.h"

namespace gputwin::kueue {
namespace {

api::Manifests Decode(const std::string& yaml) {
  api::Manifests m;
  api::DecodeYaml(yaml, "jobs.yaml", &m);
  return m;
}

const char* kJob = R"(apiVersion: batch/v1
kind: Job
metadata:
  name: train
  namespace: team-a
  labels: {kueue.x-k8s.io/queue-name: gpu-queue}
spec:
  parallelism: 4
  completions: 8
  template:
    spec:
      restartPolicy: Never
      priorityClassName: batch
      initContainers:
      - {name: fetch, resources: {requests: {cpu: "6"}}}
      containers:
      - {name: a, resources: {requests: {cpu: "2", memory: 8Gi}, limits: {nvidia.com/gpu: 2}}}
      - {name: b, resources: {requests: {cpu: "1"}}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: batch}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: fallback}
value: 7
globalDefault: true
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: urgent}
value: 5000
)";

TEST(KueueWorkload, PodSetAndRequests) {
  auto m = Decode(kJob);
  auto w = WorkloadForJob(m.jobs[0], m);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->queue_name, "gpu-queue");
  ASSERT_EQ(w->pod_sets.size(), 1u);
  EXPECT_EQ(w->pod_sets[0].name, "main");
  EXPECT_EQ(w->pod_sets[0].count, 4);  // parallelism (≤ completions)
  // cpu: max(2 + 1, init 6) = 6; GPU from the limit; memory 8Gi.
  EXPECT_EQ(w->pod_sets[0].requests.at("cpu").milli, 6000);
  EXPECT_EQ(w->pod_sets[0].requests.at("nvidia.com/gpu").Value(), 2);
  EXPECT_EQ(w->pod_sets[0].requests.at("memory").Value(), 8LL << 30);
  // The pod template's PriorityClass.
  EXPECT_EQ(w->priority, 100);
  EXPECT_EQ(w->priority_class_source, "scheduling.k8s.io/priorityclass");
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(KueueWorkload, PriorityResolutionOrder) {
  std::string yaml = kJob;
  // 1. The WorkloadPriorityClass label wins.
  std::string with_wpc =
      Replace(yaml, "labels: {", "labels: {kueue.x-k8s.io/priority-class: urgent, ");
  auto m = Decode(with_wpc);
  auto w = WorkloadForJob(m.jobs[0], m);
  EXPECT_EQ(w->priority, 5000);
  EXPECT_EQ(w->priority_class_source, "kueue.x-k8s.io/workloadpriorityclass");
  // 3. No class on the template: the global default.
  std::string no_pc = Replace(yaml, "      priorityClassName: batch\n", "");
  m = Decode(no_pc);
  EXPECT_EQ(WorkloadForJob(m.jobs[0], m)->priority, 7);
  // A missing WorkloadPriorityClass is an error.
  std::string missing =
      Replace(yaml, "labels: {", "labels: {kueue.x-k8s.io/priority-class: nope, ");
  m = Decode(missing);
  EXPECT_THROW(WorkloadForJob(m.jobs[0], m), InputError);
  // No queue-name label: Kueue leaves the Job alone.
  std::string unlabelled = Replace(yaml, "  labels: {kueue.x-k8s.io/queue-name: gpu-queue}\n", "");
  m = Decode(unlabelled);
  EXPECT_FALSE(WorkloadForJob(m.jobs[0], m));
}

}  // namespace
}  // namespace gputwin::kueue
