// The live objects held by the store: pods, nodes and the workload controllers' objects,
// with the status fields the controllers write.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/types.h"
#include "cluster/resources.h"
#include "core/index_list.h"
#include "gpushare/gpushare.h"

namespace gputwin::cluster {

using PodId = uint32_t;
using NodeId = uint32_t;
inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
inline constexpr Time kNever{std::numeric_limits<int64_t>::min()};

// What a container does, from the gputwin.io/ annotations (docs/annotations.md).
struct PodBehavior {
  std::optional<Duration> run_time;  // absent: runs until deleted
  int32_t exit_code = 0;
  // gputwin.io/exit-code-by-index: an Indexed Job's pods that end otherwise, by index.
  // Entries as written, intervals kept whole; a later entry naming an index wins.
  struct IndexExitCode {
    IndexInterval indexes;
    int32_t code = 0;
    bool operator==(const IndexExitCode&) const = default;
  };
  std::vector<IndexExitCode> exit_code_by_index;
  int32_t ExitCode(int32_t completion_index) const {
    for (auto it = exit_code_by_index.rbegin(); it != exit_code_by_index.rend(); ++it) {
      if (it->indexes.first <= completion_index && completion_index <= it->indexes.last) {
        return it->code;
      }
    }
    return exit_code;
  }
  double gpu_utilization = 1.0;
  int64_t gpu_memory = 0;  // bytes
  int64_t image_size = 0;  // bytes, summed over the pod's images
  // Training checkpoints (gputwin.io/checkpoint-interval, gputwin.io/checkpoint-cost):
  // every `interval` of work the container spends `cost` writing a checkpoint; a pod of
  // the same Job (same completion index) resumes from the last one.
  std::optional<Duration> checkpoint_interval;
  Duration checkpoint_cost{0};
  // Distributed training's network (gputwin.io/step-time, gputwin.io/gradient-size): a
  // step's compute time with the gang well placed, and the bytes every step all-reduces.
  std::optional<Duration> step_time;
  int64_t gradient_bytes = 0;
};

// Everything the pods stamped from one template share. Pods from one ReplicaSet or Job
// point at one of these, so a million pods cost a million small records, not specs.
struct PodTemplateInfo {
  uint32_t id = 0;
  api::ObjectMeta metadata;  // labels and annotations of the pods
  // The spec after admission, shared by every template with an equal one (Store::InternSpec):
  // a month of Jobs from one generator holds one spec, not one each.
  std::shared_ptr<const api::PodSpec> spec;
  ResourceVec requests;  // PodRequests: max(Σ containers, each init container) + overhead
  ResourceVec limits;
  bool has_cpu_request = false, has_memory_request = false;
  int64_t nonzero_cpu = 0, nonzero_memory = 0;  // for scoring (NonZeroRequested)
  int32_t priority = 0;
  bool preempt_never = false;
  PodBehavior behavior;
  std::vector<std::string> images;
  // A share of GPUs as in Alibaba's GPU-sharing clusters: annotations
  // alibabacloud.com/gpu-milli (per GPU), alibabacloud.com/gpu-count,
  // alibabacloud.com/gpu-card-model.
  bool uses_gpu_share = false;
  gpushare::PodShape gpu_share;
};

enum class PodPhase : uint8_t { kPending, kRunning, kSucceeded, kFailed };
const char* PhaseName(PodPhase p);

// Why an unbound pod is waiting, in the words a user sees: the PodScheduled condition's
// reasons (SchedulingGated, Unschedulable) and Karpenter's Nominated event. (Once bound,
// kubectl's ContainerCreating runs from scheduledAt to startedAt: no entry needed.)
enum class PodWait : uint8_t {
  kQueued,  // in kube-scheduler's queue, not yet judged (e.g. just ungated)
  kSchedulingGated,
  kUnschedulable,
  kNominated,
};
const char* PodWaitName(PodWait w);

enum class OwnerKind : uint8_t {
  kNoOwner,
  kReplicaSet,
  kJob,
  kDaemonSet,
  kGenerator,
  kStatefulSet,
  kPyTorchJob,
  kLeaderWorkerSet,
  kRayCluster
};
struct Owner {
  OwnerKind kind = OwnerKind::kNoOwner;
  uint32_t index = kNone;
};

struct PodRecord {
  std::string namespace_, name, uid;
  std::shared_ptr<const PodTemplateInfo> tmpl;
  Owner owner;
  int32_t completion_index = -1;  // Indexed Jobs
  PodPhase phase = PodPhase::kPending;
  NodeId node = kNone, nominated_node = kNone, daemon_node = kNone;
  Time created_at, scheduled_at = kNever, started_at = kNever, finished_at = kNever,
                   deleted_at = kNever;
  int32_t restart_count = 0;
  std::string reason, message;  // status.reason/message, or the PodScheduled condition's
  bool unschedulable = false;   // PodScheduled=False, reason Unschedulable
  bool deleted = false;
  // How the containers ended, for a Job's podFailurePolicy: the exit code of the terminated
  // container (-1: none terminated, as when the node vanished), and whether every container
  // got it (killed on deletion: SIGTERM, 143) or only the first (the workload's own exit).
  int32_t exit_code = -1;
  bool exit_all_containers = false;
  // The DisruptionTarget condition's reason (PreemptionByScheduler, DeletionByTaintManager,
  // EvictionByEvictionAPI, DeletionByPodGC); empty: no such condition.
  std::string disruption_target;
  uint32_t gang = kNone;                      // the gang its work advances with (see Gang)
  std::vector<std::string> scheduling_gates;  // spec.schedulingGates not yet removed
  // Why it waited before binding, each from its time until the next one (or until
  // scheduled_at); empty for a pod bound when created.
  std::vector<std::pair<Time, PodWait>> waits;
  void NoteWait(Time at, PodWait w) {
    if (waits.empty() || waits.back().second != w) waits.emplace_back(at, w);
  }
  bool IsGatedBy(const std::string& gate) const {
    for (const auto& g : scheduling_gates) {
      if (g == gate) return true;
    }
    return false;
  }
  std::vector<uint32_t> devices;           // indexes into the node's DeviceUnits it was given
  std::vector<int32_t> gpu_share_devices;  // GPU indexes of its share (Open-Gpu-Share)
  // Kubelet bookkeeping: a generation invalidates timers of an earlier container run.
  uint32_t run_generation = 0;
  Time container_started = kNever;
  // The Ready condition when a prober owns it (serving pods' readiness probes); pods
  // without one are Ready while Running, since their container started.
  // GPU activity a workload model reports for the DCGM exporter (serving: vLLM engines),
  // cumulative seconds of kernels running and of the tensor pipes at full rate, and the
  // GPU memory the process holds per device; unset for pods the exporter models from
  // their behavior.
  bool gpu_activity_reported = false;
  double gpu_busy_seconds = 0, gpu_tensor_seconds = 0;
  int64_t gpu_memory_mib = 0;
  bool readiness_probed = false;
  bool readiness_by_workload = false;  // a workload model (serving) owns the probe's result
  Time ready_at = kNever;              // kNever: not Ready

