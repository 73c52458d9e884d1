// Kubeflow Trainer v2.3 (trainer.kubeflow.org/v1alpha1): ClusterTrainingRuntime,
// TrainingRuntime and TrainJob as their CRDs default them and their webhooks validate them,
// and the JobSet the trainer builds from them (pkg/runtime/core/trainingruntime.go, the
// torch, mpi and jobset plugins). The upstream runtimes and examples are kept byte for byte
// in tests/realworld/kubeflow (sources in tests/realworld/cases.yaml); every expected value
// below is derived from upstream's code or docs, as each comment says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "controllers/trainjob_builder.h"
#include "kueue/workload.h"
#include "sim/simulation.h"

namespace gputwin::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const std::string kDir = std::string(GPUTWIN_SOURCE_DIR) + "/tests/realworld/kubeflow/";

Manifests Load(std::initializer_list<const char*> files) {
  Manifests m;
  for (const char* f : files) LoadPath(kDir + f, &m);
  return m;
}

std::string TrainJobErrorOf(const std::string& yaml) {
  try {
    Manifests m;
    DecodeYaml(yaml, "tj.yaml", &m);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// What the run's checks say (sim/validate.cc: the TrainJob webhook's checks that need the
// runtime).
std::string RunErrorOf(const std::string& yaml) {
  try {
    Manifests m;
    DecodeYaml(yaml, "tj.yaml", &m);
    Scenario s;
    s.duration = Duration::Minutes(1);
    sim::Simulation run(std::move(m), s);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::optional<std::string> Env(const Container& c, const std::string& name) {
  for (const auto& [k, v] : c.env) {
    if (k == name) return v;
  }
  return std::nullopt;
}

constexpr const char* kRuntime = R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: ClusterTrainingRuntime
metadata: {name: rt}
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
                containers:
                - name: node
                  image: example.com/train:1
                  resources:
                    requests: {cpu: "1"}
                    limits: {nvidia.com/gpu: "2"}
---
)";

TEST(TrainJobDecode, UpstreamTorchDistributedRuntime) {
  // manifests/base/runtimes/torch_distributed.yaml@v2.3.0: mlPolicy numNodes 1, torch; one
  // replicatedJob "node" (the trainer ancestor) with container "node".
  Manifests m = Load({"runtime-torch-distributed.yaml"});
  ASSERT_EQ(m.training_runtimes.size(), 1u);
  const auto& rt = m.training_runtimes[0];
  EXPECT_TRUE(rt.cluster_scoped);
  EXPECT_EQ(rt.metadata.name, "torch-distributed");
  EXPECT_EQ(rt.metadata.namespace_, "");
  EXPECT_TRUE(rt.ml_policy);
  EXPECT_EQ(rt.num_nodes, 1);
  EXPECT_EQ(rt.framework, "torch");
  ASSERT_EQ(rt.template_.replicated_jobs.size(), 1u);
  const auto& rj = rt.template_.replicated_jobs[0];
  EXPECT_EQ(rj.name, "node");
  EXPECT_EQ(rj.replicas, 1);
  // The JobSet webhook's defaults apply when the JobSet is created (jobset_webhook.go):
  // Indexed Jobs, pods OnFailure, success policy All.
  EXPECT_EQ(rj.template_.completion_mode, "Indexed");
  EXPECT_EQ(rj.template_.template_->spec.restart_policy, "OnFailure");
  EXPECT_EQ(rt.template_.success_operator, "All");
  EXPECT_EQ(rj.template_.template_->spec.containers.at(0).image,
            "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime");
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

TEST(TrainJobDecode, UpstreamMultiNodeExampleBuildsItsJobSet) {
  // examples/yaml/01-multi-node.yaml@v2.3.0 on torch-distributed: numNodes 3 and a torchrun
  // command, no resources.
  Manifests m = Load({"runtime-torch-distributed.yaml", "trainjob-01-multi-node.yaml"});
  ASSERT_EQ(m.train_jobs.size(), 1u);
  const auto& tj = m.train_jobs[0];
  EXPECT_EQ(tj.metadata.name, "multi-node-example");
  EXPECT_EQ(tj.metadata.namespace_, "default");
  EXPECT_EQ(tj.runtime_name, "torch-distributed");
  EXPECT_EQ(tj.runtime_kind, "ClusterTrainingRuntime");
  EXPECT_EQ(tj.runtime_api_group, "trainer.kubeflow.org");
  EXPECT_TRUE(tj.trainer);
  EXPECT_EQ(tj.num_nodes, 3);
  // CRD defaults: suspend false, managedBy the trainer's controller.
  EXPECT_FALSE(tj.suspend);
  EXPECT_EQ(tj.managed_by, "trainer.kubeflow.org/trainjob-controller");
  EXPECT_TRUE(m.diagnostics.warnings.empty());

  const auto build = controllers::BuildTrainJobJobSet(tj, m.training_runtimes[0]);
  const JobSet& js = build.job_set;
  // jobset.go Build: the TrainJob's name and namespace, owned by it, suspend as it is.
  EXPECT_EQ(js.metadata.name, "multi-node-example");
  EXPECT_EQ(js.metadata.namespace_, "default");
  ASSERT_EQ(js.metadata.owner_references.size(), 1u);
  EXPECT_EQ(js.metadata.owner_references[0].kind, "TrainJob");
  EXPECT_TRUE(js.metadata.owner_references[0].controller);
  EXPECT_FALSE(js.suspend);
  EXPECT_EQ(js.subdomain, "multi-node-example");
  // One replicatedJob "node": replicas 1, parallelism = completions = numNodes 3
  // (torch.go: the trainer count is trainer.numNodes; SyncParallelCount).
  ASSERT_EQ(js.replicated_jobs.size(), 1u);
  const auto& rj = js.replicated_jobs[0];
  EXPECT_EQ(rj.replicas, 1);
  EXPECT_EQ(rj.template_.parallelism, 3);
  EXPECT_EQ(rj.template_.completions, 3);
  EXPECT_EQ(build.trainer_nodes, 3);
  const Container& node = rj.template_.template_->spec.containers.at(0);
  // The runtime's image; the TrainJob's command (builder.go Trainer).
  EXPECT_EQ(node.image, "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime");
  ASSERT_EQ(node.command.size(), 5u);  // torchrun --no-python python3 -c SCRIPT
  EXPECT_EQ(node.command[0], "torchrun");
  // PET_* (torch.go): 3 nodes; no GPU and no CPU resources: max(1, 0) = 1 process per
  // node; the master is the first pod of Job "node" under the TrainJob's subdomain.
  EXPECT_EQ(Env(node, "PET_NNODES"), "3");
  EXPECT_EQ(Env(node, "PET_NPROC_PER_NODE"), "1");
  EXPECT_EQ(Env(node, "PET_MASTER_ADDR"), "multi-node-example-node-0-0.multi-node-example");
  EXPECT_EQ(Env(node, "PET_MASTER_PORT"), "29500");
  EXPECT_THAT(node.env_names, ::testing::Contains("PET_NODE_RANK"));  // a fieldRef
}

TEST(TrainJobDecode, UpstreamKueueExampleAndItsWorkload) {
  // examples/yaml/03-kueue-integration.yaml@v2.3.0: queue training-queue, suspend true,
  // image python:3.11-slim, 3 nodes of requests cpu 2 / memory 4Gi, limits cpu 4 / 8Gi.
  Manifests m = Load({"runtime-torch-distributed.yaml", "trainjob-03-kueue-integration.yaml"});
  ASSERT_EQ(m.train_jobs.size(), 1u);
  const auto& tj = m.train_jobs[0];
  EXPECT_TRUE(tj.suspend);
  EXPECT_EQ(tj.metadata.labels.at("kueue.x-k8s.io/queue-name"), "training-queue");
  const auto build = controllers::BuildTrainJobJobSet(tj, m.training_runtimes[0]);
  EXPECT_TRUE(build.job_set.suspend);
  const Container& node = build.job_set.replicated_jobs[0].template_.template_->spec.containers[0];
  EXPECT_EQ(node.image, "python:3.11-slim");
  // resourcesPerNode merged over the runtime's container, which has none (v2.3).
  EXPECT_EQ(node.resources.requests.at("cpu"), Quantity{2000});
  EXPECT_EQ(node.resources.requests.at("memory").Value(), 4LL << 30);
  EXPECT_EQ(node.resources.limits.at("cpu"), Quantity{4000});
  // No GPU: the requested CPU, 2 processes per node.
  EXPECT_EQ(Env(node, "PET_NPROC_PER_NODE"), "2");
  // Kueue's Workload (jobs/trainjob PodSets through the JobSet integration): one PodSet
  // "node" of 3 pods with the per-pod requests.
  auto w = kueue::WorkloadForTrainJob(tj, m);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->name, "trainjob-kueue-example");
  EXPECT_EQ(w->queue_name, "training-queue");
  ASSERT_EQ(w->pod_sets.size(), 1u);
  EXPECT_EQ(w->pod_sets[0].name, "node");
  EXPECT_EQ(w->pod_sets[0].count, 3);
  EXPECT_EQ(w->pod_sets[0].requests.at("cpu"), Quantity{2000});
  EXPECT_EQ(w->pod_sets[0].requests.at("memory").Value(), 4LL << 30);
}

TEST(TrainJobDecode, UpstreamRuntimePatchesExample) {
  // examples/yaml/02-runtime-patches.yaml@v2.3.0: a user's patch of the JobSet's labels and
  // annotations and of the node pods' service account, node selector and tolerations.
  Manifests m = Load({"runtime-torch-distributed.yaml", "trainjob-02-runtime-patches.yaml"});
  const auto& tj = m.train_jobs.at(0);
  ASSERT_EQ(tj.runtime_patches.size(), 1u);
  EXPECT_EQ(tj.runtime_patches[0].manager, "example.io/platform-team");
  const JobSet js = controllers::BuildTrainJobJobSet(tj, m.training_runtimes[0]).job_set;
  // newRuntimeInfo: the patches' template metadata become the JobSet's labels/annotations.
  EXPECT_EQ(js.metadata.labels.at("team"), "ml-platform");
  EXPECT_EQ(js.metadata.labels.at("cost-center"), "research");
  EXPECT_EQ(js.metadata.annotations.at("prometheus.io/scrape"), "true");
  const auto& spec = js.replicated_jobs.at(0).template_.template_->spec;
  EXPECT_EQ(spec.service_account_name, "training-sa");
  EXPECT_EQ(spec.node_selector.at("node-type"), "training");
  ASSERT_EQ(spec.tolerations.size(), 1u);
  EXPECT_EQ(spec.tolerations[0].key, "training-workload");
  EXPECT_EQ(spec.tolerations[0].effect, "NoSchedule");
  EXPECT_EQ(js.replicated_jobs[0].template_.parallelism, 2);
  // trainer.env upserted into the node container.
  EXPECT_EQ(Env(spec.containers[0], "CUSTOM_VAR"), "custom-value");
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

TEST(TrainJobDecode, UpstreamRuntimesWithWhatIsNotModelled) {
  // 04-volcano-integration.yaml: podGroupPolicy volcano is warned (no gang scheduler).
  Manifests v = Load({"trainjob-04-volcano-integration.yaml"});
  ASSERT_EQ(v.training_runtimes.size(), 1u);
  EXPECT_EQ(v.training_runtimes[0].pod_group_policy, "volcano");
  ASSERT_EQ(v.diagnostics.warnings.size(), 1u);
  EXPECT_THAT(v.diagnostics.warnings[0], HasSubstr("spec.podGroupPolicy.volcano: not modelled"));
  // The Volcano plugin marks the pods with its group's name (volcano.go).
  const JobSet js =
      controllers::BuildTrainJobJobSet(v.train_jobs.at(0), v.training_runtimes[0]).job_set;
  EXPECT_EQ(js.replicated_jobs[0].template_.template_->metadata.annotations.at(
                "scheduling.k8s.io/group-name"),
            "volcano-example");

  // torchtune llama3_2_1B: initializers before the node (dependsOn both, JobSet v0.12 allows
  // up to 5) and a shared volumeClaimPolicies volume (not modelled: warned).
  Manifests l = Load({"runtime-llama3-2-1B.yaml"});
  const auto& rjobs = l.training_runtimes.at(0).template_.replicated_jobs;
  ASSERT_EQ(rjobs.size(), 3u);
  EXPECT_THAT(rjobs[2].depends_on, ElementsAre(Pair("dataset-initializer", "Complete"),
                                               Pair("model-initializer", "Complete")));
  EXPECT_THAT(rjobs[0].template_.template_->spec.containers[0].volume_mounts,
              ElementsAre("initializer"));
  ASSERT_EQ(l.diagnostics.warnings.size(), 1u);
  EXPECT_THAT(l.diagnostics.warnings[0], HasSubstr("spec.template.spec.volumeClaimPolicies"));
}

TEST(TrainJobDecode, MpiRuntimeCountsLauncherAndNodes) {
  // deepspeed_distributed.yaml@v2.3.0: mpi with runLauncherAsNode; "launcher" is the trainer
  // ancestor. mpi.go: the Job named "node" runs numNodes - 1 = 2 pods; the launcher keeps
  // mlPolicy.numNodes = 1. resourcesPerNode reaches both node containers (builder.go and
  // newRuntimeInfo's isMPILauncherAsNode).
  Manifests m = Load({"runtime-deepspeed-distributed.yaml"});
  DecodeYaml(R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: ds}
spec:
  runtimeRef: {name: deepspeed-distributed}
  trainer:
    numNodes: 3
    resourcesPerNode: {limits: {nvidia.com/gpu: "4"}}
)",
             "tj.yaml", &m);
  ASSERT_EQ(m.diagnostics.warnings.size(), 1u);
  EXPECT_THAT(m.diagnostics.warnings[0], HasSubstr("spec.mlPolicy.mpi: partly modelled"));
  const JobSet js =
      controllers::BuildTrainJobJobSet(m.train_jobs.at(0), m.training_runtimes[0]).job_set;
  ASSERT_EQ(js.replicated_jobs.size(), 2u);
  EXPECT_EQ(js.replicated_jobs[0].name, "node");
  EXPECT_EQ(js.replicated_jobs[0].template_.parallelism, 2);
  EXPECT_EQ(js.replicated_jobs[1].name, "launcher");
  EXPECT_EQ(js.replicated_jobs[1].template_.parallelism, 1);
  for (const auto& rj : js.replicated_jobs) {
    EXPECT_EQ(rj.template_.template_->spec.containers[0].resources.limits.at("nvidia.com/gpu"),
              Quantity{4000})
        << rj.name;
  }
  EXPECT_EQ(js.success_target_replicated_jobs, std::vector<std::string>{"launcher"});
  EXPECT_EQ(controllers::BuildTrainJobJobSet(m.train_jobs[0], m.training_runtimes[0]).trainer_nodes,
            3);
}

TEST(TrainJobDecode, ResourcesPerNodeIsAStrategicMerge) {
  // util/trainingruntime.MergeResourceRequirements (v2.3): per resource over the runtime's
  // container as stored, before any defaulting. The runtime asks requests cpu 1 and limits
  // nvidia.com/gpu 2; the TrainJob limits cpu 4 and nvidia.com/gpu 4. Merged: limits cpu 4,
  // gpu 4; requests cpu 1 (the runtime's own request stays) and gpu 4 (no request: the pod's
  // defaulting copies the new limit, not the runtime's 2).
  Manifests m;
  DecodeYaml(std::string(kRuntime) + R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: merge}
spec:
  runtimeRef: {name: rt}
  trainer:
    resourcesPerNode: {limits: {cpu: "4", nvidia.com/gpu: "4"}}
)",
             "tj.yaml", &m);
  const JobSet js =
      controllers::BuildTrainJobJobSet(m.train_jobs.at(0), m.training_runtimes[0]).job_set;
  const auto& res = js.replicated_jobs[0].template_.template_->spec.containers[0].resources;
  EXPECT_EQ(res.limits.at("cpu"), Quantity{4000});
  EXPECT_EQ(res.limits.at("nvidia.com/gpu"), Quantity{4000});
  EXPECT_EQ(res.requests.at("cpu"), Quantity{1000});
  EXPECT_EQ(res.requests.at("nvidia.com/gpu"), Quantity{4000});
  // The runtime's GPUs make torch's process count "auto" (torch.go: GPUs set).
  EXPECT_EQ(
      Env(js.replicated_jobs[0].template_.template_->spec.containers[0], "PET_NPROC_PER_NODE"),
      "auto");
  // No numNodes: the runtime's mlPolicy.numNodes, 1.
  EXPECT_EQ(js.replicated_jobs[0].template_.parallelism, 1);
}

