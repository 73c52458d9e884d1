// The Job controller's policies as pkg/controller/job implements them (Kubernetes 1.33):
// spec.podFailurePolicy (pod_failure_policy.go), spec.successPolicy (success_policy.go) and
// the index lists of an Indexed Job's status (completedIndexes, failedIndexes).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "cluster/objects.h"

namespace gputwin::controllers {

struct PodFailureMatch {
  std::string action;            // the matched rule's action; empty: no rule matched
  bool count_failed = true;      // false for Ignore: not counted against backoffLimit
  std::string fail_job_message;  // set for FailJob, as the Job's condition message
};

// The first rule matching a failed pod: its terminated containers' exit codes (non-zero
// only) or its conditions (DisruptionTarget when it was evicted, preempted or lost).
PodFailureMatch MatchPodFailurePolicy(const std::vector<api::PodFailurePolicyRule>& rules,
                                      const cluster::PodRecord& pod);

// "Matched rules at index N" for the first successPolicy rule the succeeded indexes meet.
std::optional<std::string> MatchSuccessPolicy(const std::vector<api::SuccessPolicyRule>& rules,
                                              const std::vector<bool>& succeeded);

}  // namespace gputwin::controllers
