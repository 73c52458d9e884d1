#include "report/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include "autoscaling/horizontal.h"
#include "autoscaling/keda.h"
#include "controllers/cronjob.h"
#include "core/errors.h"
#include "core/index_list.h"
#include "karpenter/karpenter.h"
#include "report/alerts_report.h"
#include "report/html.h"
#include "report/json_writer.h"
#include "report/karpenter_report.h"
#include "report/kueue_report.h"
#include "report/summary_values.h"
#include "report/training_report.h"
#include "serving/serving_controller.h"

namespace gputwin::report {

using cluster::PodPhase;

namespace {

// A resource quantity as kubectl shows it: bytes in binary units.
std::string ResourceQuantity(const std::string& name, const Quantity& q) {
  return FormatQuantity(
      q, name == "memory" || name == "ephemeral-storage" || name.starts_with("hugepages-"));
}

// Pending pods grouped by their FailedScheduling message, largest group first.
Json PendingReasons(const results::Results& r) {
  Json out = Json::array();
  for (const auto& [msg, pods] : r.pending_pods) {
    Json examples = Json::array();
    for (size_t i = 0; i < pods.size() && i < 10; ++i) examples.push_back(pods[i]);
    out.push_back(Json{{"message", msg}, {"count", pods.size()}, {"pods", examples}});
  }
  return out;
}

}  // namespace

int64_t PodGpus(const cluster::Store& s, const cluster::PodRecord& p) {
  int64_t gpus = 0;
  for (cluster::ResourceId r = 0; r < p.tmpl->requests.size() && r < s.resources().size(); ++r) {
    if (s.resources().Name(r).starts_with("nvidia.com/")) gpus += p.tmpl->requests[r];
  }
  return gpus;
}

namespace {

Json PodJson(const cluster::Store& s, const cluster::PodRecord& p) {
  Json pj;
  pj["namespace"] = p.namespace_;
  pj["name"] = p.name;
  pj["phase"] = p.deleted ? "Deleted" : cluster::PhaseName(p.phase);
  pj["node"] = p.Bound() ? Json(s.node(p.node).name()) : Json(nullptr);
  pj["createdAt"] = TimeOrNull(p.created_at);
  pj["scheduledAt"] = TimeOrNull(p.scheduled_at);
  pj["startedAt"] = TimeOrNull(p.started_at);
  pj["finishedAt"] = TimeOrNull(p.finished_at);
  pj["deletedAt"] = TimeOrNull(p.deleted_at);
  pj["reason"] = p.reason;
  pj["message"] = p.message;
  pj["restartCount"] = p.restart_count;
  pj["priority"] = p.tmpl->priority;
  Json owner = nullptr;
  if (p.owner.kind != cluster::OwnerKind::kNoOwner) {
    const auto [kind, name] = s.ControllerOf(p);
    owner = Json{{"kind", kind}, {"name", name}};
  }
  pj["owner"] = owner;
  pj["gpus"] = PodGpus(s, p);
  if (!p.devices.empty() && p.Bound()) {
    Json ids = Json::array();
    for (uint32_t d : p.devices) ids.push_back(s.node(p.node).devices[d].id);
    pj["devices"] = ids;
  }
  if (!p.waits.empty()) {
    Json waits = Json::array();
    for (const auto& [at, why] : p.waits) {
      waits.push_back(Json::array({FormatRFC3339(at), cluster::PodWaitName(why)}));
    }
    pj["waits"] = waits;
  }
  pj["waitSeconds"] = p.scheduled_at == cluster::kNever
                          ? Json(nullptr)
                          : Json((p.scheduled_at - p.created_at).seconds());
  return pj;
}

// One of nodes[].
void WriteNode(IndentedJsonWriter& w, const cluster::Store& s, const cluster::NodeRecord& n) {
  w.BeginObject();
  w.Key("name").String(n.name());
  w.Key("labels").BeginObject();
  for (const auto& [key, value] : n.obj.metadata.labels) w.Key(key).String(value);
  w.EndObject();
  w.Key("allocatable").BeginObject();
  for (const auto& [name, q] : n.obj.allocatable) {
    w.Key(name).String(ResourceQuantity(name, q));
  }
  w.EndObject();
  w.Key("taints").BeginArray();
  for (const auto& t : n.obj.taints) {
    w.BeginObject();
    w.Key("key").String(t.key);
    w.Key("effect").String(t.effect);
    if (!t.value.empty()) w.Key("value").String(t.value);
    w.EndObject();
  }
  w.EndArray();
  w.Key("unschedulable").Bool(n.obj.unschedulable);
  w.Key("ready").Bool(n.ready && !n.deleted);
  WriteTimeOrNull(w.Key("createdAt"), n.created_at);
  WriteTimeOrNull(w.Key("readyAt"), n.ready_at);
  WriteTimeOrNull(w.Key("deletedAt"), n.deleted_at);
  w.Key("pods").UInt(n.pods.size());
  if (HasGpuSection(n)) {
    w.Key("gpus").BeginObject();
    w.Key("model").String(n.gpu_model);
    w.Key("memory").BeginObject();
    for (const auto& [dev, pk] : n.gpu_peak_memory) {
      w.Key(dev).BeginObject();
      w.Key("peakUsedMiB").Int(pk.first);
      w.Key("sizeMiB").Int(pk.second);
      w.EndObject();
    }
    w.EndObject();
    w.Key("count").Int(n.gpu_count);
    w.Key("devicePluginRegistered").Bool(n.device_plugin_registered);
    w.Key("devices").BeginArray();
    for (const auto& u : n.devices) {
      w.BeginObject();
      w.Key("id").String(u.id);
      w.Key("resource").String(u.resource);
      w.Key("memoryMiB").Int(u.memory_mib);
      if (u.pod == cluster::kNone) {
        w.Key("pod").Null();
      } else {
        w.Key("pod").String(s.pod(u.pod).Key());
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
}

int64_t CountEvents(const cluster::Store& s, const std::string& reason) {
  int64_t n = 0;
  for (const auto& e : s.events()) {
    if (e.reason == reason) n += e.count;
  }
  return n;
}

Json EventJson(const cluster::KubeEvent& e) {
  Json involved{{"kind", e.kind}, {"name", e.name}};
  if (!e.namespace_.empty()) involved["namespace"] = e.namespace_;
  return Json{{"firstTimestamp", FormatRFC3339(e.first_timestamp)},
              {"lastTimestamp", FormatRFC3339(e.last_timestamp)},
              {"count", e.count},
              {"type", e.type},
              {"reason", e.reason},
              {"involvedObject", involved},
              {"message", e.message},
              {"source", Json{{"component", e.source}}}};
}

// The serving key (docs/serving.md): per traffic stream, what users saw and what it cost;
// per vLLM pod, its cold start.
Json ServingJson(const sim::Simulation& sim, const results::Results& res) {
  const auto* sv = sim.serving();
  Json services = Json::array();
  auto pct = [](const serving::LatencyHistogram& h) {
    return Json{{"count", h.count()},
                {"mean", Round(h.mean())},
                {"p50", Round(h.Quantile(0.5))},
                {"p95", Round(h.Quantile(0.95))},
                {"p99", Round(h.Quantile(0.99))},
                {"max", Round(h.max())}};
  };
  for (size_t t = 0; t < res.serving.size(); ++t) {
    const auto& r = res.serving[t];
    const auto& st = *r.stats;
    Json failed = Json::object();
    uint64_t failures = 0;
    for (int f = 0; f < static_cast<int>(serving::Failure::kCount); ++f) {
      failed[serving::FailureName(static_cast<serving::Failure>(f))] = st.failed[f];
      failures += st.failed[f];
    }
    Json timeline = Json::array();
    for (const auto& pt : sv->timelines()[t]) {
      auto ms = [](double v) { return std::isnan(v) ? Json(nullptr) : Json(Round(v)); };
      timeline.push_back(Json::array({Round(pt.at), pt.ready, pt.replicas, pt.in_flight, pt.waiting,
                                      ms(pt.ttft_p50), ms(pt.ttft_p95), ms(pt.ttft_p99)}));
    }
    const double served = double(st.served);
    services.push_back(Json{
        {"traffic", st.name},
        {"service", st.service},
        {"proxy", st.proxy},
        {"loadBalancer", st.load_balancer},
        {"requests", st.requests},
        {"served", st.served},
        {"failed", failures},
        {"failedBy", failed},
        {"retried", st.retried},
        {"retryOverflow", st.retry_overflow},
        {"unfinished", st.requests - st.served - failures},
        {"promptTokens", st.prompt_tokens},
        {"outputTokens", st.output_tokens},
        {"outputTokensPerSecond", Round(r.seconds > 0 ? double(st.output_tokens) / r.seconds : 0)},
        {"ttftSeconds", pct(st.ttft)},
        {"tpotSeconds", pct(st.tpot)},
        {"e2eSeconds", pct(st.e2e)},
        {"queueSeconds", pct(st.queue)},
        {"maxReadyReplicas", r.max_ready},
        {"gpuHours", Round(r.gpu_hours)},
        {"cost", Round(r.cost)},
        {"costPer1kRequests", Round(served > 0 ? r.cost / served * 1000 : 0)},
        {"costPer1MOutputTokens",
         Round(st.output_tokens > 0 ? r.cost / double(st.output_tokens) * 1e6 : 0)},
        {"timelineColumns", Json::array({"seconds", "ready", "replicas", "running", "waiting",
                                         "ttftP50", "ttftP95", "ttftP99"})},
        {"timeline", timeline}});
  }
  Json replicas = Json::array();
  for (const auto& rec : sv->replicas()) {
    Json x{{"pod", rec.pod_key}, {"node", rec.node}, {"gpu", rec.gpu}, {"model", rec.model}};
    if (!rec.failure.empty()) {
      x["failure"] = rec.failure;
    } else {
      x["created"] = Round(rec.created);
      x["scheduled"] = Round(rec.scheduled);
      x["containerStarted"] = Round(rec.container_started);
      x["imagePullSeconds"] = Round(rec.pull_seconds);
      if (rec.workers_seconds > 0) x["waitForWorkersSeconds"] = Round(rec.workers_seconds);
      x["weightSource"] = rec.weight_source;
      x["weightLoadSeconds"] = Round(rec.weights_seconds);
      x["warmupSeconds"] = Round(rec.warmup_seconds);
      x["serverUp"] = Round(rec.server_up);
      x["ready"] = Round(rec.ready);
      x["kvCacheTokens"] = rec.kv_cache_tokens;
      x["requests"] = rec.requests;
      x["preemptions"] = rec.preemptions;
    }
    if (rec.deleted >= 0) x["deleted"] = Round(rec.deleted);
    if (rec.killed >= 0) x["stopped"] = Round(rec.killed);
    replicas.push_back(x);
  }
  return Json{
      {"vllmVersion", serving::kVllmVersion}, {"services", services}, {"replicas", replicas}};
}

// The autoscaling key: each HPA's conditions and the syncs that rescaled or changed its
// ScalingActive reason.
Json AutoscalingJson(const sim::Simulation& sim) {
  Json hpas = Json::array();
  for (const auto& h : sim.hpa()->statuses()) {
    Json conds = Json::array();
    for (const auto& c : h.conditions) {
      conds.push_back(Json{
          {"type", c.type}, {"status", c.status}, {"reason", c.reason}, {"message", c.message}});
    }
    Json history = Json::array();
    for (const auto& st : h.history) {
      history.push_back(Json{{"at", Round((st.at - sim.start()).seconds())},
                             {"current", st.current},
                             {"desired", st.desired},
                             {"metrics", st.metrics},
                             {"rescaled", st.rescaled}});
    }
    hpas.push_back(Json{{"namespace", h.namespace_},
                        {"name", h.name},
                        {"target", h.target},
                        {"minReplicas", h.min_replicas},
                        {"maxReplicas", h.max_replicas},
                        {"rescales", h.rescales},
                        {"maxReplicasSeen", h.max_seen},
                        {"conditions", conds},
                        {"history", history}});
  }
  Json scaled = Json::array();
  if (sim.keda()) {
    for (const auto& so : sim.keda()->statuses()) {
      Json activity = Json::array();
      for (const auto& [t, what] : so.activity) {
        activity.push_back(Json{{"at", Round((t - sim.start()).seconds())}, {"event", what}});
      }
      scaled.push_back(Json{{"namespace", so.namespace_},
                            {"name", so.name},
                            {"hpa", so.hpa},
                            {"queryErrors", so.query_errors},
                            {"activity", activity}});
    }
  }
  return Json{{"horizontalPodAutoscalers", hpas}, {"scaledObjects", scaled}};
}

// summary.json's jobs[] entry.
void WriteJob(IndentedJsonWriter& w, const cluster::JobRecord& job) {
  w.BeginObject();
  w.Key("namespace").String(job.obj.metadata.namespace_);
  w.Key("name").String(job.obj.metadata.name);
  w.Key("condition").String(job.condition.empty() ? "Active" : job.condition);
  w.Key("suspended").Bool(job.obj.suspend);
  w.Key("reason").String(job.condition_reason);
  w.Key("message").String(job.condition_message);
  WriteTimeOrNull(w.Key("startTime"), job.start_time);
  WriteTimeOrNull(w.Key("completionTime"), job.completion_time);
  if (job.completion_time == cluster::kNever || job.start_time == cluster::kNever) {
    w.Key("durationSeconds").Null();
  } else {
    w.Key("durationSeconds").Double((job.completion_time - job.start_time).seconds());
  }
  w.Key("succeeded").Int(job.succeeded);
  w.Key("failed").Int(job.failed);
  w.Key("active").UInt(job.pods.size());
  w.Key("deleted").Bool(job.deleted);
  // status.completedIndexes of an Indexed Job; status.failedIndexes with
  // backoffLimitPerIndex (nil otherwise, as upstream).
  if (job.obj.completion_mode == "Indexed") {
    w.Key("completedIndexes").String(FormatIndexList(job.succeeded_indexes));
    if (job.obj.backoff_limit_per_index) {
      w.Key("failedIndexes").String(FormatIndexList(job.failed_indexes));
    }
  }
  w.EndObject();
}

// Writes `v` as nlohmann's dump(2) would `depth` spaces deep.
void DumpIndented(std::ostream& out, const Json& v, size_t depth) {
  IndentedJsonWriter w(out, depth);
  w.Value(v);
}

// The arrays the head leaves null, written in their place element by element, each as
// its dump(2) `depth` spaces deep would be: none is ever held whole. False for any other
// path.
bool StreamArrayAt(std::ostream& out, const sim::Simulation& sim, const std::string& path,
                   size_t depth) {
  const auto& s = sim.store();
  auto array = [&](size_t n, const auto& element) {
    IndentedJsonWriter w(out, depth);
    w.BeginArray();
    for (size_t i = 0; i < n; ++i) element(w, i);
    w.EndArray();
    return true;
  };
  if (path == "/jobs") {
    return array(s.jobs().size(),
                 [&](IndentedJsonWriter& w, size_t i) { WriteJob(w, s.jobs()[i]); });
  }
  if (path == "/nodes") {
    return array(s.node_count(), [&](IndentedJsonWriter& w, size_t i) {
      WriteNode(w, s, s.node(static_cast<cluster::NodeId>(i)));
    });
  }
  if (path == "/karpenter/nodeClaims" && sim.karpenter()) {
    return array(sim.karpenter()->node_claims().size(),
                 [&](IndentedJsonWriter& w, size_t i) { WriteNodeClaim(w, sim, i); });
  }
  return false;
}

// The same bytes as DumpIndented, but large containers member by member, so no text of a
// whole section is ever held at once; the arrays StreamArrayAt knows are made as written.
void DumpStreamed(std::ostream& out, const Json& v, size_t depth, const sim::Simulation& sim,
                  const std::string& path) {
  if (v.is_null() && StreamArrayAt(out, sim, path, depth)) return;
  const bool container = (v.is_object() || v.is_array()) && !v.empty();
  if (!container || (depth >= 4 && v.size() <= 32)) {
    DumpIndented(out, v, depth);
    return;
  }
  const std::string indent(depth + 2, ' ');
  out << (v.is_object() ? '{' : '[');
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    out << (first ? "\n" : ",\n") << indent;
    if (v.is_object()) out << Json(it.key()).dump() << ": ";
    DumpStreamed(out, it.value(), depth + 2, sim,
                 v.is_object() ? path + "/" + it.key() : std::string());
    first = false;
  }
  out << '\n' << std::string(depth, ' ') << (v.is_object() ? '}' : ']');
}

}  // namespace

Json SummaryHead(const sim::Simulation& sim, const results::Results& res) {
  const auto& s = sim.store();
  Json j;
  j["apiVersion"] = "gputwin.io/v1alpha1";
  j["kind"] = "SimulationSummary";
  j["scenario"] = sim.scenario().metadata.name;
  j["seed"] = sim.scenario().seed;
  j["startTime"] = FormatRFC3339(sim.start());
  j["endTime"] = FormatRFC3339(sim.end());
  j["duration"] = FormatDuration(sim.end() - sim.start());

  size_t deleted = 0;
  std::map<std::string, size_t> by_phase = {
      {"Pending", 0}, {"Running", 0}, {"Succeeded", 0}, {"Failed", 0}};
  for (cluster::PodId id = 0; id < s.pod_count(); ++id) {
    const auto& p = s.pod(id);
    if (p.deleted) {
      ++deleted;
    } else {
      by_phase[cluster::PhaseName(p.phase)]++;
    }
  }

  // nodes[] is streamed by WriteSummaryJson (NodeJson): a Karpenter month makes tens of
  // thousands, ~350 MB held as a tree.
  size_t live_nodes = 0;
  for (cluster::NodeId id = 0; id < s.node_count(); ++id) live_nodes += !s.node(id).deleted;

  // The jobs themselves are streamed by WriteSummaryJson (JobJson): hundreds of thousands
  // in a month of a large platform.
  size_t jobs_complete = 0, jobs_failed = 0;
  for (const auto& job : s.jobs()) {
    if (job.condition == "Complete") ++jobs_complete;
    if (job.condition == "Failed") ++jobs_failed;
  }

  Json deployments = Json::array();
  for (const auto& d : s.deployments()) {
    size_t ready = 0, pending = 0;
    if (d.replica_set != cluster::kNone) {
      for (cluster::PodId p : s.replica_sets()[d.replica_set].pods) {
        const auto& pod = s.pod(p);
        if (pod.deleted || pod.Terminal()) continue;
        if (pod.phase == PodPhase::kRunning)
          ++ready;
        else
          ++pending;
      }
    }
    deployments.push_back(Json{{"namespace", d.obj.metadata.namespace_},
                               {"name", d.obj.metadata.name},
                               {"replicas", d.obj.replicas},
                               {"running", ready},
                               {"pending", pending}});
  }

  Json expectations = Json::array();
  for (const auto& r : sim.expectation_results()) {
    expectations.push_back(Json{{"description", r.description},
                                {"source", r.source.Describe()},
                                {"passed", r.passed},
                                {"detail", r.detail}});
  }

  j["totals"] =
      Json{{"pods", s.pod_count()},
           {"podsByPhase", by_phase},
           {"podsDeleted", deleted},
           {"nodes", live_nodes},
           {"jobs",
            Json{{"total", s.jobs().size()}, {"complete", jobs_complete}, {"failed", jobs_failed}}},
           {"schedulingAttempts", sim.scheduling_attempts()},
           {"events", s.events().size()},
           {"eventsDropped", s.dropped_events()},
           {"gpuOutOfMemoryKills", CountEvents(s, "GPUOutOfMemory")},
           {"unexpectedAdmissionErrors", CountEvents(s, "UnexpectedAdmissionError")},
           {"expectationsFailed",
            std::count_if(sim.expectation_results().begin(), sim.expectation_results().end(),
                          [](const auto& r) { return !r.passed; })}};
  j["pendingReasons"] = PendingReasons(res);
  j["expectations"] = std::move(expectations);
  j["warnings"] = sim.warnings();
  j["nodes"] = nullptr;  // its place: WriteSummaryJson streams the array there
  j["jobs"] = nullptr;   // and this one
  if (const auto* cron = sim.cron_jobs()) {
    // status.lastScheduleTime and active, with what the controller did along the way.
    Json crons = Json::array();
    for (const auto& c : cron->cron_jobs()) {
      crons.push_back(Json{{"namespace", c.spec.metadata.namespace_},
                           {"name", c.spec.metadata.name},
                           {"schedule", c.spec.schedule},
                           {"suspend", c.spec.suspend},
                           {"lastScheduleTime", TimeOrNull(c.last_schedule_time)},
                           {"jobsCreated", c.created_jobs},
                           {"skippedForbid", c.skipped_forbid},
                           {"missedDeadline", c.missed_deadline},
                           {"jobsKept", c.jobs.size()}});
    }
    j["cronJobs"] = std::move(crons);
  }
  AddTrainingSections(&j, sim);
  j["deployments"] = std::move(deployments);
  j["kueue"] = KueueJson(sim, res);
  j["karpenter"] = KarpenterJson(sim, res);
  j["cost"] = CostJson(res);
  if (sim.serving()) j["serving"] = ServingJson(sim, res);
  if (sim.hpa()) j["autoscaling"] = AutoscalingJson(sim);
  if (sim.rules()) j["alerts"] = AlertsJson(sim);
  return j;
}

nlohmann::json ReportJson(const sim::Simulation& sim, Json head) {
  head["metrics"] = KueueMetricsJson(sim);
  // Converted section by section, each freed once copied: the two forms of the whole head
  // are never held together.
  nlohmann::json out = nlohmann::json::object();
  for (auto it = head.begin(); it != head.end(); ++it) {
    out[it.key()] = nlohmann::json(it.value());
    it.value() = nullptr;
  }
  // The arrays summary.json streams, with only what the page reads (html.cc, timelines.cc):
  // a month of Karpenter nodes and NodeClaims is most of summary.json.
  const auto& s = sim.store();
  auto keep = [](const Json& from, std::initializer_list<const char*> keys) {
    nlohmann::json to = nlohmann::json::object();
    for (const char* k : keys) {
      if (auto it = from.find(k); it != from.end()) to[k] = nlohmann::json(*it);
    }
    return to;
  };
  // Of NodeJson's fields, these alone, built directly, for the Gantt's rows: a Karpenter
  // month has tens of thousands of nodes, and the timelines read them all from the spans.
  auto time_or_null = [](Time t) {
    return t == cluster::kNever ? nlohmann::json(nullptr) : nlohmann::json(FormatRFC3339(t));
  };
  nlohmann::json nodes = nlohmann::json::array();
  for (cluster::NodeId id = 0; id < s.node_count() && id < kGanttNodeRows; ++id) {
    const auto& node = s.node(id);
    nlohmann::json n = nlohmann::json::object();
    n["name"] = node.name();
    n["createdAt"] = time_or_null(node.created_at);
    n["readyAt"] = time_or_null(node.ready_at);
    n["deletedAt"] = time_or_null(node.deleted_at);
    nlohmann::json labels = nlohmann::json::object();
    for (const char* key : {"karpenter.sh/capacity-type", "node.kubernetes.io/instance-type"}) {
      const auto& all = node.obj.metadata.labels;
      if (auto it = all.find(key); it != all.end()) labels[key] = it->second;
    }
    n["labels"] = std::move(labels);
    nodes.push_back(std::move(n));
  }
  out["nodes"] = std::move(nodes);
  if (out["karpenter"].is_object()) {
    // The page reads the NodeClaims of the Gantt's nodes (by node name) and counts the
    // ones that failed to launch: the others are left out.
    std::set<std::string> gantt;
    for (size_t i = 0; i < s.node_count() && i < kGanttNodeRows; ++i) {
      gantt.insert(s.node(static_cast<cluster::NodeId>(i)).name());
    }
    nlohmann::json claims = nlohmann::json::array();
    for (size_t i = 0; i < sim.karpenter()->node_claims().size(); ++i) {
      const auto& c = sim.karpenter()->node_claims()[i];
      if (c.launch_error.empty() &&
          (c.node == cluster::kNone || !gantt.count(s.node(c.node).name()))) {
        continue;
      }
      claims.push_back(
          keep(NodeClaimJson(sim, i), {"name", "node", "createdAt", "registeredAt", "initializedAt",
                                       "disruptionReason", "drainBlocked", "launchError"}));
    }
    out["karpenter"]["nodeClaims"] = std::move(claims);
  }
  return out;  // pods, workloads and nodes come apart (PodSpans::FromStore)
}

void WriteSummaryJson(std::ostream& out, const sim::Simulation& sim, const results::Results& res,
                      Detail detail, const Json* given) {
  const auto& s = sim.store();
  Json computed;
  if (!given) computed = SummaryHead(sim, res);
  const Json& j = given ? *given : computed;
  // The head as its dump(2) would be, member by member (neither copied nor held as text),
  // without the closing brace: pods[] and events[], which can hold millions of entries,
  // follow it streamed, one object per line.
  out << '{';
  bool first_member = true;
  for (auto it = j.begin(); it != j.end(); ++it) {
    out << (first_member ? "\n  " : ",\n  ") << Json(it.key()).dump() << ": ";
    first_member = false;
    DumpStreamed(out, it.value(), 2, sim, "/" + it.key());
  }
  const bool jobs_placed = j.contains("jobs") && j["jobs"].is_null();
  if (!jobs_placed) throw std::logic_error("summary.json: no place for jobs[]");
  if (detail == Detail::kSummary) out << ",\n  \"detail\": \"summary\"";
  const bool full = detail == Detail::kFull;
  StreamKueue(out, sim, full);
  out << ",\n  \"pods\": [";
  bool first = true;
  for (cluster::PodId id = 0; full && id < s.pod_count(); ++id) {
    out << (first ? "\n    " : ",\n    ") << PodJson(s, s.pod(id)).dump();
    first = false;
  }
  out << (first ? "],\n  \"events\": [" : "\n  ],\n  \"events\": [");
  first = true;
  for (const auto& e : s.events()) {
    if (!full) break;
    out << (first ? "\n    " : ",\n    ") << EventJson(e).dump();
    first = false;
  }
  out << (first ? "]\n}\n" : "\n  ]\n}\n");
}

}  // namespace gputwin::report