TEST(TrainJobDecode, Defaults) {
  Manifests m;
  DecodeYaml(std::string(kRuntime) + R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: plain}
spec:
  runtimeRef: {name: rt}
)",
             "tj.yaml", &m);
  const auto& tj = m.train_jobs.at(0);
  // CRD defaults: apiGroup trainer.kubeflow.org, kind ClusterTrainingRuntime.
  EXPECT_EQ(tj.runtime_api_group, "trainer.kubeflow.org");
  EXPECT_EQ(tj.runtime_kind, "ClusterTrainingRuntime");
  EXPECT_FALSE(tj.trainer);
  EXPECT_EQ(tj.active_deadline_seconds, 0);
  const JobSet js = controllers::BuildTrainJobJobSet(tj, m.training_runtimes[0]).job_set;
  // Without spec.trainer no PET_* environment is injected (torch.go: only with a trainer).
  EXPECT_TRUE(js.replicated_jobs[0].template_.template_->spec.containers[0].env.empty());
  // Completions follow parallelism (SyncParallelCount sets both).
  EXPECT_EQ(js.replicated_jobs[0].template_.completions, 1);
}

TEST(TrainJobDecode, TrainerV21FieldsAreWarned) {
  // v2.1's spec.podTemplateOverrides was replaced by runtimePatches in v2.2
  // (trainjob_types.go@v2.2.1 has no such field): warned where its value starts (line 28,
  // as every warning about a field's value), ignored.
  Manifests m;
  DecodeYaml(std::string(kRuntime) + R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: old}
spec:
  runtimeRef: {name: rt}
  podTemplateOverrides:
  - targetJobs: [{name: node}]
    spec: {nodeSelector: {pool: a}}
)",
             "tj.yaml", &m);
  ASSERT_EQ(m.diagnostics.warnings.size(), 1u);
  EXPECT_THAT(m.diagnostics.warnings[0],
              HasSubstr("tj.yaml:28: spec.podTemplateOverrides: unknown field in Kubeflow "
                        "Trainer v2.3 (removed in v2.2"));
}

