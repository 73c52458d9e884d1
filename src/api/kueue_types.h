// Kueue's API objects (kueue.x-k8s.io v1beta1 and v1beta2; apis/kueue/*/…_types.go), with
// the CRD defaults, as the twin reads them. Behaviour lives in src/kueue (issue 4).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types.h"

namespace gputwin::api {

struct FlavorQuota {
  std::string resource;
  Quantity nominal_quota;
  std::optional<Quantity> borrowing_limit, lending_limit;
};

struct FlavorQuotas {
  std::string name;  // a ResourceFlavor
  std::vector<FlavorQuota> resources;
};

struct ResourceGroup {
  std::vector<std::string> covered_resources;
  std::vector<FlavorQuotas> flavors;  // in preference order
};

struct ClusterQueue {
  ObjectMeta metadata;
  std::optional<LabelSelector> namespace_selector;  // nil: no namespace; {}: all
  std::string cohort;                               // v1beta1 cohort / v1beta2 cohortName
  std::string queueing_strategy = "BestEffortFIFO";
  std::vector<ResourceGroup> resource_groups;
  std::string within_cluster_queue = "Never";   // Never | LowerPriority | LowerOrNewerEqualPriority
  std::string reclaim_within_cohort = "Never";  // Never | LowerPriority | Any
  std::string borrow_within_cohort = "Never";   // Never | LowerPriority
  std::optional<int32_t> borrow_max_priority_threshold;
  std::string when_can_borrow = "MayStopSearch";   // old name Borrow
  std::string when_can_preempt = "TryNextFlavor";  // old name Preempt → MayStopSearch
  std::string fungibility_preference = "BorrowingOverPreemption";
  std::string stop_policy = "None";  // None | Hold | HoldAndDrain
  Quantity fair_sharing_weight{1000};
};

struct Cohort {
  ObjectMeta metadata;
  std::string parent;
  std::vector<ResourceGroup> resource_groups;
  Quantity fair_sharing_weight{1000};
};

struct LocalQueue {
  ObjectMeta metadata;
  std::string cluster_queue;
  std::string stop_policy = "None";
};

struct ResourceFlavor {
  ObjectMeta metadata;
  Labels node_labels;
  std::vector<Taint> node_taints;
  std::vector<Toleration> tolerations;
  std::string topology_name;  // spec.topologyName: Topology-Aware Scheduling
};

// kueue.x-k8s.io Topology (apis/kueue/v1beta1/topology_types.go): node label levels, highest
// first (block, rack, host).
struct Topology {
  ObjectMeta metadata;
  std::vector<std::string> levels;
};

struct WorkloadPriorityClass {
  ObjectMeta metadata;
  int32_t value = 0;
};

// The Kueue Configuration (config.kueue.x-k8s.io, apis/config/*/configuration_types.go):
// only the knobs that change admission.
struct KueueConfiguration {
  ObjectMeta metadata;
  bool present = false;
  bool manage_jobs_without_queue_name = false;
  bool fair_sharing = false;
  std::vector<std::string> fair_sharing_strategies = {"LessThanOrEqualToFinalShare",
                                                      "LessThanInitialShare"};
  bool wait_for_pods_ready = false;
  Duration pods_ready_timeout = Duration::Minutes(5);
  std::optional<Duration> recovery_timeout;
  bool block_admission = false;
  std::string requeuing_timestamp = "Eviction";  // Eviction | Creation
  std::optional<int32_t> backoff_limit_count;    // nil: requeue forever
  int32_t backoff_base_seconds = 60;
  int32_t backoff_max_seconds = 3600;
  std::string quota_check_strategy = "BlockUndeclared";
  std::vector<std::string> exclude_resource_prefixes;
  // managedJobsNamespaceSelector: the namespaces whose pods the pod integrations manage
  // (and, with manageJobsWithoutQueueName, whose jobs); nullopt: Kueue's default, every
  // namespace but kube-system and kueue-system.
  std::optional<LabelSelector> managed_jobs_namespace_selector;
  // integrations.frameworks: what Kueue manages (the Go default: batch/job only).
  std::vector<std::string> frameworks = {"batch/job"};
  bool Manages(const std::string& framework) const {
    for (const auto& f : frameworks) {
      if (f == framework) return true;
    }
    return false;
  }
};

}  // namespace gputwin::api
