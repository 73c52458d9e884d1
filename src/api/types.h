// Plain structs for the Kubernetes objects the twin reads, in Kubernetes words.
// No behaviour lives here: decoding is in decode*.cc, validation in validation.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/box.h"
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
  // An object that already existed when the run starts (a cluster snapshot, or a fixed
  // order for ties): when it was created. Objects made during the run are stamped then.
  std::optional<Time> creation_timestamp;
  Labels labels, annotations;
  std::vector<OwnerReference> owner_references;
  SourceRef source;  // where the object was read from (for errors and the report)
};

struct ResourceRequirements {
  ResourceList requests, limits;
  // Requests the API server's defaulting copied from limits (SetDefaults_Container). A
  // custom resource's pod template (a TrainingRuntime's) is stored undefaulted, which a
  // strategic merge over it must see.
  std::vector<std::string> defaulted_requests;
  bool operator==(const ResourceRequirements&) const = default;
};

// A readiness or startup probe's timing (core/v1 Probe); the handler (httpGet, tcpSocket,
// exec, grpc) succeeds once the container's server listens.
struct Probe {
  int32_t initial_delay_seconds = 0, period_seconds = 10, timeout_seconds = 1;
  int32_t success_threshold = 1, failure_threshold = 3;
  bool operator==(const Probe&) const = default;
};

struct Container {
  std::string name, image;
  ResourceRequirements resources;
  std::vector<std::string> command, args;
  // env entries with a literal value (valueFrom is not resolved): what a component reads
  // its settings from.
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<Probe> readiness_probe, startup_probe;
  // lifecycle.preStop as a pause: `sleep: {seconds}` or an exec of `sleep N`; nullopt
  // without a preStop hook. Other hooks count as 0 s (warned).
  std::optional<int64_t> pre_stop_seconds;
  // An init container with restartPolicy Always is a sidecar (KEP-753, on by default since
  // Kubernetes 1.29, GA in 1.33): it keeps running beside the app containers.
  bool sidecar = false;
  // Read for lint: securityContext.privileged, and every env name (literal or valueFrom).
  bool privileged = false;
  std::vector<std::string> env_names;
  std::vector<std::string> volume_mounts;  // their volume names (Kubeflow Trainer's checks)
  SourceRef source;

  static Container Named(std::string name, std::string image) {
    Container c;
    c.name = std::move(name);
    c.image = std::move(image);
    return c;
  }
  bool operator==(const Container&) const = default;
};

struct Toleration {
  std::string key, op = "Equal", value, effect;
  std::optional<int64_t> toleration_seconds;
  bool operator==(const Toleration&) const = default;
};

struct Taint {
  std::string key, value, effect;
  bool operator==(const Taint&) const = default;
};

struct NodeSelectorRequirement {
  std::string key, op;
  std::vector<std::string> values;
  bool operator==(const NodeSelectorRequirement&) const = default;
};

struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> match_expressions, match_fields;
  bool operator==(const NodeSelectorTerm&) const = default;
};

struct PreferredSchedulingTerm {
  int32_t weight = 0;
  NodeSelectorTerm preference;
  bool operator==(const PreferredSchedulingTerm&) const = default;
};

struct NodeAffinity {
  // requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (nullopt: not set)
  std::optional<std::vector<NodeSelectorTerm>> required;
  std::vector<PreferredSchedulingTerm> preferred;
  bool operator==(const NodeAffinity&) const = default;
};

struct LabelSelectorRequirement {
  std::string key, op;
  std::vector<std::string> values;
  bool operator==(const LabelSelectorRequirement&) const = default;
};

struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
  bool Matches(const Labels& labels) const;
  bool Empty() const { return match_labels.empty() && match_expressions.empty(); }
  bool operator==(const LabelSelector&) const = default;
};

// A pod (anti-)affinity term (core/v1 PodAffinityTerm). matchLabelKeys and
// mismatchLabelKeys are merged into the selector when the pod is created, as the API server
// does (KEP-3633).
struct PodAffinityTerm {
  std::optional<LabelSelector> label_selector;  // absent: matches no pod
  std::vector<std::string> namespaces;
  std::optional<LabelSelector> namespace_selector;  // absent: none; {}: every namespace
  std::string topology_key;
  std::vector<std::string> match_label_keys, mismatch_label_keys;
  bool operator==(const PodAffinityTerm&) const = default;
};

