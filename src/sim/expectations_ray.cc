// rayCluster, rayJob and rayService expectations: the status KubeRay's controllers keep.
#include "cluster/ray_objects.h"
#include "core/glob.h"
#include "sim/simulation.h"

namespace gputwin::sim {

namespace {

template <typename Rec>
const Rec* FindRay(const std::vector<Rec>& all, const std::string& ref) {
  const Rec* found = nullptr;
  for (const auto& r : all) {
    const auto& m = r.obj.metadata;
    // A glob: the clusters of RayJobs and RayServices are named <owner>-xxxxx.
    if (Glob(ref.c_str(), m.name.c_str()) ||
        Glob(ref.c_str(), (m.namespace_ + "/" + m.name).c_str())) {
      found = &r;  // the latest
    }
  }
  return found;
}

std::string When(Time t, Time t0) {
  return t == cluster::kNever ? "never" : FormatDuration(t - t0);
}

}  // namespace

// Each names its object "namespace/name" or "name", a glob (the latest match counts).
// rayCluster: state (and readyAt: when it became ready), readyWorkerReplicas,
// availableWorkerReplicas, desiredWorkerReplicas; `condition` names a condition that must
// be True, with its reason and message.
// rayJob: jobDeploymentStatus, jobStatus, reason, message(Contains), succeeded, failed,
// completedAt (status.endTime).
// rayService: serviceStatus, numServeEndpoints, condition (True), reason, message.
void Simulation::CheckRay(const api::Expectation& x, ExpectationResult* r,
                          const std::function<void(bool, const std::string&)>& check) const {
  const Time t0 = start();
  const auto& ray = store_.ray();
  auto str = [&](const std::optional<std::string>& want, const std::string& got,
                 const std::string& what) {
    if (want) check(*want == got, what + " is \"" + got + "\", want \"" + *want + "\"");
  };
  auto num = [&](const std::optional<int32_t>& want, int32_t got, const std::string& what) {
    if (want) {
      check(*want == got, what + " is " + std::to_string(got) + ", want " + std::to_string(*want));
    }
  };
  // `condition: Type` must be True; `condition: Type=False` (or =Unknown) names the status.
  std::string type, want = "True";
  if (x.condition) {
    type = *x.condition;
    if (auto eq = type.find('='); eq != std::string::npos) {
      want = type.substr(eq + 1);
      type = type.substr(0, eq);
    }
  }
  auto condition = [&](const cluster::RayCondition* c) {
    if (!x.condition) return;
    check(c && c->status == want,
          "condition " + type + " is " + (c ? c->status : "absent") + ", want " + want);
    if (!c) return;
    str(x.reason, c->reason, type + " reason");
    str(x.message, c->message, type + " message");
  };
  if (!x.ray_cluster.empty()) {
    r->description = "rayCluster " + x.ray_cluster;
    const auto* c = FindRay(ray.clusters, x.ray_cluster);
    if (!c) {
      check(false, "no such RayCluster");
      return;
    }
    str(x.state, c->state, "state");
    if (x.ready_at) {
      auto it = c->state_transition_times.find("ready");
      const Time at = it == c->state_transition_times.end() ? cluster::kNever : it->second;
      check(at != cluster::kNever && at - t0 == *x.ready_at,
            "ready at " + When(at, t0) + ", want " + FormatDuration(*x.ready_at));
    }
    num(x.ready_worker_replicas, c->ready_worker_replicas, "readyWorkerReplicas");
    num(x.available_worker_replicas, c->available_worker_replicas, "availableWorkerReplicas");
    num(x.desired_worker_replicas, c->desired_worker_replicas, "desiredWorkerReplicas");
    if (x.deleted) check(*x.deleted == c->deleted, c->deleted ? "deleted" : "not deleted");
    if (x.condition) condition(c->Find(type));
    return;
  }
  if (!x.ray_job.empty()) {
    r->description = "rayJob " + x.ray_job;
    const auto* j = FindRay(ray.jobs, x.ray_job);
    if (!j) {
      check(false, "no such RayJob");
      return;
    }
    str(x.job_deployment_status, j->job_deployment_status, "jobDeploymentStatus");
    str(x.job_status, j->job_status, "jobStatus");
    str(x.reason, j->reason, "reason");
    str(x.message, j->message, "message");
    if (x.message_contains) {
      check(
          j->message.find(*x.message_contains) != std::string::npos,
          "message is \"" + j->message + "\", want one containing \"" + *x.message_contains + "\"");
    }
    num(x.succeeded, j->succeeded, "succeeded");
    num(x.failed, j->failed, "failed");
    if (x.completed_at) {
      check(j->end_time != cluster::kNever && j->end_time - t0 == *x.completed_at,
            "endTime " + When(j->end_time, t0) + ", want " + FormatDuration(*x.completed_at));
    }
    return;
  }
  r->description = "rayService " + x.ray_service;
  const auto* s = FindRay(ray.services, x.ray_service);
  if (!s) {
    check(false, "no such RayService");
    return;
  }
  str(x.service_status, s->service_status, "serviceStatus");
  num(x.num_serve_endpoints, s->num_serve_endpoints, "numServeEndpoints");
  if (x.condition) condition(s->Find(type));
}

}  // namespace gputwin::sim
