// A scheduling profile: which plugins run at each extension point, in which order, with
// which score weights and arguments. Built from a KubeSchedulerConfiguration merged with
// the default plugins exactly as kube-scheduler merges them
// (apis/config/v1/default_plugins.go mergePlugins, runtime/framework.go
// expandMultiPointPlugins and getScoreWeights).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "core/errors.h"
#include "core/time.h"
#include "scheduler/plugins/node_resources_fit.h"

namespace gputwin::scheduler {

struct ScorePluginRef {
  std::string name;
  int64_t weight = 1;
};

struct PodTopologySpreadArgs {
  bool system_defaulting = true;  // defaultingType System: soft hostname/zone spreading
  std::vector<api::TopologySpreadConstraint> default_constraints;  // defaultingType List
};

struct InterPodAffinityArgs {
  int32_t hard_pod_affinity_weight = 1;
  bool ignore_preferred_terms_of_existing_pods = false;
};

struct Profile {
  std::vector<std::string> pre_enqueue, filter, post_filter, reserve;
  std::vector<ScorePluginRef> score;
  NodeResourcesFitArgs fit;
  PodTopologySpreadArgs spread;
  InterPodAffinityArgs inter_pod_affinity;

  // The default profile (getDefaultPlugins, v1.31+), with the twin's OpenGpuShare.
  static Profile Default();
  // The first profile of a configuration; plugins the twin does not know are warned about
  // (file:line) and left out.
  static Profile From(const api::KubeSchedulerConfiguration& c, Diagnostics* diag);
};

struct SchedulerConfig {
  int32_t percentage_of_nodes_to_score = 0;  // 0: adaptive (50 - nodes/125, at least 5)
  Duration initial_backoff = Duration::Seconds(1), max_backoff = Duration::Seconds(10);
  Profile profile = Profile::Default();

  static SchedulerConfig From(const api::KubeSchedulerConfiguration& c, Diagnostics* diag);
};

}  // namespace gputwin::scheduler