struct WeightedPodAffinityTerm {
  int32_t weight = 0;
  PodAffinityTerm term;
  bool operator==(const WeightedPodAffinityTerm&) const = default;
};

// podAffinity or podAntiAffinity: requiredDuringSchedulingIgnoredDuringExecution and
// preferredDuringSchedulingIgnoredDuringExecution.
struct PodAffinity {
  std::vector<PodAffinityTerm> required;
  std::vector<WeightedPodAffinityTerm> preferred;
  bool operator==(const PodAffinity&) const = default;
};

struct TopologySpreadConstraint {
  int32_t max_skew = 1;
  std::string topology_key;
  std::string when_unsatisfiable;               // DoNotSchedule or ScheduleAnyway
  std::optional<LabelSelector> label_selector;  // absent: matches no pod
  std::optional<int32_t> min_domains;
  std::string node_affinity_policy = "Honor", node_taints_policy = "Ignore";
  std::vector<std::string> match_label_keys;
  bool operator==(const TopologySpreadConstraint&) const = default;
};

struct PodSpec {
  std::vector<Container> containers, init_containers;
  std::string node_name, scheduler_name = "default-scheduler", priority_class_name;
  std::string restart_policy = "Always";
  Labels node_selector;
  std::optional<NodeAffinity> node_affinity;
  std::optional<PodAffinity> pod_affinity, pod_anti_affinity;
  std::vector<TopologySpreadConstraint> topology_spread_constraints;
  std::vector<std::string> scheduling_gates;
  std::vector<Toleration> tolerations;
  std::optional<int32_t> priority;
  std::optional<std::string> preemption_policy;
  int64_t termination_grace_period_seconds = 30;
  std::optional<int64_t> active_deadline_seconds;
  ResourceList overhead;
  // Pod-level resources (spec.resources, Kubernetes 1.34 beta, on by default): cpu, memory
  // and hugepages for the whole pod, in place of the containers' sum; requests defaulted.
  std::optional<ResourceRequirements> pod_resources;
  // Volumes backed by a ConfigMap: volume name → ConfigMap name (what a component mounts
  // its configuration from). Other volume sources are not kept.
  std::vector<std::pair<std::string, std::string>> config_map_volumes;
  // Read for lint: hostPath volumes (volume name → path), Secret volumes, host namespaces.
  std::vector<std::pair<std::string, std::string>> host_path_volumes;
  std::vector<std::string> secret_volumes;
  bool host_network = false;
  std::string service_account_name;
  bool operator==(const PodSpec&) const = default;
};

struct PodTemplateSpec {
  ObjectMeta metadata;
  PodSpec spec;
};

struct Pod {
  ObjectMeta metadata;
  PodSpec spec;
  std::string status_phase;  // a snapshot's status.phase ("" when not given)
};

// status.images of a Node: the names an image is known by on the node and its size.
struct ContainerImage {
  std::vector<std::string> names;
  int64_t size_bytes = 0;
};

