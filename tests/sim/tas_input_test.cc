// Kueue Topology-Aware Scheduling requests that can never be admitted are input errors
// naming the file, line and field: a level no Topology has, and the annotations Kueue's
// webhook rejects (jobframework/tas_validation.go ValidateTASPodSetRequest).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/sim/load_error.h"

namespace gputwin {
namespace {

using ::testing::HasSubstr;

TEST(TasInput, ALevelNoTopologyHasIsAnError) {
  EXPECT_THAT(
      LoadError("tas_missing_level.yaml"),
      HasSubstr(
          "tas_missing_level.yaml:39: spec.template.metadata.annotations: Job default/train pod "
          "set main asks for topology level \"cloud.com/topology-rack\", which no "
          "Topology has (levels: cloud.com/topology-block, kubernetes.io/hostname)"));
}

TEST(TasInput, TheWebhookRejectsTwoTopologyAnnotations) {
  EXPECT_THAT(LoadError("tas_two_annotations.yaml"),
              HasSubstr("spec.template.metadata.annotations[kueue.x-k8s.io/"
                        "podset-required-topology]: Invalid value: must not contain more than "
                        "one topology annotation"));
}

TEST(TasInput, ASliceLargerThanThePodSetIsRejected) {
  // podset-slice-size 3 with parallelism 2: ValidateSliceSizeAnnotationUpperBound.
  EXPECT_THAT(LoadError("tas_slice_too_big.yaml"),
              HasSubstr("[kueue.x-k8s.io/podset-slice-size]: Invalid value: must not be greater "
                        "than pod set count 2"));
}

TEST(TasInput, ANumericPodSetGroupNameIsRejected) {
  // validatePodSetGroupNameAnnotation: strconv.ParseUint succeeds, so "must not be a number".
  EXPECT_THAT(LoadError("tas_lws_group_number.yaml"),
              HasSubstr("tas_lws_group_number.yaml:61: spec.leaderWorkerTemplate.leaderTemplate."
                        "metadata.annotations[kueue.x-k8s.io/podset-group-name]: Invalid value: "
                        "\"42\": must not be a number"));
}

}  // namespace
}  // namespace gputwin