  bool Ready() const {
    if (phase != PodPhase::kRunning || deleted) return false;
    return readiness_probed ? ready_at != kNever : true;
  }
  Time ReadySince() const { return readiness_probed ? ready_at : container_started; }

  bool Terminal() const { return phase == PodPhase::kSucceeded || phase == PodPhase::kFailed; }
  bool Bound() const { return node != kNone; }
  std::string Key() const { return namespace_ + "/" + name; }
};

// One device the NVIDIA device plugin advertises on a node: a whole GPU, a MIG instance,
// or one replica of either when sharing (time-slicing or MPS) is configured.
struct DeviceUnit {
  std::string resource;    // nvidia.com/gpu, nvidia.com/gpu.shared, nvidia.com/mig-1g.10gb
  std::string id;          // the plugin's device ID: GPU-3, MIG-3-1, GPU-3::2
  int32_t gpu = 0;         // physical GPU index
  int32_t mig = -1;        // MIG instance on that GPU, -1 for a whole GPU
  int32_t replica = -1;    // replica index when shared, -1 otherwise
  int64_t memory_mib = 0;  // memory of the GPU or MIG instance (replicas share it)
  double compute = 1.0;    // share of the whole GPU's compute (a MIG 3g: 3/7)
  uint32_t pod = kNone;    // the pod holding it
};

// Work a pod lost when it was deleted while running (evicted, preempted, its node
// interrupted): what it had done since its last checkpoint (or all of it).
struct LostWork {
  PodId pod = 0;
  Time at{0};
  double seconds = 0;      // wall-clock seconds of the container's work lost
  double gpu_seconds = 0;  // × the GPUs it held
  std::string reason;      // the pod's status reason/message when deleted
};

struct NodeRecord {
  api::Node obj;  // labels, taints, unschedulable as they are now
  ResourceVec allocatable;
  ResourceVec requested;  // Σ requests of non-terminal pods bound here
  int64_t nonzero_cpu = 0, nonzero_memory = 0;
  std::vector<PodId> pods;  // non-terminal pods bound here
  // Σ requests (with the pod count at kPods) of `pods` by priority, ascending: what
  // preemption's dry run frees by evicting every lower-priority pod, without reading them.
  struct PriorityRequests {
    int32_t priority = 0;
    int64_t pods = 0;
    ResourceVec requests;
  };
  std::vector<PriorityRequests> by_priority;
  bool ready = true;            // the Ready condition as the API server sees it
  bool kubelet_posting = true;  // false: the kubelet stopped posting status
  Time kubelet_stopped_at = kNever;
  Time created_at, ready_at = kNever, deleted_at = kNever;
  bool deleted = false;
  std::map<std::string, Time> images;  // kubelet image cache: image → when its pull completes
  // Physical GPUs (from gputwin.io/gpu-model and gputwin.io/gpu-count, or GFD labels).
  std::string gpu_model;
  int32_t gpu_count = 0;
  bool device_plugin_registered = false;
  bool fail_requests_greater_than_one = false;  // the plugin's sharing setting
  std::vector<DeviceUnit> devices;              // what the device plugin advertises, with holders
  // GPU sharing (Open-Gpu-Share): milli-GPU left per device and GPU pods per affinity tag,
  // from annotations alibabacloud.com/gpu-count and alibabacloud.com/gpu-card-model.
  std::vector<int32_t> gpu_share_left;
  std::string gpu_share_model;
  // Peak GPU memory held by running pods per GPU or MIG device ("GPU-0", "MIG-0-1"), MiB,
  // with the device's size: the headroom a run left.
  std::map<std::string, std::pair<int64_t, int64_t>> gpu_peak_memory;
  std::array<int32_t, 9> gpu_share_affinity{};
  const std::string& name() const { return obj.metadata.name; }
};

struct DeploymentRecord {
  api::Deployment obj;
  uint32_t replica_set = kNone;
  bool deleted = false;
};

struct ReplicaSetRecord {
  api::ReplicaSet obj;
  std::shared_ptr<const PodTemplateInfo> tmpl;
  uint32_t deployment = kNone;
  std::vector<PodId> pods;  // live (not deleted) pods it owns
  uint32_t next_suffix = 0;
  bool deleted = false;
};

// Pods whose work advances only while all `size` of them run (or have succeeded): the
// workers of a distributed training job, blocked in their collectives while one is
// missing. Set by the controller that creates them (JobSet); the kubelet keeps the pace.
struct Gang {
  std::string name;  // namespace/name of the owning object, for messages
  int32_t size = 0;
  // What the kubelet saw (the report's training figures): GPU-seconds held by running
  // members while the gang advanced, and while it waited for a missing member.
  double advancing_gpu_seconds = 0, waiting_gpu_seconds = 0;
  double waiting_seconds = 0;   // time with a member running but the gang incomplete
  double lost_gpu_seconds = 0;  // work its members lost (deleted, or back to a checkpoint)
  // A step's time where the gang last ran complete, over its time in one bottom-layer
  // network domain (1: no network model, or placed that well).
  double step_slowdown = 1;
};

struct JobRecord {
  api::Job obj;
  uint32_t gang = kNone;  // its pods' gang
  std::shared_ptr<const PodTemplateInfo> tmpl;
  std::vector<PodId> pods;      // live pods it owns
  std::vector<PodId> all_pods;  // every pod it created, for cascading deletion
  int32_t succeeded = 0, failed = 0;
  std::vector<bool> succeeded_indexes;  // Indexed mode
  // backoffLimitPerIndex: indexes given up on (status.failedIndexes) and each index's
  // counted and ignored failures (the pods' job-index-failure-count annotations).
  std::vector<bool> failed_indexes;
  std::vector<int32_t> index_failures, index_ignored_failures;
  std::vector<Time> index_last_failure;
  Time start_time = kNever, completion_time = kNever, last_failure = kNever;
  std::string condition;  // "", "Complete" or "Failed"
  std::string condition_reason, condition_message;
  uint32_t next_suffix = 0;
  bool deleted = false;
};

// A JobSet: its spec (suspend and the templates as Kueue last set them) and the status its
// controller keeps (kubernetes-sigs/jobset JobSetStatus), read by Kueue and the report.
struct JobSetRecord {
  api::JobSet obj;
  struct ReplicatedJobStatus {
    int32_t ready = 0, succeeded = 0, failed = 0, active = 0, suspended = 0;
    bool operator==(const ReplicatedJobStatus&) const = default;
  };
  struct Condition {
    Time at;
    std::string type, reason, message;
  };
  std::string terminal_state;  // "", Completed or Failed
  Time finished_at = kNever;
  int32_t restarts = 0, restarts_count_towards_max = 0;
  std::vector<ReplicatedJobStatus> replicated;  // per replicatedJob
  std::vector<Condition> history;               // conditions as they turned True
  // The controller's bookkeeping: the current attempt's Jobs (by global index), its gang.
  std::vector<uint32_t> jobs;
  uint32_t gang = kNone;             // the current attempt's
  std::vector<uint32_t> past_gangs;  // earlier attempts' (their figures still count)
  bool startup_completed = false;
  bool deleted = false;
};

// A PyTorchJob (kubeflow.org/v1) and the status the training operator keeps.
struct PyTorchJobRecord {
  api::PyTorchJob obj;
  struct ReplicaStatus {
    int32_t active = 0, succeeded = 0, failed = 0;
    bool operator==(const ReplicaStatus&) const = default;
  };
  struct Condition {
    Time at;
    std::string type, reason, message;
  };
  std::vector<std::vector<PodId>> pods;  // per replica spec, per index: the pod, or kNone
  std::vector<std::shared_ptr<const PodTemplateInfo>> tmpl;  // per replica spec
  std::vector<ReplicaStatus> replicas;                       // per replica spec
  std::vector<Condition> history;  // conditions as they turned True, in order
  std::string condition;           // the last True condition: Created, Running, Restarting, ...
  Time start_time = kNever, completion_time = kNever;
  uint32_t gang = kNone;
  bool deleted = false;
  bool Finished() const { return condition == "Succeeded" || condition == "Failed"; }
};

// A TrainJob (trainer.kubeflow.org/v1alpha1, Kubeflow Trainer v2.3) and the status its
// controller keeps: status.conditions (Suspended, Complete, Failed) and jobsStatus copied from
// its JobSet, which has the TrainJob's name.
struct TrainJobRecord {
  api::TrainJob obj;
  struct Condition {
    std::string type, status, reason, message;  // status "True" or "False"
    Time last_transition;
    bool operator==(const Condition&) const = default;
  };
  std::vector<Condition> conditions;  // in the order first set (meta.SetStatusCondition)
  std::vector<std::pair<std::string, JobSetRecord::ReplicatedJobStatus>> jobs_status;
  // metadata.generation: bumped by every change of the spec (Kueue's suspend and runtime
  // patch); the controller rebuilds its JobSet from the generation it has not built yet.
  int64_t generation = 1, built_generation = 0;
  Time built_at = kNever;     // when it last applied its JobSet
  uint32_t job_set = kNone;   // the JobSet it created
  int32_t trainer_nodes = 0;  // the trainer's node count as last built (PET_NNODES)
  Time created_at = kNever;
  bool deleted = false;
  const Condition* Find(const std::string& type) const {
    for (const auto& c : conditions) {
      if (c.type == type) return &c;
    }
    return nullptr;
  }
  bool IsTrue(const std::string& type) const {
    const Condition* c = Find(type);
    return c && c->status == "True";
  }
  bool Finished() const { return IsTrue("Complete") || IsTrue("Failed"); }
};

// A LeaderWorkerSet (leaderworkerset.x-k8s.io/v1) and what its controller keeps: per group,
// the leader (the leader StatefulSet's pod <lws>-<i>) and its workers (the worker
// StatefulSet <lws>-<i>'s pods <lws>-<i>-<j>), and the status it writes.
struct LeaderWorkerSetRecord {
  api::LeaderWorkerSet obj;
  struct Group {
    PodId leader = kNone;
    bool worker_sts = false;     // the worker StatefulSet exists (owned by the leader pod)
    std::vector<PodId> workers;  // ordinal j at j-1: the live pod, or kNone
    std::string topology_value;  // exclusive-topology: the leader's domain
    int32_t recreations = 0;     // times its leader went, and the group with it
  };
  struct Condition {
    Time at;
    std::string type, reason, message;
  };
  std::vector<Group> groups;
  // Templates per group: [0] the leader's, [j] worker j's (their per-pod labels).
  std::vector<std::vector<std::shared_ptr<const PodTemplateInfo>>> tmpl;
  int32_t ready_replicas = 0;
  std::string condition;           // Available or Progressing
  std::vector<Condition> history;  // conditions as they turned True
  bool deleted = false;
};

struct StatefulSetRecord {
  api::StatefulSet obj;
  std::vector<std::shared_ptr<const PodTemplateInfo>> tmpl;  // per ordinal (its pod-name label)
  std::vector<PodId> pods;  // per ordinal slot: the live pod, or kNone
  bool deleted = false;
};

struct DaemonSetRecord {
  api::DaemonSet obj;
  std::shared_ptr<const PodTemplateInfo> tmpl;
  std::vector<PodId> pods;
  bool deleted = false;
};

// A Kubernetes Event (core/v1), aggregated as the event correlator does: repeats of the
// same reason and message for the same object raise count and lastTimestamp.
struct KubeEvent {
  Time first_timestamp, last_timestamp;
  std::string type, reason, kind, namespace_, name, message, source;
  int32_t count = 1;
};

}  // namespace gputwin::cluster
