// Kueue's Workload for a batch/v1 Job (pkg/controller/jobs/job, jobframework): the Job's
// pods as one PodSet "main" of `parallelism` pods (Kueue admits a Job's parallelism, and
// partial admission may lower it to kueue.x-k8s.io/job-min-parallelism), per-pod requests
// as the kube effective requests, the LocalQueue from the kueue.x-k8s.io/queue-name label,
// and the priority resolved as Kueue does (ExtractPriority).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "cluster/resources.h"
#include "core/box.h"

namespace gputwin::kueue {

// A PodSet's Topology-Aware Scheduling request, from its template's annotations
// (jobframework/tas.go podSetTopologyRequestBuilder: required over preferred over
// unconstrained).
struct PodSetTopologyRequest {
  std::string required, preferred;  // a Topology level's node label
  bool unconstrained = false;
  std::string slice_level;       // podset-slice-required-topology
  int32_t slice_size = 0;        // podset-slice-size
  std::string pod_index_label;   // the label ranking pods (a Job's completion index)
  int32_t pod_index_offset = 0;  // kueue.x-k8s.io/pod-index-offset: subtracted from the label
  std::string group;             // podset-group-name (kept with required/preferred only)
  std::string Level() const { return !required.empty() ? required : preferred; }
};

struct PodSet {
  std::string name = "main";
  int32_t count = 0;
  std::optional<int32_t> min_count;  // partial admission
  api::ResourceList requests;        // per pod
  // The pod template (flavor matching: selector, tolerations); emptied when the Workload
  // finishes.
  Box<api::PodSpec> spec;
  std::optional<PodSetTopologyRequest> topology;
};

inline constexpr const char* kPodSetRequiredTopology = "kueue.x-k8s.io/podset-required-topology";
inline constexpr const char* kPodSetPreferredTopology = "kueue.x-k8s.io/podset-preferred-topology";
inline constexpr const char* kPodSetUnconstrainedTopology =
    "kueue.x-k8s.io/podset-unconstrained-topology";
inline constexpr const char* kPodSetSliceRequiredTopology =
    "kueue.x-k8s.io/podset-slice-required-topology";
inline constexpr const char* kPodSetSliceSize = "kueue.x-k8s.io/podset-slice-size";
inline constexpr const char* kPodSetGroupName = "kueue.x-k8s.io/podset-group-name";
inline constexpr const char* kPodIndexOffset = "kueue.x-k8s.io/pod-index-offset";
inline constexpr const char* kTopologySchedulingGate = "kueue.x-k8s.io/topology";

// The PodSet's TAS request from its pod template's annotations, validated as Kueue's
// webhook does (jobframework/tas_validation.go ValidateTASPodSetRequest: InputError naming
// the annotation); nullopt without any. `count`: the PodSet's pods.
std::optional<PodSetTopologyRequest> TopologyRequestOf(const api::ObjectMeta& tmpl, int32_t count,
                                                       const SourceRef& where,
                                                       const std::string& field_prefix);

struct Workload {
  std::string namespace_, name, queue_name;
  std::vector<PodSet> pod_sets;
  int32_t priority = 0;
  std::string priority_class_name;
  std::string priority_class_source;  // kueue.x-k8s.io/workloadpriorityclass,
                                      // scheduling.k8s.io/priorityclass, or ""
};

inline constexpr const char* kQueueNameLabel = "kueue.x-k8s.io/queue-name";
inline constexpr const char* kPriorityClassLabel = "kueue.x-k8s.io/priority-class";
inline constexpr const char* kMinParallelismAnnotation = "kueue.x-k8s.io/job-min-parallelism";
// The pod integration (pkg/controller/jobs/pod): its scheduling gate and group metadata.
inline constexpr const char* kAdmissionGate = "kueue.x-k8s.io/admission";
inline constexpr const char* kPodGroupNameKey = "kueue.x-k8s.io/pod-group-name";
inline constexpr const char* kPodGroupTotalCountAnnotation = "kueue.x-k8s.io/pod-group-total-count";
inline constexpr const char* kPodGroupFastAdmissionAnnotation =
    "kueue.x-k8s.io/pod-group-fast-admission";
inline constexpr const char* kPodGroupServingAnnotation = "kueue.x-k8s.io/pod-group-serving";

// Returns nullopt when the Job has no queue-name label (Kueue leaves it alone unless
// manageJobsWithoutQueueName). Throws InputError when the Job names a missing
// WorkloadPriorityClass.
std::optional<Workload> WorkloadForJob(const api::Job& job, const api::Manifests& m);

// The Workload of a JobSet naming a LocalQueue: a PodSet per replicatedJob.
std::optional<Workload> WorkloadForJobSet(const api::JobSet& js, const api::Manifests& m);

// The Workload of a PyTorchJob naming a LocalQueue: PodSets "master" and "worker".
std::optional<Workload> WorkloadForPyTorchJob(const api::PyTorchJob& job, const api::Manifests& m);

// The Workload of a TrainJob naming a LocalQueue (kueue pkg/controller/jobs/trainjob): the
// PodSets of the JobSet the trainer would build for it, one per replicatedJob. nullopt
// without a queue or without its runtime.
std::optional<Workload> WorkloadForTrainJob(const api::TrainJob& tj, const api::Manifests& m);

// The pod sets of a LeaderWorkerSet group's Workload (kueue jobs/leaderworkerset).
std::vector<PodSet> LeaderWorkerSetPodSets(const api::LeaderWorkerSet& lws);

// ExtractPriority: the WorkloadPriorityClass label, else the pod template's PriorityClass,
// else the global-default PriorityClass (the lowest if several), else 0. Throws InputError
// for a missing WorkloadPriorityClass.
void SetPriority(Workload* w, const api::Labels& labels, const api::PodSpec& spec,
                 const api::Manifests& m, const SourceRef& source);

// The Workload of a plain pod or a pod group (the pod integration): its pod sets as given.
Workload WorkloadForPods(const std::string& namespace_, const std::string& name,
                         const std::string& queue, const api::Labels& labels,
                         std::vector<PodSet> pod_sets, const api::Manifests& m,
                         const SourceRef& source);

// Per-pod requests as resourcehelpers.PodRequests: Σ containers, max with each init
// container, plus overhead; limits stand in for missing requests.
api::ResourceList PodRequests(const api::PodSpec& spec);

}  // namespace gputwin::kueue
