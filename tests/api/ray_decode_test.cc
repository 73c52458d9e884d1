// KubeRay's kinds as the CRD defaults them (ray-project/kuberay v1.7.0, apis/ray/v1) and the
// controllers validate them (utils/validation.go, with its messages): the API server accepts
// a spec the controller refuses, so those are warnings, not errors; what the API server
// rejects (CEL, enums) names file, line and field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "api/ray_types.h"
#include "cluster/store.h"
#include "controllers/ray.h"
#include "core/event_queue.h"
#include "tests/run_until.h"

namespace gputwin::api {
namespace {

using ::testing::HasSubstr;

std::string RayErrorOf(const std::string& yaml) {
  try {
    Manifests m;
    DecodeYaml(yaml, "ray.yaml", &m);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string Cluster(const std::string& name, const std::string& groups,
                    const std::string& extra = "") {
  return "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: " + name + "}\nspec:\n" +
         extra +
         "  headGroupSpec:\n    template:\n      spec:\n        containers: [{name: ray-head, "
         "image: rayproject/ray:2.52.0}]\n  workerGroupSpecs:\n" +
         groups;
}

std::string Group(const std::string& name, const std::string& fields) {
  return "  - groupName: " + name + "\n" + fields +
         "    template:\n      spec:\n        containers: [{name: w, image: "
         "rayproject/ray:2.52.0}]\n";
}

TEST(RayClusterDecode, CrdDefaults) {
  Manifests m;
  DecodeYaml(Cluster("c", Group("g", "")), "ray.yaml", &m);
  ASSERT_TRUE(m.ray);
  ASSERT_EQ(m.ray->clusters.size(), 1u);
  const auto& g = m.ray->clusters[0].spec.worker_groups.at(0);
  // CRD defaults: replicas 0, minReplicas 0, maxReplicas MaxInt32, numOfHosts 1.
  EXPECT_EQ(g.replicas, 0);
  EXPECT_EQ(g.min_replicas, 0);
  EXPECT_EQ(g.max_replicas, INT32_MAX);
  EXPECT_EQ(g.num_of_hosts, 1);
  EXPECT_EQ(m.ray->clusters[0].spec.invalid, "");
  EXPECT_TRUE(m.diagnostics.warnings.empty());
}

TEST(RayClusterDecode, DesiredWorkerPodsClampTimesHosts) {
  RayWorkerGroupSpec g;
  g.replicas = 7;
  g.min_replicas = 1;
  g.max_replicas = 5;
  g.num_of_hosts = 2;
  // utils.GetWorkerGroupDesiredReplicas: clamp(7, 1, 5) × 2.
  EXPECT_EQ(controllers::RayClusterController::DesiredWorkerPods(g), 10);
  g.replicas = 0;
  EXPECT_EQ(controllers::RayClusterController::DesiredWorkerPods(g), 2);  // below min: min
  g.suspend = true;
  EXPECT_EQ(controllers::RayClusterController::DesiredWorkerPods(g), 0);
}

TEST(RayClusterDecode, ControllerValidationIsAWarningWithUpstreamsMessage) {
  Manifests m;
  DecodeYaml(Cluster("c", Group("g", "    minReplicas: 3\n    maxReplicas: 2\n")), "ray.yaml", &m);
  EXPECT_EQ(m.ray->clusters[0].spec.invalid,
            "worker group g has minReplicas 3 greater than maxReplicas 2");
  ASSERT_EQ(m.diagnostics.warnings.size(), 1u);
  EXPECT_THAT(m.diagnostics.warnings[0],
              HasSubstr("ray.yaml:1: spec: KubeRay will not reconcile RayCluster c: The "
                        "RayCluster spec is invalid default/c: worker group g has minReplicas 3 "
                        "greater than maxReplicas 2"));
}

TEST(RayClusterDecode, SuspendedGroupWithAutoscaler) {
  Manifests m;
  DecodeYaml(Cluster("c", Group("g", "    suspend: true\n"), "  enableInTreeAutoscaling: true\n"),
             "ray.yaml", &m);
  EXPECT_EQ(m.ray->clusters[0].spec.invalid,
            "worker group g cannot be suspended with Autoscaler enabled");
}

TEST(RayClusterDecode, LongNameIsInvalidMetadata) {
  Manifests m;
  DecodeYaml(Cluster(std::string(54, 'a'), Group("g", "")), "ray.yaml", &m);
  EXPECT_EQ(m.ray->clusters[0].invalid_metadata,
            "RayCluster name should be no more than 53 characters");
}

TEST(RayClusterDecode, ApiServerRejectsWithFileLineField) {
  EXPECT_THAT(RayErrorOf(Cluster("c", Group("g", ""), "  managedBy: someone\n")),
              HasSubstr("ray.yaml:5: spec.managedBy: Invalid value: \"someone\""));
  EXPECT_THAT(RayErrorOf(Cluster("c", Group("g", "") + Group("g", ""))),
              HasSubstr("spec.workerGroupSpecs[1].groupName: Duplicate value"));
}

TEST(RayClusterDecode, InvalidClusterCreatesNoPodsAndRecordsTheEvent) {
  Manifests m;
  DecodeYaml(Cluster("c", Group("g", "    minReplicas: 3\n    maxReplicas: 2\n")), "ray.yaml", &m);
  cluster::Store store;
  EventQueue queue;
  controllers::RayClusterController ctl(&store, &queue);
  controllers::AddRayObjects(&store, *m.ray);
  RunUntil(&store, &queue, Time{0} + Duration::Minutes(1));
  EXPECT_EQ(store.pod_count(), 0u);
  bool seen = false;
  for (const auto& e : store.events()) {
    if (e.reason == "InvalidRayClusterSpec") {
      seen = true;
      EXPECT_EQ(e.type, "Warning");
      EXPECT_EQ(e.message,
                "The RayCluster spec is invalid default/c: worker group g has minReplicas 3 "
                "greater than maxReplicas 2");
    }
  }
  EXPECT_TRUE(seen);
}

TEST(RayJobDecode, ValidationMessages) {
  auto job = [](const std::string& spec) {
    Manifests m;
    DecodeYaml("apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: j}\nspec:\n" + spec,
               "ray.yaml", &m);
    return m.ray->jobs[0].invalid;
  };
  EXPECT_EQ(job("  entrypoint: python x.py\n"),
            "The RayJob spec is invalid: one of RayClusterSpec or ClusterSelector must be set");
  EXPECT_EQ(job("  suspend: true\n  clusterSelector: {ray.io/cluster: c}\n"),
            "The RayJob spec is invalid: a RayJob with shutdownAfterJobFinishes set to false is "
            "not allowed to be suspended");
  EXPECT_EQ(job("  ttlSecondsAfterFinished: 10\n  clusterSelector: {ray.io/cluster: c}\n"),
            "The RayJob spec is invalid: a RayJob with shutdownAfterJobFinishes set to false "
            "cannot have TTLSecondsAfterFinished");
  EXPECT_EQ(job("  backoffLimit: 1\n  clusterSelector: {ray.io/cluster: c}\n"),
            "The RayJob spec is invalid: BackoffLimit is incompatible with ClusterSelector mode");
  EXPECT_EQ(job("  activeDeadlineSeconds: 0\n  clusterSelector: {ray.io/cluster: c}\n"),
            "The RayJob spec is invalid: activeDeadlineSeconds must be a positive integer");
  EXPECT_EQ(job("  clusterSelector: {ray.io/cluster: c}\n"), "");
}

}  // namespace
}  // namespace gputwin::api
