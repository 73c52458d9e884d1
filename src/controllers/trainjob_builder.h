// The JobSet Kubeflow Trainer v2.3 builds for a TrainJob from its (Cluster)TrainingRuntime
// (pkg/runtime/core/trainingruntime.go newRuntimeInfo and mergeRuntimePatches, the ML policy
// plugins' EnforceMLPolicy, jobset plugin SyncParallelCount and Build, jobset/builder.go).
// Shared by the TrainJob controller and Kueue's TrainJob integration, which runs the
// trainer's own code to compute its PodSets (kueue pkg/controller/jobs/trainjob
// getChildJobSet).
#pragma once

#include <string>
#include <vector>

#include "api/types.h"

namespace gputwin::controllers {

inline constexpr const char* kTrainJobAncestorLabel = "trainer.kubeflow.org/trainjob-ancestor-step";
inline constexpr const char* kTrainJobController = "trainer.kubeflow.org/trainjob-controller";

struct TrainJobBuild {
  api::JobSet job_set;
  // The nodes the trainer runs on: the trainer PodSet's count (torch's PET_NNODES); for MPI
  // the Job "node"'s, plus the launcher when it runs as a node.
  int32_t trainer_nodes = 1;
};

// The runtime a TrainJob's runtimeRef names (a ClusterTrainingRuntime by name, a
// TrainingRuntime in the TrainJob's namespace), or nullptr.
const api::TrainingRuntime* FindTrainingRuntime(const std::vector<api::TrainingRuntime>& runtimes,
                                                const api::TrainJob& tj);

// The JobSet named and namespaced as the TrainJob, owned by it, suspended as it is:
// 1. labels and annotations: the runtime template's, then each runtime patch's;
// 2. the runtime patches' replicatedJobs merged in order (strategic merge: maps merged,
//    tolerations and affinity terms replaced, scheduling gates and containers by name);
// 3. each replicatedJob's count: parallelism (default 1); the trainer ancestor's (label
//    trainer.kubeflow.org/trainjob-ancestor-step: trainer) mlPolicy.numNodes (default 1)
//    when the runtime has an mlPolicy, then trainer.numNodes (MPI: the Job named "node",
//    one less with runLauncherAsNode); at least 1;
// 4. trainer.resourcesPerNode merged per resource over the trainer's "node" container
//    (v2.3; v2.2 replaced the container's resources) when the runtime has an mlPolicy;
// 5. parallelism = completions = count for every replicatedJob; ancestor Jobs replicas 1;
// 6. the "node" container of the trainer ancestor: image, command, args, env; torch's PET_*
//    environment (nothing the twin reads: documented, not simulated);
// 7. the pod-group plugins' pod label or annotation (their PodGroups are not modelled).
// The twin's own convention: the TrainJob's gputwin.io/ annotations (run time, exit code,
// checkpoints, ...) describe what its trainer does and go to the trainer's pod templates;
// gputwin.io/gang goes to the JobSet. Upstream propagates none of the TrainJob's metadata.
TrainJobBuild BuildTrainJobJobSet(const api::TrainJob& tj, const api::TrainingRuntime& rt);

}  // namespace gputwin::controllers