TEST(TrainJobDecode, BadInputNamesLineAndField) {
  const std::string head =
      "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: t}\nspec:\n";
  // The CRD's CEL rule on the name: stricter than the DNS subdomain every object's name is
  // (no dots).
  EXPECT_THAT(
      TrainJobErrorOf("apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata:\n"
                      "  name: train.1\nspec: {runtimeRef: {name: rt}}\n"),
      HasSubstr("tj.yaml:4: metadata.name: Invalid value: \"object\": metadata.name must "
                "match RFC 1035 DNS label format"));
  EXPECT_THAT(TrainJobErrorOf(head + "  runtimeRef: {kind: TrainingRuntime}\n"),
              HasSubstr("tj.yaml:5: spec.runtimeRef.name: Required value"));
  // The webhook: no runtime plugin for that GroupKind.
  EXPECT_THAT(TrainJobErrorOf(head + "  runtimeRef: {name: rt, kind: Runtime}\n"),
              HasSubstr("spec.runtimeRef: unsupported runtime: Runtime.trainer.kubeflow.org"));
  EXPECT_THAT(
      TrainJobErrorOf(head + "  runtimeRef: {name: rt}\n  managedBy: me.io/ctl\n"),
      HasSubstr("spec.managedBy: Invalid value: \"string\": ManagedBy must be "
                "trainer.kubeflow.org/trainjob-controller or kueue.x-k8s.io/multikueue if set"));
  EXPECT_THAT(TrainJobErrorOf(head + "  runtimeRef: {name: rt}\n  activeDeadlineSeconds: 0\n"),
              HasSubstr("spec.activeDeadlineSeconds"));
  // validation.IsDomainPrefixedPath on each manager.
  EXPECT_THAT(
      TrainJobErrorOf(head + "  runtimeRef: {name: rt}\n  runtimePatches:\n  - manager: me\n"),
      HasSubstr("tj.yaml:7: spec.runtimePatches[0].manager: Invalid value: \"me\": must "
                "be a domain-prefixed path (such as \"acme.io/foo\")"));
  EXPECT_THAT(
      TrainJobErrorOf(head + "  runtimeRef: {name: rt}\n  initializer:\n    dataset: {storageUri: "
                             "tatsu-lab/alpaca}\n"),
      HasSubstr("storageUri may be empty, or it must be a valid URI (scheme://...)"));
}

