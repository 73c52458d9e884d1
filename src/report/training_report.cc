// The training operators' part of summary.json: JobSets, Kubeflow TrainJobs and
// PyTorchJobs, KubeRay's RayClusters, RayJobs and RayServices, each with its status as
// the operator writes it and its gangs' training figures.
#include "report/training_report.h"

#include <utility>
#include <vector>

#include "cluster/ray_objects.h"
#include "report/summary_values.h"

namespace gputwin::report {

namespace {
// A status's conditions (metav1.Condition's fields) as the API server writes them.
template <typename Condition>
Json ConditionListJson(const std::vector<Condition>& list) {
  Json out = Json::array();
  for (const auto& c : list) {
    out.push_back(Json{{"type", c.type},
                       {"status", c.status},
                       {"reason", c.reason},
                       {"message", c.message},
                       {"lastTransitionTime", FormatRFC3339(c.last_transition)}});
  }
  return out;
}

// A gang's training figures (cluster::Gang) on a summary entry: GPU-hours advancing,
// waiting for the whole gang and lost, seconds waiting, and the step slowdown where the
// operator's pods report steps.
void AddGangFigures(Json* entry, const cluster::Gang& g, bool step_slowdown) {
  (*entry)["gpuHoursAdvancing"] = Round(g.advancing_gpu_seconds / 3600);
  (*entry)["gpuHoursWaitingForGang"] = Round(g.waiting_gpu_seconds / 3600);
  (*entry)["secondsWaitingForGang"] = Round(g.waiting_seconds);
  (*entry)["gpuHoursLost"] = Round(g.lost_gpu_seconds / 3600);
  if (step_slowdown) (*entry)["stepSlowdown"] = Round(g.step_slowdown);
}

}  // namespace

void AddTrainingSections(Json* j, const sim::Simulation& sim) {
  const auto& s = sim.store();
  if (!s.job_sets().empty()) {
    const auto& jobsets = s.job_sets();
    // status of each JobSet: terminalState, restarts, replicatedJobsStatus, conditions.
    Json sets = Json::array();
    for (const auto& js : jobsets) {
      Json replicated = Json::array();
      for (size_t r = 0; r < js.obj.replicated_jobs.size(); ++r) {
        const auto& st = js.replicated[r];
        replicated.push_back(Json{{"name", js.obj.replicated_jobs[r].name},
                                  {"ready", st.ready},
                                  {"succeeded", st.succeeded},
                                  {"failed", st.failed},
                                  {"active", st.active},
                                  {"suspended", st.suspended}});
      }
      Json conditions = Json::array();
      for (const auto& c : js.history) {
        conditions.push_back(Json{{"time", FormatRFC3339(c.at)},
                                  {"type", c.type},
                                  {"reason", c.reason},
                                  {"message", c.message}});
      }
      // Training figures of every attempt's gang.
      std::vector<uint32_t> gangs = js.past_gangs;
      gangs.push_back(js.gang);
      const cluster::Gang g = s.GangFigures(gangs);
      Json entry{{"namespace", js.obj.metadata.namespace_},
                 {"name", js.obj.metadata.name},
                 {"terminalState", js.terminal_state},
                 {"finishedAt", TimeOrNull(js.finished_at)},
                 {"restarts", js.restarts},
                 {"restartsCountTowardsMax", js.restarts_count_towards_max},
                 {"replicatedJobsStatus", replicated}};
      AddGangFigures(&entry, g, true);
      entry["conditions"] = std::move(conditions);
      sets.push_back(std::move(entry));
    }
    (*j)["jobSets"] = std::move(sets);
  }
  if (!s.train_jobs().empty()) {
    // Each TrainJob's status (conditions, jobsStatus), the kubectl State column (the last
    // condition's type), the JobSet it created and that JobSet's gangs' training figures.
    Json out = Json::array();
    for (const auto& tj : s.train_jobs()) {
      Json conditions = ConditionListJson(tj.conditions);
      Json jobs_status = Json::array();
      for (const auto& [name, st] : tj.jobs_status) {
        jobs_status.push_back(Json{{"name", name},
                                   {"ready", st.ready},
                                   {"succeeded", st.succeeded},
                                   {"failed", st.failed},
                                   {"active", st.active},
                                   {"suspended", st.suspended}});
      }
      const auto* finished = tj.Find(tj.IsTrue("Complete") ? "Complete" : "Failed");
      const bool done = finished && finished->status == "True";
      Json entry{{"namespace", tj.obj.metadata.namespace_},
                 {"name", tj.obj.metadata.name},
                 {"runtime", Json{{"kind", tj.obj.runtime_kind}, {"name", tj.obj.runtime_name}}},
                 {"numNodes", tj.trainer_nodes},
                 {"suspend", tj.obj.suspend},
                 {"state", tj.conditions.empty() ? "" : tj.conditions.back().type},
                 {"finishedAt", TimeOrNull(done ? finished->last_transition : cluster::kNever)},
                 {"conditions", conditions},
                 {"jobsStatus", jobs_status},
                 {"jobSet", Json()}};
      std::vector<uint32_t> gangs;
      if (tj.job_set != cluster::kNone) {
        const auto& js = s.job_sets()[tj.job_set];
        entry["jobSet"] = js.obj.metadata.name;
        gangs = js.past_gangs;
        gangs.push_back(js.gang);
      }
      AddGangFigures(&entry, s.GangFigures(gangs), false);
      out.push_back(std::move(entry));
    }
    (*j)["trainJobs"] = std::move(out);
  }
  if (!s.pytorch_jobs().empty()) {
    // status of each PyTorchJob: conditions, replicaStatuses, start and completion, and its
    // gang's training figures.
    Json jobs_out = Json::array();
    for (const auto& pj : s.pytorch_jobs()) {
      Json statuses = Json::object();
      for (size_t t = 0; t < pj.replicas.size(); ++t) {
        statuses[pj.obj.replica_specs[t].type] = Json{{"active", pj.replicas[t].active},
                                                      {"succeeded", pj.replicas[t].succeeded},
                                                      {"failed", pj.replicas[t].failed}};
      }
      Json conditions = Json::array();
      for (const auto& c : pj.history) {
        conditions.push_back(Json{{"time", FormatRFC3339(c.at)},
                                  {"type", c.type},
                                  {"reason", c.reason},
                                  {"message", c.message}});
      }
      Json entry{{"namespace", pj.obj.metadata.namespace_},
                 {"name", pj.obj.metadata.name},
                 {"condition", pj.condition},
                 {"startTime", TimeOrNull(pj.start_time)},
                 {"completionTime", TimeOrNull(pj.completion_time)},
                 {"replicaStatuses", statuses},
                 {"conditions", conditions}};
      AddGangFigures(&entry, s.GangFigures({pj.gang}), true);
      jobs_out.push_back(std::move(entry));
    }
    (*j)["pyTorchJobs"] = std::move(jobs_out);
  }
  const auto& ray = s.ray();
  if (!ray.clusters.empty()) {
    // KubeRay's status of each RayCluster (a RayJob's too): state, worker counters, desired
    // resources and conditions.
    Json out = Json::array();
    for (const auto& c : ray.clusters) {
      Json conditions = ConditionListJson(c.conditions);
      Json times = Json::object();
      for (const auto& [state, at] : c.state_transition_times) times[state] = FormatRFC3339(at);
      Json desired = Json::object();
      for (const auto& [k, v] : c.desired) desired[k] = FormatQuantity(v, k == "memory");
      out.push_back(Json{{"namespace", c.obj.metadata.namespace_},
                         {"name", c.obj.metadata.name},
                         {"originatedFrom", c.origin_kind},
                         {"deleted", c.deleted},
                         {"state", c.state},
                         {"stateTransitionTimes", times},
                         {"readyWorkerReplicas", c.ready_worker_replicas},
                         {"availableWorkerReplicas", c.available_worker_replicas},
                         {"desiredWorkerReplicas", c.desired_worker_replicas},
                         {"minWorkerReplicas", c.min_worker_replicas},
                         {"maxWorkerReplicas", c.max_worker_replicas},
                         {"desiredResources", desired},
                         {"conditions", conditions}});
    }
    (*j)["rayClusters"] = std::move(out);
  }
  if (!ray.jobs.empty()) {
    Json out = Json::array();
    for (const auto& r : ray.jobs) {
      std::vector<uint32_t> gangs = r.past_gangs;
      gangs.push_back(r.gang);
      const cluster::Gang g = s.GangFigures(gangs);
      Json history = Json::array();
      for (const auto& h : r.history) {
        history.push_back(Json{{"time", FormatRFC3339(h.at)}, {"jobDeploymentStatus", h.status}});
      }
      Json entry{{"namespace", r.obj.metadata.namespace_},
                 {"name", r.obj.metadata.name},
                 {"jobDeploymentStatus", r.job_deployment_status},
                 {"jobStatus", r.job_status},
                 {"reason", r.reason},
                 {"message", r.message},
                 {"rayClusterName", r.ray_cluster_name},
                 {"jobId", r.job_id},
                 {"startTime", TimeOrNull(r.start_time)},
                 {"endTime", TimeOrNull(r.end_time)},
                 {"succeeded", r.succeeded},
                 {"failed", r.failed},
                 {"history", history}};
      AddGangFigures(&entry, g, false);
      out.push_back(std::move(entry));
    }
    (*j)["rayJobs"] = std::move(out);
  }
  if (!ray.services.empty()) {
    Json out = Json::array();
    for (const auto& rs : ray.services) {
      Json conditions = ConditionListJson(rs.conditions);
      Json apps = Json::object();
      for (size_t i = 0; i < rs.obj.applications.size(); ++i) {
        apps[rs.obj.applications[i]] = i < rs.app_statuses.size() ? rs.app_statuses[i] : "";
      }
      out.push_back(Json{{"namespace", rs.obj.metadata.namespace_},
                         {"name", rs.obj.metadata.name},
                         {"serviceStatus", rs.service_status},
                         {"numServeEndpoints", rs.num_serve_endpoints},
                         {"activeRayClusterName", rs.active_name},
                         {"pendingRayClusterName", rs.pending_name},
                         {"applicationStatuses", apps},
                         {"conditions", conditions}});
    }
    (*j)["rayServices"] = std::move(out);
  }
}

}  // namespace gputwin::report
