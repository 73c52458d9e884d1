// The live KubeRay objects (ray.io/v1) and the status their controllers keep
// (src/controllers/ray*.cc). Held by the Store behind a pointer: Store::ray().
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/ray_types.h"
#include "cluster/objects.h"

namespace gputwin::cluster {

// A status condition (metav1.Condition) as meta.SetStatusCondition keeps it.
struct RayCondition {
  std::string type, status, reason, message;
  Time last_transition{0};
};

// meta.SetStatusCondition: a new type is appended; lastTransitionTime moves only when the
// status does.
inline void SetStatusCondition(std::vector<RayCondition>* conditions, Time now,
                               const std::string& type, const std::string& status,
                               const std::string& reason, const std::string& message) {
  for (auto& c : *conditions) {
    if (c.type != type) continue;
    if (c.status != status) c.last_transition = now;
    c.status = status;
    c.reason = reason;
    c.message = message;
    return;
  }
  conditions->push_back({type, status, reason, message, now});
}

struct RayClusterRecord {
  api::RayCluster obj;      // the spec as now (patches, the RayJob's suspend, Kueue's admission)
  std::string origin_kind;  // RayJob | RayService | "" (ray.io/originated-from-crd)
  uint32_t origin = kNone;  // that object's index
  Time created_at{0};
  bool deleted = false;
  // The controller's view: the head pod, each group's live worker pods, templates.
  struct Worker {
    PodId pod = kNone;
    int32_t replica_index = 0;  // ray.io/worker-group-replica-index
    std::string replica_name;   // ray.io/worker-group-replica-name (numOfHosts > 1)
    int32_t host_index = 0;     // ray.io/replica-host-index
  };
  PodId head = kNone;
  std::vector<std::vector<Worker>> workers;  // per worker group
  uint32_t next_suffix = 0;
  uint32_t gang = kNone;  // a RayJob's: its cluster's pods and its submitter
  bool services_created = false;
  bool invalid_reported = false;
  // Bumped by whoever rewrites the pod templates (Kueue's admission): pods created after it
  // use the new ones.
  uint64_t template_generation = 0;
  // wait-gcs-ready: when each worker's ray container starts (the init container's first
  // health check at or after the head's GCS came up), by pod id.
  std::unordered_map<PodId, Time> ray_started;
  Time head_gcs_at = kNever;  // the current head's ray container start (its GCS)
  std::set<PodId> rejoining;  // workers whose raylet restarts after the head was lost
  // status
  std::string state;  // "" | ready | suspended
  std::map<std::string, Time> state_transition_times;
  std::string reason;
  int32_t ready_worker_replicas = 0, available_worker_replicas = 0, desired_worker_replicas = 0,
          min_worker_replicas = 0, max_worker_replicas = 0;
  api::ResourceList desired;  // desiredCPU, desiredMemory, desiredGPU, desiredTPU
  std::vector<RayCondition> conditions;
  const RayCondition* Find(const std::string& type) const {
    for (const auto& c : conditions) {
      if (c.type == type) return &c;
    }
    return nullptr;
  }
  bool IsTrue(const std::string& type) const {
    const RayCondition* c = Find(type);
    return c && c->status == "True";
  }
  // What watchers (the RayJob controller, Kueue) read of the status, to announce changes.
  std::string StatusKey() const {
    std::string k = state + "|" + std::to_string(ready_worker_replicas) + "|" +
                    std::to_string(available_worker_replicas) + "|" +
                    std::to_string(desired_worker_replicas) + "|" + std::to_string(head);
    for (const auto& c : conditions) k += "|" + c.type + "=" + c.status + "/" + c.reason;
    return k;
  }
};

struct RayJobRecord {
  api::RayJob obj;
  Time created_at{0};
  bool deleted = false;
  // status
  std::string job_deployment_status;  // "" (New) | Initializing | Running | Complete | ...
  std::string job_status;             // "" | PENDING | RUNNING | SUCCEEDED | FAILED | STOPPED
  std::string reason, message, job_id, ray_cluster_name, dashboard_url;
  Time start_time = kNever, end_time = kNever;
  int32_t succeeded = 0, failed = 0;
  // The controller's view.
  uint32_t cluster = kNone;    // the RayCluster it created (or selected)
  uint32_t submitter = kNone;  // the submitter Job
  uint32_t gang = kNone;       // the current attempt's
  std::vector<uint32_t> past_gangs;
  uint32_t next_suffix = 0;
  // The GCS (head container start) the submitter follows the job through; kNever once lost.
  Time gcs_seen = kNever;
  struct Transition {
    Time at;
    std::string status;
  };
  std::vector<Transition> history;  // jobDeploymentStatus as it changed
};

struct RayServiceRecord {
  api::RayService obj;
  Time created_at{0};
  bool deleted = false;
  uint32_t active = kNone, pending = kNone;  // RayClusters
  std::string active_name, pending_name;
  // Bumped by a change of spec.rayClusterConfig (Kueue's suspend and admission); the pending
  // cluster was made from `pending_generation`.
  uint64_t generation = 0, pending_generation = 0;
  uint32_t next_suffix = 0;
  bool services_created = false;
  Time serve_config_applied = kNever;     // to the pending/active cluster's dashboard
  Time apps_running_at = kNever;          // when every application is RUNNING
  std::vector<std::string> app_statuses;  // per application
  int32_t num_serve_endpoints = 0;
  std::string service_status;  // Running | ""
  std::vector<RayCondition> conditions;
  const RayCondition* Find(const std::string& type) const {
    for (const auto& c : conditions) {
      if (c.type == type) return &c;
    }
    return nullptr;
  }
};

struct RayStore {
  std::vector<RayClusterRecord> clusters;
  std::vector<RayJobRecord> jobs;
  std::vector<RayServiceRecord> services;
  // Live objects by namespace/name.
  std::unordered_map<std::string, uint32_t> cluster_by_key, job_by_key, service_by_key;
  uint32_t FindCluster(const std::string& ns, const std::string& name) const {
    auto it = cluster_by_key.find(ns + "/" + name);
    return it == cluster_by_key.end() ? kNone : it->second;
  }
};

}  // namespace gputwin::cluster