TEST(TrainJobDecode, RuntimeWebhook) {
  const std::string head = R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainingRuntime
metadata: {name: r, namespace: team}
spec:
)";
  const std::string rjobs = R"(  template:
    spec:
      replicatedJobs:
      - name: node
        replicas: 2
        template:
          metadata: {labels: {trainer.kubeflow.org/trainjob-ancestor-step: trainer}}
          spec:
            template:
              spec:
                containers: [{name: trainer}]
)";
  // MLPolicy's CEL rule.
  EXPECT_THAT(TrainJobErrorOf(head + "  mlPolicy: {torch: {}, mpi: {}}\n" + rjobs),
              HasSubstr("spec.mlPolicy: Invalid value: \"object\": Only one of the policy can be "
                        "configured"));
  // trainingruntime_webhook.go validateReplicatedJobs: an ancestor Job runs once...
  EXPECT_THAT(TrainJobErrorOf(head + rjobs),
              HasSubstr("tj.yaml:8: spec.template.spec.replicatedJobs[0].replicas: Invalid value: "
                        "2: always must be 1"));
  // ... and has its step's container.
  std::string one = rjobs;
  one.replace(one.find("replicas: 2"), 11, "replicas: 1");
  EXPECT_THAT(TrainJobErrorOf(head + one),
              HasSubstr("spec.template.spec.replicatedJobs[0].template.spec.template.spec."
                        "containers: must contain the required container for the ancestor: "
                        "trainer"));
  EXPECT_THAT(TrainJobErrorOf(head +
                              "  mlPolicy:\n    torch:\n      envInjection:\n        targets: "
                              "[{jobName: node, containerNames: [node]}]\n" +
                              one),
              HasSubstr("containerNames must not include the main node container"));
}

