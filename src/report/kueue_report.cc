#include "report/kueue_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "kueue/kueue_controller.h"
#include "report/table.h"

namespace gputwin::report {

using Json = nlohmann::ordered_json;
using kueue::WorkloadPhase;

const char* WorkloadStateName(WorkloadPhase p) {
  switch (p) {
    case WorkloadPhase::kPending:
      return "Pending";
    case WorkloadPhase::kAdmitted:
      return "Admitted";
    case WorkloadPhase::kFinished:
      return "Finished";
  }
  return "";
}

std::string WorkloadOwner(const sim::Simulation& sim, const kueue::WorkloadState& w) {
  return w.owner == kueue::WorkloadOwner::kJob
             ? "Job " + sim.store().jobs()[w.job].obj.metadata.name
             : w.owner_name;
}

double WorkloadWaitSeconds(const sim::Simulation& sim, const kueue::WorkloadState& w) {
  Duration wait = w.total_wait;
  if (w.phase == WorkloadPhase::kPending && !w.deactivated) {
    wait = wait + (sim.end() - w.pending_since);
  }
  return static_cast<double>(wait.ns) / 1e9;
}

namespace {

Json TimeIfSetOrNull(bool set, Time t) {
  return set ? Json(FormatRFC3339(t)) : Json(nullptr);
}

Json WorkloadJson(const sim::Simulation& sim, const kueue::KueueController& k,
                  kueue::WorkloadId id) {
  const auto& c = k.cache();
  const auto& w = c.wl(id);
  Json flavors = Json::object();
  for (const auto& ps : w.assignment) {
    for (const auto& [r, f] : ps.flavors) flavors[r] = f;
  }
  Json history = Json::array();
  for (const auto& h : w.history) {
    history.push_back(Json{{"time", FormatRFC3339(h.at)},
                           {"type", h.type},
                           {"reason", h.reason},
                           {"message", h.message}});
  }
  Json j{{"namespace", w.spec.namespace_},
         {"name", w.spec.name},
         {"job", w.owner == kueue::WorkloadOwner::kJob
                     ? Json(sim.store().jobs()[w.job].obj.metadata.name)
                     : Json(nullptr)},
         {"owner", WorkloadOwner(sim, w)},
         {"localQueue", w.spec.queue_name},
         {"clusterQueue", w.cq >= 0 ? Json(c.cq(w.cq).obj.metadata.name) : Json(nullptr)},
         {"priority", w.spec.priority},
         {"priorityClassName", w.spec.priority_class_name},
         {"state", WorkloadStateName(w.phase)},
         {"createdAt", FormatRFC3339(w.created)},
         {"firstAdmittedAt", TimeIfSetOrNull(w.ever_admitted, w.first_admitted_at)},
         {"finishedAt", TimeIfSetOrNull(w.phase == WorkloadPhase::kFinished, w.finished_at)},
         {"waitSeconds", WorkloadWaitSeconds(sim, w)},
         {"count", w.spec.pod_sets.front().count},
         {"admittedCount", w.assignment.empty() ? Json(nullptr) : Json(w.assignment.front().count)},
         {"flavors", flavors},
         {"admissions", w.admissions},
         {"evictions", w.evictions},
         {"preemptions", w.preemptions},
         {"lostGpuSeconds", w.lost_gpu_seconds}};
  // status.admission.podSetAssignments[].topologyAssignment (v1beta1), by PodSet.
  Json topology = Json::object();
  for (size_t i = 0; i < w.assignment.size(); ++i) {
    const auto& t = w.assignment[i].topology;
    if (!t) continue;
    Json domains = Json::array();
    for (const auto& d : t->domains)
      domains.push_back(Json{{"values", d.values}, {"count", d.count}});
    topology[w.assignment[i].name] = Json{{"levels", t->levels}, {"domains", domains}};
  }
  if (!topology.empty()) j["topologyAssignments"] = topology;
  if (w.phase == WorkloadPhase::kPending) {
    j["pendingReason"] = w.pending_reason;
    j["pendingMessage"] = kueue::PendingMessage(w);
  }
  j["history"] = history;
  return j;
}

}  // namespace

Json KueueJson(const sim::Simulation& sim, const results::Results& res) {
  const auto* k = sim.kueue();
  if (!k) return nullptr;
  const auto& c = k->cache();
  const auto& tree = c.tree();
  Json cqs = Json::array();
  for (int32_t i = 0; i < static_cast<int32_t>(c.cluster_queues().size()); ++i) {
    const auto& q = c.cq(i);
    Json resources = Json::array();
    const auto& node = tree.node(q.node);
    for (kueue::FrId fr = 0; fr < tree.fr_count(); ++fr) {
      if (!node.has_quota[fr]) continue;
      const auto& key = c.FrKey(fr);
      auto limit = [&](int64_t v) {
        return v == kueue::kNoLimit ? Json(nullptr) : Json(c.FormatAmount(key.resource, v));
      };
      resources.push_back(Json{{"flavor", c.FlavorName(key.flavor)},
                               {"resource", c.ResourceName(key.resource)},
                               {"nominalQuota", c.FormatAmount(key.resource, node.nominal[fr])},
                               {"borrowingLimit", limit(node.borrowing_limit[fr])},
                               {"lendingLimit", limit(node.lending_limit[fr])},
                               {"usage", c.FormatAmount(key.resource, node.usage[fr])}});
    }
    const auto& waits = res.cluster_queue_waits[static_cast<size_t>(i)];
    Json preempted = Json::object();
    for (const auto& [r, n] : q.preempted_total) preempted[r] = n;
    cqs.push_back(Json{{"name", q.obj.metadata.name},
                       {"cohort", q.obj.cohort},
                       {"queueingStrategy", q.obj.queueing_strategy},
                       {"active", q.active},
                       {"inactiveReason", q.inactive_reason},
                       {"inactiveMessage", q.inactive_message},
                       {"pendingActive", c.PendingCount(i, false)},
                       {"pendingInadmissible", c.PendingCount(i, true)},
                       {"reservingActive", q.admitted.size()},
                       {"admittedTotal", q.admitted_total},
                       {"finishedTotal", q.finished_total},
                       {"evictedTotal", q.evicted_total},
                       {"preemptedTotal", preempted},
                       {"waitSecondsP50", waits.p50},
                       {"waitSecondsP95", waits.p95},
                       {"waitSecondsMax", waits.max},
                       {"resources", resources}});
  }
  // Pending workloads grouped by Kueue's message, largest group first.
  Json pending = Json::array();
  for (const auto& [msg, names] : res.pending_workloads) {
    Json ex = Json::array();
    for (size_t i = 0; i < names.size() && i < 5; ++i) ex.push_back(names[i]);
    pending.push_back(Json{{"message", msg}, {"count", names.size()}, {"workloads", ex}});
  }
  Json hist = Json::array();
  const auto& reg = sim.metrics();
  for (auto id : reg.Histograms("kueue")) {
    const auto& h = reg.series(id).histogram;
    Json buckets = Json::array();
    uint64_t cum = 0;
    for (size_t b = 0; b < h.bounds.size(); ++b) {
      cum += h.counts[b];
      buckets.push_back(Json::array({h.bounds[b], cum}));
    }
    buckets.push_back(Json::array({"+Inf", h.count}));
    hist.push_back(Json{{"name", h.name},
                        {"labels", h.labels},
                        {"buckets", buckets},
                        {"sum", h.sum},
                        {"count", h.count}});
  }
  return Json{{"fairSharing", c.config().fair_sharing},
              {"waitForPodsReady", c.config().wait_for_pods_ready},
              {"schedulingCycles", k->scheduler().cycles()},
              {"admissions", std::count_if(c.workloads().begin(), c.workloads().end(),
                                           [](const auto& w) { return w.ever_admitted; })},
              {"clusterQueues", cqs},
              {"pendingReasons", pending},
              {"histograms", hist}};
}

Json WorkloadsJson(const sim::Simulation& sim) {
  Json out = Json::array();
  const auto* k = sim.kueue();
  if (!k) return out;
  for (kueue::WorkloadId id = 0; id < k->cache().workloads().size(); ++id) {
    out.push_back(WorkloadJson(sim, *k, id));
  }
  return out;
}

void StreamKueue(std::ostream& out, const sim::Simulation& sim, bool workloads) {
  const auto* k = sim.kueue();
  if (!k) return;
  out << ",\n  \"workloads\": [";
  const auto& c = k->cache();
  const size_t n = workloads ? c.workloads().size() : 0;
  for (kueue::WorkloadId id = 0; id < n; ++id) {
    out << (id == 0 ? "\n    " : ",\n    ") << WorkloadJson(sim, *k, id).dump();
  }
  out << (n == 0 ? "]" : "\n  ]");
  out << ",\n  \"metrics\": [";
  bool first = true;
  for (const auto& j : KueueMetricsJson(sim)) {
    out << (first ? "\n    " : ",\n    ") << j.dump();
    first = false;
  }
  out << (first ? "]" : "\n  ]");
}

Json KueueMetricsJson(const sim::Simulation& sim) {
  Json out = Json::array();
  if (!sim.kueue()) return out;
  const auto& reg = sim.metrics();
  for (auto id : reg.Recorded("kueue")) {
    const auto& s = reg.series(id);
    if (reg.family(s.family).desc.name == "up") continue;  // Prometheus's, not Kueue's
    Json samples = Json::array();
    for (const auto& [t, v] : s.samples) {
      samples.push_back(Json::array({FormatRFC3339(t), std::isnan(v) ? Json(nullptr) : Json(v)}));
    }
    out.push_back(
        Json{{"name", reg.family(s.family).desc.name}, {"labels", s.labels}, {"samples", samples}});
  }
  return out;
}

std::string KueueText(const sim::Simulation& sim, const results::Results& res) {
  const auto* k = sim.kueue();
  if (!k) return "";
  Json j = KueueJson(sim, res);
  std::string out = "\nKueue ClusterQueues\n";
  TextTable queues({{"NAME", 24},
                    {"COHORT", 12},
                    {"ADMITTED", 8, true},
                    {"PENDING", 8, true},
                    {"INADMISSIBLE", 12, true},
                    {"WAIT-P50", 9, true},
                    {"WAIT-MAX", 9, true},
                    {"USAGE", 0, false, 2}});
  for (const auto& q : j["clusterQueues"]) {
    std::string usage;
    for (const auto& r : q["resources"]) {
      usage += fmt::format("{}{}/{} {} ({})", usage.empty() ? "" : ", ",
                           r["usage"].get<std::string>(), r["nominalQuota"].get<std::string>(),
                           r["resource"].get<std::string>(), r["flavor"].get<std::string>());
    }
    if (!q["active"].get<bool>()) usage = "INACTIVE: " + q["inactiveMessage"].get<std::string>();
    queues.Add(
        {q["name"].get<std::string>(), q["cohort"].get<std::string>(),
         std::to_string(q["admittedTotal"].get<int64_t>()),
         std::to_string(q["pendingActive"].get<int64_t>()),
         std::to_string(q["pendingInadmissible"].get<int64_t>()),
         FormatDuration(Duration::Seconds(static_cast<int64_t>(q["waitSecondsP50"].get<double>()))),
         FormatDuration(Duration::Seconds(static_cast<int64_t>(q["waitSecondsMax"].get<double>()))),
         usage});
  }
  out += queues.Render();
  if (!j["pendingReasons"].empty()) {
    out += "\nWhy workloads are Pending (Kueue's QuotaReserved condition)\n";
    for (const auto& g : j["pendingReasons"]) {
      out += fmt::format("  {} workload(s): {}\n", g["count"].get<size_t>(),
                         g["message"].get<std::string>());
      for (const auto& n : g["workloads"]) out += "    " + n.get<std::string>() + "\n";
    }
  }
  return out;
}

}  // namespace gputwin::report
