// Plain structs for the Kubernetes objects the twin reads, in Kubernetes words.
// No behaviour lives here: decoding is in decode*.cc, validation in validation.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/quantity.h"
#include "core/time.h"

namespace gputwin::api {

using Labels = std::map<std::string, std::string>;  // sorted: deterministic output
using ResourceList = std::map<std::string, Quantity>;

struct OwnerReference {
  std::string kind, name;
  bool controller = false;
};

struct ObjectMeta {
  std::string name, generate_name, namespace_, uid;
  Labels labels, annotations;
  std::vector<OwnerReference> owner_references;
  SourceRef source;  // where the object was read from (for errors and the report)
};

struct ResourceRequirements {
  ResourceList requests, limits;
};

struct Container {
  std::string name, image;
  ResourceRequirements resources;
};

struct Toleration {
  std::string key, op = "Equal", value, effect;
  std::optional<int64_t> toleration_seconds;
};

struct Taint {
  std::string key, value, effect;
  bool operator==(const Taint&) const = default;
};

struct NodeSelectorRequirement {
  std::string key, op;
  std::vector<std::string> values;
};

struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> match_expressions, match_fields;
};

struct PreferredSchedulingTerm {
  int32_t weight = 0;
  NodeSelectorTerm preference;
};

struct NodeAffinity {
  // requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (nullopt: not set)
  std::optional<std::vector<NodeSelectorTerm>> required;
  std::vector<PreferredSchedulingTerm> preferred;
};

struct LabelSelectorRequirement {
  std::string key, op;
  std::vector<std::string> values;
};

struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
  bool Matches(const Labels& labels) const;
  bool Empty() const { return match_labels.empty() && match_expressions.empty(); }
};

struct PodSpec {
  std::vector<Container> containers, init_containers;
  std::string node_name, scheduler_name = "default-scheduler", priority_class_name;
  std::string restart_policy = "Always";
  Labels node_selector;
  std::optional<NodeAffinity> node_affinity;
  std::vector<Toleration> tolerations;
  std::optional<int32_t> priority;
  std::optional<std::string> preemption_policy;
  int64_t termination_grace_period_seconds = 30;
  std::optional<int64_t> active_deadline_seconds;
  ResourceList overhead;
};

struct PodTemplateSpec {
  ObjectMeta metadata;
  PodSpec spec;
};

struct Pod {
  ObjectMeta metadata;
  PodSpec spec;
};

struct Node {
  ObjectMeta metadata;
  bool unschedulable = false;
  std::vector<Taint> taints;
  std::string provider_id;
  ResourceList capacity, allocatable;
};

struct Deployment {
  ObjectMeta metadata;
  int32_t replicas = 1;
  LabelSelector selector;
  PodTemplateSpec template_;
  std::string strategy = "RollingUpdate";
};

struct ReplicaSet {
  ObjectMeta metadata;
  int32_t replicas = 1;
  LabelSelector selector;
  PodTemplateSpec template_;
};

struct Job {
  ObjectMeta metadata;
  std::optional<int32_t> parallelism, completions;
  int32_t backoff_limit = 6;
  std::optional<int64_t> active_deadline_seconds;
  bool suspend = false;
  std::string completion_mode = "NonIndexed";
  PodTemplateSpec template_;
};

struct DaemonSet {
  ObjectMeta metadata;
  LabelSelector selector;
  PodTemplateSpec template_;
};

struct PriorityClass {
  ObjectMeta metadata;
  int32_t value = 0;
  bool global_default = false;
  std::string preemption_policy = "PreemptLowerPriority";
};

struct Namespace {
  ObjectMeta metadata;
};

struct ConfigMap {
  ObjectMeta metadata;
  std::map<std::string, std::string> data;
  std::map<std::string, int> data_lines;  // key → line where its value's text starts
};

struct ResourceQuota {
  ObjectMeta metadata;
  ResourceList hard;
};

// policy/v1 PodDisruptionBudget: an int or a percentage ("50%") in one of the two fields.
struct PodDisruptionBudget {
  ObjectMeta metadata;
  std::optional<LabelSelector> selector;  // absent: selects no pods; {}: every pod
  std::optional<std::string> min_available, max_unavailable;
};

struct LimitRangeItem {
  std::string type;
  ResourceList max, min, default_limits, default_requests;
};

struct LimitRange {
  ObjectMeta metadata;
  std::vector<LimitRangeItem> limits;
};

// nvidia.com/v1 ClusterPolicy: the GPU Operator, which installs the driver and runs the
// device plugin and GFD on every GPU node. Only the fields that change the twin are kept.
struct ClusterPolicy {
  ObjectMeta metadata;
  std::string device_plugin_config_name, device_plugin_default_config;
  std::string mig_strategy = "single";
  bool driver_enabled = true;
};

// kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration: the knobs the twin honours.
struct ScoringResource {
  std::string name;
  int64_t weight = 1;
};
struct UtilizationShapePoint {
  int64_t utilization = 0, score = 0;
};
struct KubeSchedulerConfiguration {
  SourceRef source;
  int32_t percentage_of_nodes_to_score = 0;  // 0: adaptive
  int64_t pod_initial_backoff_seconds = 1, pod_max_backoff_seconds = 10;
  std::string scoring_strategy = "LeastAllocated";
  std::vector<ScoringResource> scoring_resources = {{"cpu", 1}, {"memory", 1}};
  std::vector<UtilizationShapePoint> shape;      // RequestedToCapacityRatio
  std::map<std::string, int64_t> score_weights;  // plugin name → weight override
  std::vector<std::string> disabled_plugins;
};

}  // namespace gputwin::api
