// A run's headline figures for a sweep's table: read from summary.json's head (what a
// user would read there), except pod waits, which need every pod of the store.
#include <map>

#include "results/results.h"
#include "sim/simulation.h"
#include "sweep/sweep.h"

namespace gputwin::sweep {

namespace {

double JsonNumber(const report::Json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

// Seconds each pod waited to be bound: until the end of the run for pods never bound, so
// that a setup that leaves work Pending does not look fast. DaemonSet pods are left out
// (bound where they are made).
void PodWaits(const sim::Simulation& sim, Figures* out) {
  const auto& s = sim.store();
  std::vector<double> all;
  std::map<std::string, std::vector<double>> by_namespace;
  int64_t pending = 0;
  for (cluster::PodId id = 0; id < s.pod_count(); ++id) {
    const auto& p = s.pod(id);
    if (p.owner.kind == cluster::OwnerKind::kDaemonSet || p.created_at > sim.end()) continue;
    Time bound = p.scheduled_at;
    if (bound == cluster::kNever) {
      // Deleted unbound pods waited until they were deleted.
      bound = p.deleted ? std::min(p.deleted_at, sim.end()) : sim.end();
      if (!p.deleted && p.phase == cluster::PodPhase::kPending) ++pending;
    }
    const double w = static_cast<double>((bound - p.created_at).ns) / 1e9;
    all.push_back(w);
    by_namespace[p.namespace_].push_back(w);
  }
  out->emplace_back("podsPending", static_cast<double>(pending));
  out->emplace_back("podWaitSecondsP50", results::Percentile(all, 0.5));
  out->emplace_back("podWaitSecondsP95", results::Percentile(all, 0.95));
  out->emplace_back("podWaitSecondsP99", results::Percentile(all, 0.99));
  out->emplace_back("podWaitSecondsMax", results::Percentile(all, 1.0));
  for (const auto& [ns, waits] : by_namespace) {
    out->emplace_back("podWaitSecondsP50/" + ns, results::Percentile(waits, 0.5));
    out->emplace_back("podWaitSecondsP95/" + ns, results::Percentile(waits, 0.95));
    out->emplace_back("podWaitSecondsP99/" + ns, results::Percentile(waits, 0.99));
  }
}

}  // namespace

bool IsFigureName(const std::string& name) {
  static const char* kNames[] = {"cost",
                                 "gpuHours",
                                 "allocatedGpuHours",
                                 "gpuAllocation",
                                 "idleGpuCost",
                                 "spotSavings",
                                 "lostGpuHours",
                                 "jobsComplete",
                                 "jobsFailed",
                                 "podsPendingForever",
                                 "podsPending",
                                 "podWaitSecondsP50",
                                 "podWaitSecondsP95",
                                 "podWaitSecondsP99",
                                 "podWaitSecondsMax",
                                 "expectationsFailed",
                                 "alertsFired"};
  static const char* kPerObject[] = {
      "podWaitSecondsP50/",   "podWaitSecondsP95/",   "podWaitSecondsP99/", "queueWaitSecondsP50/",
      "queueWaitSecondsP95/", "queueWaitSecondsMax/", "requests/",          "failedRequests/",
      "failedRequestRatio/",  "ttftSecondsP50/",      "ttftSecondsP95/",    "ttftSecondsP99/",
      "costPer1kRequests/",   "alertsFired/"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  for (const char* p : kPerObject) {
    if (name.size() > std::string_view(p).size() && name.starts_with(p)) return true;
  }
  return false;
}

Figures Headline(const sim::Simulation& sim, const results::Results& results,
                 const report::Json& head) {
  Figures out;
  const report::Json& cost = head.contains("cost") ? head["cost"] : report::Json();
  const double gpu_hours = JsonNumber(cost, "gpuHours");
  out.emplace_back("cost", JsonNumber(cost, "total"));
  out.emplace_back("gpuHours", gpu_hours);
  out.emplace_back("allocatedGpuHours", JsonNumber(cost, "allocatedGpuHours"));
  out.emplace_back("gpuAllocation",
                   gpu_hours > 0 ? JsonNumber(cost, "allocatedGpuHours") / gpu_hours : 0);
  out.emplace_back("idleGpuCost", JsonNumber(cost, "idleGpu"));
  out.emplace_back("spotSavings", JsonNumber(cost, "spotSavings"));
  out.emplace_back("lostGpuHours", JsonNumber(cost, "lostGpuHours"));
  const report::Json& totals = head.contains("totals") ? head["totals"] : report::Json();
  if (totals.contains("jobs")) {
    out.emplace_back("jobsComplete", JsonNumber(totals["jobs"], "complete"));
    out.emplace_back("jobsFailed", JsonNumber(totals["jobs"], "failed"));
  }
  int64_t forever = 0;
  for (const auto& k : results.karpenter_pending) forever += k.forever ? 1 : 0;
  out.emplace_back("podsPendingForever", static_cast<double>(forever));
  PodWaits(sim, &out);
  out.emplace_back("expectationsFailed", JsonNumber(totals, "expectationsFailed"));

  if (head.contains("kueue") && head["kueue"].is_object()) {
    for (const auto& cq : head["kueue"].value("clusterQueues", report::Json::array())) {
      const std::string name = cq.value("name", "");
      out.emplace_back("queueWaitSecondsP50/" + name, JsonNumber(cq, "waitSecondsP50"));
      out.emplace_back("queueWaitSecondsP95/" + name, JsonNumber(cq, "waitSecondsP95"));
      out.emplace_back("queueWaitSecondsMax/" + name, JsonNumber(cq, "waitSecondsMax"));
    }
  }
  if (head.contains("serving") && head["serving"].is_object()) {
    for (const auto& svc : head["serving"].value("services", report::Json::array())) {
      const std::string t = svc.value("traffic", "");
      const double requests = JsonNumber(svc, "requests"), failed = JsonNumber(svc, "failed");
      out.emplace_back("requests/" + t, requests);
      out.emplace_back("failedRequests/" + t, failed);
      out.emplace_back("failedRequestRatio/" + t, requests > 0 ? failed / requests : 0);
      const report::Json& ttft = svc.contains("ttftSeconds") ? svc["ttftSeconds"] : report::Json();
      out.emplace_back("ttftSecondsP50/" + t, JsonNumber(ttft, "p50"));
      out.emplace_back("ttftSecondsP95/" + t, JsonNumber(ttft, "p95"));
      out.emplace_back("ttftSecondsP99/" + t, JsonNumber(ttft, "p99"));
      out.emplace_back("costPer1kRequests/" + t, JsonNumber(svc, "costPer1kRequests"));
    }
  }
  if (head.contains("alerts") && head["alerts"].is_object()) {
    std::map<std::string, double> fired;
    double total = 0;
    for (const auto& r : head["alerts"].value("rules", report::Json::array())) {
      fired[r.value("alert", "")] += JsonNumber(r, "fired");
      total += JsonNumber(r, "fired");
    }
    out.emplace_back("alertsFired", total);
    for (const auto& [alert, n] : fired) out.emplace_back("alertsFired/" + alert, n);
  }
  return out;
}

}  // namespace gputwin::sweep