TEST(TrainJobDecode, WebhookChecksThatNeedTheRuntime) {
  const std::string tj = R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: t}
spec:
  runtimeRef:
    name: missing
)";
  // trainjob_webhook.go → clustertrainingruntime.go ValidateObjects: the runtime must exist
  // (the client's NotFound, then the webhook's words), at the TrainJob's runtimeRef.name.
  EXPECT_THAT(RunErrorOf(tj),
              HasSubstr("tj.yaml:6: spec.runtimeRef.name: clustertrainingruntimes.trainer."
                        "kubeflow.org \"missing\" not found: specified clusterTrainingRuntime "
                        "must be created before the TrainJob is created"));
  EXPECT_THAT(RunErrorOf(std::string(kRuntime) + R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: t}
spec:
  runtimeRef: {name: rt, kind: TrainingRuntime}
)"),
              HasSubstr("trainingruntimes.trainer.kubeflow.org \"rt\" not found: specified "
                        "trainingRuntime must be created before the TrainJob is created"));
  // torch.go Validate: reserved PET_* variables, listed sorted.
  EXPECT_THAT(RunErrorOf(std::string(kRuntime) + R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: t}
spec:
  runtimeRef: {name: rt}
  trainer:
    env: [{name: PET_NNODES, value: "2"}, {name: PET_MASTER_PORT, value: "1"}]
)"),
              HasSubstr("spec.trainer.env: must not have reserved envs, invalid envs "
                        "configured: [PET_MASTER_PORT PET_NNODES]"));
  // jobset.go Validate: patches name the runtime's Jobs and containers, and do not set the
  // node container's environment.
  const std::string patched = std::string(kRuntime) + R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: t}
spec:
  runtimeRef: {name: rt}
  runtimePatches:
  - manager: example.com/me
    trainingRuntimeSpec:
      template:
        spec:
          replicatedJobs:
)";
  EXPECT_THAT(RunErrorOf(patched + "          - name: launcher\n"),
              HasSubstr("spec.runtimePatches: must not have replicated job that doesn't exist in "
                        "the runtime job template"));
  EXPECT_THAT(
      RunErrorOf(patched + "          - name: node\n            template: {spec: {template: "
                           "{spec: {containers: [{name: node, env: [{name: A, value: "
                           "b}]}]}}}}\n"),
      HasSubstr("must not have envs for the dataset-initializer, model-initializer, node "
                "containers"));
  // A dataset initializer needs the runtime's dataset-initializer Job.
  EXPECT_THAT(RunErrorOf(std::string(kRuntime) + R"(apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: t}
spec:
  runtimeRef: {name: rt}
  initializer: {dataset: {storageUri: "hf://tatsu-lab/alpaca"}}
)"),
              HasSubstr("spec.runtimeRef: must have dataset-initializer job when trainJob is "
                        "configured with input datasetConfig"));
}

}  // namespace
}  // namespace gputwin::api