struct Node {
  ObjectMeta metadata;
  bool unschedulable = false;
  std::vector<Taint> taints;
  std::string provider_id;
  ResourceList capacity, allocatable;
  std::vector<ContainerImage> images;
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

// batch/v1 Job spec.podFailurePolicy rule: exactly one of onExitCodes / onPodConditions.
struct PodFailurePolicyRule {
  std::string action;  // FailJob | FailIndex | Ignore | Count
  bool on_exit_codes = false;
  std::optional<std::string> container_name;
  std::string exit_code_operator;  // In | NotIn
  std::vector<int32_t> exit_code_values;
  std::vector<std::pair<std::string, std::string>> on_pod_conditions;  // type, status
};
// batch/v1 Job spec.successPolicy rule (Indexed Jobs).
struct SuccessPolicyRule {
  std::optional<std::string> succeeded_indexes;  // "0,2-4"
  std::optional<int32_t> succeeded_count;
};

struct Job {
  ObjectMeta metadata;
  std::optional<int32_t> parallelism, completions;
  int32_t backoff_limit = 6;  // MaxInt32 when backoffLimitPerIndex is set and this is not
  std::optional<std::vector<PodFailurePolicyRule>> pod_failure_policy;
  std::optional<int32_t> backoff_limit_per_index, max_failed_indexes;
  std::vector<SuccessPolicyRule> success_policy;
  std::optional<int64_t> active_deadline_seconds;
  std::optional<int64_t> ttl_seconds_after_finished;  // the TTL-after-finished controller
  bool suspend = false;
  std::string completion_mode = "NonIndexed";
  // Boxed: a month's finished Jobs keep only their status (JobController::Finish empties it).
  Box<PodTemplateSpec> template_;
};

// jobset.x-k8s.io/v1alpha2 JobSet (kubernetes-sigs/jobset api/jobset/v1alpha2): Jobs
// <name>-<replicatedJob>-<index> from each replicatedJob's template, succeeding and failing
// together under its success and failure policies.
struct JobSetFailurePolicyRule {
  std::string name;
  std::string action;  // FailJobSet | RestartJobSet | RestartJobSetAndIgnoreMaxRestarts |
                       // RestartJob | RestartJobAndIgnoreMaxRestarts
  std::vector<std::string> on_job_failure_reasons, on_job_failure_message_patterns,
      target_replicated_jobs;
};

struct ReplicatedJob {
  std::string name, group_name = "default";
  int32_t replicas = 1;
  Job template_;  // the Job template: its metadata (labels, annotations) and spec
  // dependsOn (at most 5 in JobSet v0.12): each replicatedJob's name and Ready|Complete.
  std::vector<std::pair<std::string, std::string>> depends_on;
  SourceRef source;
};

struct JobSet {
  ObjectMeta metadata;
  std::vector<ReplicatedJob> replicated_jobs;
  std::string success_operator = "All";                     // All | Any
  std::vector<std::string> success_target_replicated_jobs;  // empty: all
  bool failure_policy = false;                              // spec.failurePolicy given
  int32_t max_restarts = 0;
  std::string restart_strategy = "Recreate";  // Recreate | BlockingRecreate | InPlaceRestart
  std::vector<JobSetFailurePolicyRule> failure_rules;
  std::string startup_policy_order = "AnyOrder";  // AnyOrder | InOrder
  bool suspend = false;
  std::optional<int32_t> ttl_seconds_after_finished;
  bool enable_dns_hostnames = true;
  std::string subdomain;  // defaults to the JobSet's name
  std::optional<std::string> managed_by;
  // Exclusive placement (alpha.jobset.sigs.k8s.io/exclusive-topology): one Job per domain.
  std::string exclusive_topology;
};

// kubeflow.org/v1 PyTorchJob (kubeflow/training-operator v1.9): a Master and Workers as
// pods the operator creates itself, one headless Service each.
struct PyTorchReplicaSpec {
  std::string type;  // Master | Worker
  int32_t replicas = 1;
  std::string restart_policy = "OnFailure";  // Always | OnFailure | Never | ExitCode
  PodTemplateSpec template_;
  SourceRef source;
};

struct PyTorchJob {
  ObjectMeta metadata;
  std::vector<PyTorchReplicaSpec> replica_specs;  // Master first, then Worker
  std::string clean_pod_policy = "None";          // All | Running | None
  std::optional<int32_t> ttl_seconds_after_finished, backoff_limit;
  std::optional<int64_t> active_deadline_seconds;
  bool suspend = false;
  std::optional<std::string> managed_by;
  std::string priority_class;  // runPolicy.schedulingPolicy.priorityClass (Kueue reads it)
  bool elastic = false;
  std::optional<int32_t> elastic_min_replicas, elastic_max_replicas;
  const PyTorchReplicaSpec* Master() const {
    for (const auto& r : replica_specs) {
      if (r.type == "Master") return &r;
    }
    return nullptr;
  }
};

// trainer.kubeflow.org/v1alpha1 ClusterTrainingRuntime (cluster-scoped) and TrainingRuntime
// (namespaced), Kubeflow Trainer v2.3 (pkg/apis/trainer/v1alpha1/trainingruntime_types.go): a
// JobSet template a TrainJob is built from, with the ML policy that shapes it.
struct TrainingRuntime {
  ObjectMeta metadata;
  bool cluster_scoped = false;  // ClusterTrainingRuntime
  // spec.mlPolicy: absent, or numNodes (nil means 1) and at most one framework policy.
  bool ml_policy = false;
  std::optional<int32_t> num_nodes;
  std::string framework;  // torch | mpi | flux | jax | xgboost | "" (plain ML)
  // mlPolicy.torch.envInjection targets: job name, container names.
  std::vector<std::pair<std::string, std::vector<std::string>>> torch_env_injection;
  int32_t mpi_num_proc_per_node = 1;  // mlPolicy.mpi.numProcPerNode (CRD default 1)
  bool mpi_run_launcher_as_node = false;
  std::string pod_group_policy;  // coscheduling | volcano | "" (not modelled: warned)
  // spec.template: the JobSet's labels and annotations, and its spec as the JobSet webhook
  // will default it (name and namespace come from the TrainJob).
  Labels template_labels, template_annotations;
  JobSet template_;
  SourceRef source;
};

// One entry of a TrainJob's spec.runtimePatches[].trainingRuntimeSpec.template.spec
// .replicatedJobs: what a manager (a user, Kueue) patches into one replicatedJob, merged as a
// strategic merge patch (maps merged, tolerations and affinity terms replaced, scheduling
// gates and containers merged by name).
struct ReplicatedJobPatch {
  std::string name;
  Labels job_labels, job_annotations;  // template.metadata
  Labels labels, annotations;          // template.spec.template.metadata
  Labels node_selector;
  std::optional<std::vector<Toleration>> tolerations;
  // affinity: each term list given replaces the template's (an empty list is no patch).
  std::optional<NodeAffinity> node_affinity;
  std::optional<PodAffinity> pod_affinity, pod_anti_affinity;
  std::vector<std::string> scheduling_gates;
  std::optional<std::string> service_account_name;
  std::optional<int64_t> termination_grace_period_seconds;
  // containers[] / initContainers[] by name: their literal env and every env name.
  struct ContainerPatch {
    std::string name;
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<std::string> env_names;
  };
  std::vector<ContainerPatch> containers, init_containers;
  SourceRef source;
};

struct RuntimePatch {
  std::string manager;
  Labels labels, annotations;  // trainingRuntimeSpec.template.metadata (the JobSet's)
  std::vector<ReplicatedJobPatch> replicated_jobs;
  SourceRef source;
};

// trainer.kubeflow.org/v1alpha1 TrainJob (Kubeflow Trainer v2.3, trainjob_types.go) as its CRD
// defaults it: a runtime reference and what the trainer overrides in it.
struct TrainJob {
  ObjectMeta metadata;
  std::string runtime_name;
  std::string runtime_api_group = "trainer.kubeflow.org";
  std::string runtime_kind = "ClusterTrainingRuntime";  // | TrainingRuntime
  SourceRef runtime_ref_source;                         // spec.runtimeRef.name
  // spec.trainer (nil: no overrides, and no PET_* env).
  bool trainer = false;
  std::optional<std::string> image;
  std::optional<std::vector<std::string>> command, args;
  std::vector<std::pair<std::string, std::string>> env;  // literal values
  std::vector<std::string> env_names;                    // every name, valueFrom too
  std::optional<int32_t> num_nodes, num_proc_per_node;
  std::optional<ResourceRequirements> resources_per_node;
  SourceRef trainer_source;
  // spec.initializer: whether each is configured, and its storageUri.
  bool dataset_initializer = false, model_initializer = false;
  std::optional<std::string> dataset_storage_uri, model_storage_uri;
  std::vector<RuntimePatch> runtime_patches;
  bool suspend = false;
  int64_t active_deadline_seconds = 0;  // 0: none
  std::string managed_by = "trainer.kubeflow.org/trainjob-controller";
};

// leaderworkerset.x-k8s.io/v1 LeaderWorkerSet (kubernetes-sigs/lws v0.7): `replicas` groups of
// a leader and size-1 workers, as defaulted by its webhook.
struct LeaderWorkerSet {
  ObjectMeta metadata;
  int32_t replicas = 1;
  int32_t size = 1;                                // pods per group, leader included
  std::optional<PodTemplateSpec> leader_template;  // nil: the leader uses the worker template
  PodTemplateSpec worker_template;
  std::string restart_policy = "RecreateGroupOnPodRestart";  // | None (Default means None)
  std::string startup_policy = "LeaderCreated";              // | LeaderReady
  std::string subdomain_policy = "Shared";                   // | UniquePerReplica
  std::optional<int32_t> sub_group_size;
  std::string sub_group_policy_type = "LeaderWorker";  // | LeaderExcluded
  std::string max_unavailable = "1", max_surge = "0";  // int or percentage
  int32_t partition = 0;
  // leaderworkerset.sigs.k8s.io/exclusive-topology: a group per topology domain.
  std::string exclusive_topology;
  SourceRef source;
  const PodTemplateSpec& LeaderTemplate() const {
    return leader_template ? *leader_template : worker_template;
  }
};

// batch/v1 CronJob: Jobs from jobTemplate on a cron schedule.
struct CronJob {
  ObjectMeta metadata;
  std::string schedule;
  std::optional<std::string> time_zone;
  std::optional<int64_t> starting_deadline_seconds;
  std::string concurrency_policy = "Allow";  // Allow | Forbid | Replace
  bool suspend = false;
  int32_t successful_jobs_history_limit = 3, failed_jobs_history_limit = 1;
  Job job_template;  // metadata: the Jobs' labels and annotations
};

// apps/v1 StatefulSet: pods <name>-<ordinal> with stable names.
struct StatefulSet {
  ObjectMeta metadata;
  int32_t replicas = 1;
  LabelSelector selector;
  std::string service_name;
  std::string pod_management_policy = "OrderedReady";  // OrderedReady | Parallel
  int32_t ordinals_start = 0;
  int32_t min_ready_seconds = 0;
  PodTemplateSpec template_;
};

struct DaemonSet {
  ObjectMeta metadata;
  LabelSelector selector;
  PodTemplateSpec template_;
};

// core/v1 Service: the pods its selector picks are its endpoints (EndpointSlices).
struct ServicePort {
  std::string name, protocol = "TCP";
  int32_t port = 0;
  std::string target_port;
};
struct Service {
  ObjectMeta metadata;
  std::string type = "ClusterIP";
  Labels selector;  // empty: no endpoints are managed
  std::vector<ServicePort> ports;
  std::string session_affinity = "None";
  bool publish_not_ready_addresses = false;
  // Whether a pod of that namespace and labels is one of its endpoints.
  bool Selects(const std::string& namespace_, const Labels& labels) const {
    if (selector.empty() || namespace_ != metadata.namespace_) return false;
    for (const auto& [k, v] : selector) {
      auto it = labels.find(k);
      if (it == labels.end() || it->second != v) return false;
    }
    return true;
  }
};

// autoscaling/v2 HorizontalPodAutoscaler.
struct MetricTarget {
  std::string type;  // Utilization | Value | AverageValue
  std::optional<int32_t> average_utilization;
  std::optional<Quantity> value, average_value;
};
struct MetricSpec {
  SourceRef source;
  std::string type;                 // Resource | ContainerResource | Pods | Object | External
  std::string resource, container;  // Resource, ContainerResource
  std::string metric_name;          // Pods, Object, External
  std::optional<LabelSelector> metric_selector;
  std::string object_kind, object_name, object_api_version;  // Object: describedObject
  MetricTarget target;
};
struct HPAScalingPolicy {
  std::string type;  // Pods | Percent
  int32_t value = 0, period_seconds = 0;
};
struct HPAScalingRules {
  std::optional<int32_t> stabilization_window_seconds;
  std::optional<std::string> select_policy;  // Max | Min | Disabled
  std::optional<std::vector<HPAScalingPolicy>> policies;
};
struct HPABehavior {
  std::optional<HPAScalingRules> scale_up, scale_down;
};
struct HorizontalPodAutoscaler {
  ObjectMeta metadata;
  std::string target_kind, target_name, target_api_version;
  int32_t min_replicas = 1;
  int32_t max_replicas = 0;
  std::vector<MetricSpec> metrics;  // empty in YAML: CPU at 80 % (API defaulting)
  std::optional<HPABehavior> behavior;
};

// keda.sh/v1alpha1 ScaledObject (KEDA 2.x): the defaults are KEDA's.
struct ScaledObjectTrigger {
  SourceRef source;
  std::string type;  // prometheus | cpu | memory | cron (others: warned)
  std::string name;
  std::map<std::string, std::string> metadata;
  std::string metric_type;  // AverageValue (default) | Value | Utilization
  bool use_cached_metrics = false;
};
struct ScaledObject {
  ObjectMeta metadata;
  std::string target_kind = "Deployment", target_name;
  int32_t polling_interval = 30, cooldown_period = 300, initial_cooldown_period = 0;
  int32_t min_replica_count = 0, max_replica_count = 100;
  std::optional<int32_t> idle_replica_count;
  std::optional<int32_t> fallback_failure_threshold, fallback_replicas;
  std::string hpa_name;  // advanced.horizontalPodAutoscalerConfig.name
  std::optional<HPABehavior> behavior;
  std::vector<ScaledObjectTrigger> triggers;
};

// networking.k8s.io/v1 Ingress: the Services it routes to (ingress-nginx reads its
// nginx.ingress.kubernetes.io/ annotations).
struct IngressBackend {
  std::string host, path, service;
  std::string port;  // number or name
};
struct Ingress {
  ObjectMeta metadata;
  std::string ingress_class;  // spec.ingressClassName
  std::vector<IngressBackend> backends;
  std::optional<IngressBackend> default_backend;
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
  // migManager: enabled (default true), config.name (default-mig-parted-config, which the
  // operator creates) and config.default (the mig.config label of unlabelled nodes).
  bool mig_manager_enabled = true;
  std::string mig_manager_config_name, mig_manager_default_config;
  bool driver_enabled = true;
  std::string driver_version;         // driver.version ("550.90.07"), "" for the operator's default
  bool dcgm_exporter_enabled = true;  // dcgmExporter.enabled
  // dcgmExporter.args and env (KUBERNETES_VIRTUAL_GPUS and the like).
  std::vector<std::string> dcgm_exporter_args;
  std::vector<std::pair<std::string, std::string>> dcgm_exporter_env;
};

// Prometheus rules (a rule file's groups, or a monitoring.coreos.com/v1 PrometheusRule's
// spec.groups): recording rules (`record`) and alerting rules (`alert`).
struct PrometheusRuleSpec {
  SourceRef source;
  std::string alert, record, expr;
  Duration for_{0}, keep_firing_for{0};
  Labels labels, annotations;
};
struct PrometheusRuleGroup {
  SourceRef source;
  std::string name, file;  // file: where it came from (a rule file, or namespace/name)
  std::optional<Duration> interval;
  std::vector<PrometheusRuleSpec> rules;
};

// kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration: the knobs the twin honours.
struct ScoringResource {
  std::string name;
  int64_t weight = 1;
};
struct UtilizationShapePoint {
  int64_t utilization = 0, score = 0;
};
// A plugin named in a profile's plugins.<extension point>.enabled.
struct SchedulerPlugin {
  std::string name;
  std::optional<int64_t> weight;  // score plugins
  SourceRef source;
};
struct SchedulerPluginSet {
  std::vector<SchedulerPlugin> enabled;
  std::vector<std::string> disabled;  // "*": every default plugin of the extension point
};
struct KubeSchedulerConfiguration {
  SourceRef source;
  int32_t percentage_of_nodes_to_score = 0;  // 0: adaptive
  int64_t pod_initial_backoff_seconds = 1, pod_max_backoff_seconds = 10;
  // NodeResourcesFitArgs.scoringStrategy
  std::string scoring_strategy = "LeastAllocated";
  std::vector<ScoringResource> scoring_resources = {{"cpu", 1}, {"memory", 1}};
  std::vector<UtilizationShapePoint> shape;  // RequestedToCapacityRatio
  // plugins.<extension point> by its field name: multiPoint, preEnqueue, preFilter, filter,
  // postFilter, preScore, score, ...
  std::map<std::string, SchedulerPluginSet> plugins;
  // PodTopologySpreadArgs: System (the built-in soft zone/hostname spreading) or List.
  std::string spread_defaulting_type = "System";
  std::vector<TopologySpreadConstraint> spread_default_constraints;
  // InterPodAffinityArgs.
  int32_t hard_pod_affinity_weight = 1;
  bool ignore_preferred_terms_of_existing_pods = false;
};

}  // namespace gputwin::api
