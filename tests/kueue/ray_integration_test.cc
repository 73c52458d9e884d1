// Kueue's Ray integrations (kueue v0.19.2, pkg/controller/jobs/raycluster/common.go
// BuildPodSets, rayjob's PodSets, and the webhooks' ValidateCreate): PodSets and the errors a
// managed RayCluster or RayJob is refused with, with its file:line and field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "kueue/ray_integration.h"

namespace gputwin::kueue {
namespace {

using ::testing::HasSubstr;

constexpr const char* kConfig = R"(apiVersion: config.kueue.x-k8s.io/v1beta1
kind: Configuration
integrations:
  frameworks: [batch/job, ray.io/rayjob, ray.io/raycluster]
---
)";

std::string Job(const std::string& spec, const std::string& annotations = "{}") {
  return std::string(kConfig) +
         "apiVersion: ray.io/v1\nkind: RayJob\nmetadata:\n  name: j\n  labels: "
         "{kueue.x-k8s.io/queue-name: q}\n  annotations: " +
         annotations + "\nspec:\n" + spec;
}

constexpr const char* kClusterSpec = R"(  rayClusterSpec:
    headGroupSpec:
      template:
        spec:
          containers: [{name: h, image: rayproject/ray:2.52.0, resources: {requests: {cpu: "1", memory: 2Gi}}}]
    workerGroupSpecs:
    - groupName: small-group
      replicas: 3
      numOfHosts: 2
      template:
        spec:
          containers: [{name: w, image: rayproject/ray:2.52.0, resources: {requests: {cpu: "1"}}}]
)";

std::string ValidationError(const std::string& yaml) {
  try {
    api::Manifests m;
    api::DecodeYaml(yaml, "ray.yaml", &m);
    ValidateRayObjects(m);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(KueueRay, RayJobPodSetsHeadGroupsSubmitter) {
  api::Manifests m;
  api::DecodeYaml(Job("  shutdownAfterJobFinishes: true\n" + std::string(kClusterSpec)), "ray.yaml",
                  &m);
  const auto sets = RayJobPodSets(m.ray->jobs.at(0));
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].name, "head");
  EXPECT_EQ(sets[0].count, 1);
  EXPECT_EQ(sets[0].requests.at("memory"), *ParseQuantity("2Gi", nullptr));
  // A worker group's PodSet: replicas × numOfHosts.
  EXPECT_EQ(sets[1].name, "small-group");
  EXPECT_EQ(sets[1].count, 6);
  // The default submitter: 500m / 200Mi requested.
  EXPECT_EQ(sets[2].name, "submitter");
  EXPECT_EQ(sets[2].count, 1);
  EXPECT_EQ(sets[2].requests.at("cpu"), *ParseQuantity("500m", nullptr));
  EXPECT_EQ(sets[2].requests.at("memory"), *ParseQuantity("200Mi", nullptr));
  EXPECT_EQ(ValidationError(Job("  shutdownAfterJobFinishes: true\n" + std::string(kClusterSpec))),
            "no error");
}

TEST(KueueRay, WebhookErrors) {
  EXPECT_THAT(ValidationError(Job(kClusterSpec)),
              HasSubstr("ray.yaml:6: spec.shutdownAfterJobFinishes: Invalid value: false: a kueue "
                        "managed job should delete the cluster after finishing"));
  EXPECT_THAT(ValidationError(Job("  shutdownAfterJobFinishes: true\n  clusterSelector: "
                                  "{ray.io/cluster: c}\n" +
                                  std::string(kClusterSpec))),
              HasSubstr("spec.clusterSelector: Invalid value: a kueue managed job should not use "
                        "an existing cluster"));
  EXPECT_THAT(ValidationError(Job("  shutdownAfterJobFinishes: true\n")),
              HasSubstr("spec.rayClusterSpec: Required value: rayClusterSpec is required for "
                        "Kueue-managed jobs that don't use clusterSelector"));
  // A selector alone: Kueue leaves the RayJob alone.
  EXPECT_EQ(ValidationError(Job("  clusterSelector: {ray.io/cluster: c}\n")), "no error");
}

}  // namespace
}  // namespace gputwin::kueue
