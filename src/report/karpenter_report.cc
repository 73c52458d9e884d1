#include "report/karpenter_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "cloud/ec2.h"
#include "cost/cost.h"
#include "karpenter/karpenter.h"
#include "report/summary_values.h"
#include "report/table.h"

namespace gputwin::report {

using Json = nlohmann::ordered_json;
using karpenter::ClaimPhase;

namespace {

double Round2(double v) {
  return std::round(v * 100) / 100;
}

}  // namespace

namespace {

template <class Writer>
void WriteClaim(Writer& w, const sim::Simulation& sim, size_t index) {
  const auto* k = sim.karpenter();
  const auto& s = sim.store();
  const auto& catalog = k->ec2().catalog();
  const auto& c = k->node_claims()[index];
  w.BeginObject();
  w.Key("name").String(c.name);
  w.Key("nodepool").String(k->node_pools()[c.nodepool].spec->metadata.name);
  w.Key("reason").String(c.reason);
  if (c.instance) {
    w.Key("instanceType").String(catalog.types[c.type].name);
    w.Key("capacityType").String(cloud::CapacityTypeName(c.capacity_type));
  } else {
    w.Key("instanceType").Null();
    w.Key("capacityType").Null();
  }
  w.Key("zone").String(c.zone);
  w.Key("pricePerHour").Double(c.price);
  if (c.node == cluster::kNone) {
    w.Key("node").Null();
  } else {
    w.Key("node").String(s.node(c.node).name());
  }
  WriteTimeOrNull(w.Key("createdAt"), c.created_at);
  WriteTimeOrNull(w.Key("launchedAt"), c.launched_at);
  WriteTimeOrNull(w.Key("registeredAt"), c.registered_at);
  WriteTimeOrNull(w.Key("initializedAt"), c.initialized_at);
  WriteTimeOrNull(w.Key("deletedAt"), c.deleted_at);
  w.Key("disruptionReason").String(c.disruption_reason);
  w.Key("drainBlocked").String(c.drain_blocked);
  w.Key("launchError").String(c.launch_error);
  w.Key("pods").UInt(c.pods.size());
  // The instance types its requirements allowed (Karpenter keeps the 600 cheapest in the
  // NodeClaim's node.kubernetes.io/instance-type requirement), cheapest first.
  w.Key("instanceTypeOptions").UInt(c.instance_types.size());
  w.Key("cheapestOptions").BeginArray();
  for (size_t i = 0; i < c.instance_types.size() && i < 5; ++i) {
    w.String(catalog.types[c.instance_types[i]].name);
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

void WriteNodeClaim(IndentedJsonWriter& w, const sim::Simulation& sim, size_t index) {
  WriteClaim(w, sim, index);
}

Json NodeClaimJson(const sim::Simulation& sim, size_t index) {
  JsonTreeWriter w;
  WriteClaim(w, sim, index);
  return w.Take();
}

Json KarpenterJson(const sim::Simulation& sim, const results::Results& r) {
  const auto* k = sim.karpenter();
  if (!k) return nullptr;
  const auto& s = sim.store();
  const auto& catalog = k->ec2().catalog();
  Json pools = Json::array();
  for (const auto& p : k->node_pools()) {
    pools.push_back(Json{{"name", p.spec->metadata.name},
                         {"weight", p.spec->weight.value_or(0)},
                         {"ready", p.not_ready.empty()},
                         {"message", p.not_ready},
                         {"instanceTypes", p.instance_types.size()}});
  }
  Json pending = Json::array();
  for (const auto& v : r.karpenter_pending) {
    pending.push_back(Json{{"pod", s.pod(v.pod).Key()},
                           {"message", v.message},
                           {"pendingForever", v.forever},
                           {"nominated", v.nominated}});
  }
  Json cold = Json::array();
  for (const auto& c : r.cold_starts) {
    cold.push_back(Json{{"pod", s.pod(c.pod).Key()},
                        {"nodeClaim", c.claim->name},
                        {"instanceType", catalog.types[c.claim->type].name},
                        {"waitingForDecisionSeconds", Round2(c.decision)},
                        {"launchAndBootSeconds", Round2(c.launch)},
                        {"gpuSetupSeconds", Round2(c.gpu)},
                        {"bindSeconds", Round2(c.bind)},
                        {"imagePullSeconds", Round2(c.pull)},
                        {"totalSeconds", Round2(c.total)}});
  }
  Json lost = Json::array();
  for (const auto& w : r.lost_work) {
    lost.push_back(Json{{"pod", s.pod(w.pod).Key()},
                        {"at", FormatRFC3339(w.at)},
                        {"seconds", Round2(w.seconds)},
                        {"gpuSeconds", Round2(w.gpu_seconds)},
                        {"reason", w.reason}});
  }
  Json metrics = Json::array();
  const auto& reg = sim.metrics();
  for (auto id : reg.Recorded("karpenter")) {
    const auto& series = reg.series(id);
    if (reg.family(series.family).desc.name == "up") continue;  // Prometheus's, not Karpenter's
    Json samples = Json::array();
    for (const auto& [t, v] : series.samples) samples.push_back(Json::array({FormatRFC3339(t), v}));
    metrics.push_back(Json{{"name", reg.family(series.family).desc.name},
                           {"labels", series.labels},
                           {"samples", samples}});
  }
  const auto& h = reg.series(reg.Histograms("karpenter").front()).histogram;
  Json buckets = Json::array();
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= h.bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    buckets.push_back(Json{{"le", i < h.bounds.size() ? Json(h.bounds[i]) : Json("+Inf")},
                           {"count", cumulative}});
  }
  return Json{{"nodePools", pools},
              {"nodeClaims", nullptr},  // streamed in its place (NodeClaimJson)
              {"pendingPods", pending},
              {"coldStarts", cold},
              {"lostWork", lost},
              {"provisioningPasses", k->provisioning_passes()},
              {"schedulingDecisions", k->scheduling_decisions()},
              {"reusedPasses", k->reused_passes()},
              {"histograms",
               Json::array({Json{
                   {"name", h.name}, {"sum", h.sum}, {"count", h.count}, {"buckets", buckets}}})},
              {"metrics", metrics}};
}

Json CostJson(const results::Results& results) {
  const auto& r = results.cost;
  if (!r.priced) return nullptr;
  auto money = [](double v) { return std::round(v * 10000) / 10000; };
  // The keys come sorted and unique: appended as they are (ordered_json's operator[]
  // searches linearly, quadratic over a million Jobs).
  auto rollup = [&](const std::map<std::string, double>& m) {
    Json j = Json::object();
    auto& items = j.get_ref<Json::object_t&>();
    items.reserve(m.size());
    for (const auto& [k, v] : m)
      items.std::vector<Json::object_t::value_type>::emplace_back(k, money(v));
    return j;
  };
  Json nodes = Json::array();
  for (const auto& n : r.nodes) {
    if (n.price <= 0) continue;
    nodes.push_back(Json{{"name", n.name},
                         {"instanceType", n.instance_type},
                         {"capacityType", n.capacity_type},
                         {"nodepool", n.nodepool},
                         {"pricePerHour", n.price},
                         {"hours", money(n.hours)},
                         {"cost", money(n.total)},
                         {"allocated", money(n.allocated)},
                         {"idle", money(n.idle)},
                         {"idleGpu", money(n.idle_gpu)}});
  }
  return Json{{"currency", "USD"},
              {"total", money(r.total)},
              {"allocated", money(r.allocated)},
              {"idle", money(r.idle)},
              {"idleGpu", money(r.idle_gpu)},
              {"gpuHours", money(r.gpu_hours)},
              {"allocatedGpuHours", money(r.allocated_gpu_hours)},
              {"spotSavings", money(r.spot_savings)},
              {"lostGpuHours", money(r.lost_gpu_hours)},
              {"lostWorkCost", money(r.lost_work_cost)},
              {"byNamespace", rollup(r.by_namespace)},
              {"byJob", rollup(r.by_job)},
              {"byDeployment", rollup(r.by_deployment)},
              {"byTeam", rollup(r.by_team)},
              {"nodes", nodes}};
}

std::string KarpenterText(const sim::Simulation& sim, const results::Results& r) {
  const auto* k = sim.karpenter();
  if (!k) return "";
  const auto& s = sim.store();
  const auto& catalog = k->ec2().catalog();
  const Time t0 = sim.start();
  auto rel = [&](Time t) {
    return t == cluster::kNever ? std::string("-") : FormatDuration(t - t0);
  };
  std::string out = "\nKarpenter NodeClaims\n";
  TextTable claims({{"NAME", 22},
                    {"INSTANCE-TYPE", 16},
                    {"CAPACITY", 10},
                    {"ZONE", 11},
                    {"$/HOUR", 8, true},
                    {"CREATED", 9, true},
                    {"READY", 9, true},
                    {"DELETED", 9, true},
                    {"WHY", 0, false, 2}});
  size_t shown = 0, launched = 0;
  std::map<std::string, std::pair<int, std::string>> failed;  // nodepool → count, last error
  for (const auto& c : k->node_claims()) {
    if (!c.instance) {
      auto& f = failed[k->node_pools()[c.nodepool].spec->metadata.name];
      ++f.first;
      f.second = c.launch_error;
      continue;
    }
    ++launched;
    if (++shown > 40) continue;
    std::string why = c.disruption_reason;
    if (!c.drain_blocked.empty()) why += ", " + c.drain_blocked;
    if (why.size() > 90) why = why.substr(0, 87) + "...";
    claims.Add({c.name, c.instance ? catalog.types[c.type].name : "-",
                c.instance ? cloud::CapacityTypeName(c.capacity_type) : "-", c.zone,
                fmt::format("{:.3f}", c.price), rel(c.created_at), rel(c.initialized_at),
                rel(c.deleted_at), why});
  }
  out += claims.Render();
  if (launched > 40) out += fmt::format("  ... {} more in summary.json\n", launched - 40);
  for (const auto& [pool, f] : failed) {
    out += fmt::format("  {} NodeClaim(s) of {} failed to launch; the last: {}\n", f.first, pool,
                       f.second);
  }
  // Why pods get no capacity, grouped by Karpenter's message.
  std::map<std::pair<bool, std::string>, std::vector<std::string>> groups;
  for (const auto& v : r.karpenter_pending) {
    groups[{!v.forever, v.message}].push_back(s.pod(v.pod).Key());
  }
  if (!groups.empty()) {
    out += "\nWhy pods get no node (Karpenter)\n";
    for (const auto& [key, pods] : groups) {
      out += fmt::format("  {}{} pod(s): {}\n", key.first ? "" : "Pending forever: ", pods.size(),
                         key.second);
      for (size_t i = 0; i < pods.size() && i < 3; ++i) out += "    " + pods[i] + "\n";
      if (pods.size() > 3) out += "    ...\n";
    }
  }
  const auto& cold = r.cold_starts;
  if (!cold.empty()) {
    out += "\nCold starts (pods that waited for a new node)\n";
    TextTable table({{"POD", 36},
                     {"INSTANCE-TYPE", 16},
                     {"DECISION", 9, true},
                     {"LAUNCH+BOOT", 12, true},
                     {"GPU-SETUP", 9, true},
                     {"BIND", 7, true},
                     {"IMAGE", 9, true},
                     {"TOTAL", 9, true}});
    for (size_t i = 0; i < cold.size() && i < 20; ++i) {
      const auto& c = cold[i];
      auto d = [](double v) {
        return FormatDuration(Duration::Milliseconds(std::llround(v * 1000)));
      };
      table.Add({s.pod(c.pod).Key(), catalog.types[c.claim->type].name, d(c.decision), d(c.launch),
                 d(c.gpu), d(c.bind), d(c.pull), d(c.total)});
    }
    out += table.Render();
    if (cold.size() > 20) out += fmt::format("  ... {} more in summary.json\n", cold.size() - 20);
  }
  if (!r.lost_work.empty()) {
    double secs = 0, gpu = 0;
    for (const auto& w : r.lost_work) {
      secs += w.seconds;
      gpu += w.gpu_seconds;
    }
    out += fmt::format(
        "\nInterruptions and lost work: {} pod(s) lost {:.2f} hours of work ({:.2f} GPU-hours)\n",
        r.lost_work.size(), secs / 3600, gpu / 3600);
    for (size_t i = 0; i < r.lost_work.size() && i < 10; ++i) {
      const auto& w = r.lost_work[i];
      out += fmt::format("  {:<36} at {:>9}  lost {:>9}  {}\n", s.pod(w.pod).Key(), rel(w.at),
                         FormatDuration(Duration::Seconds(std::llround(w.seconds))), w.reason);
    }
  }
  return out;
}

std::string CostText(const results::Results& results) {
  const auto& r = results.cost;
  if (!r.priced) return "";
  std::string out = "\nCost (USD)\n";
  out +=
      fmt::format("  total ${:.2f}: allocated to pods ${:.2f}, idle ${:.2f} (idle GPUs ${:.2f})\n",
                  r.total, r.allocated, r.idle, r.idle_gpu);
  out += fmt::format(
      "  GPU-hours {:.1f}, allocated {:.1f}; spot savings ${:.2f}; work lost to "
      "evictions {:.2f} GPU-hours (${:.2f})\n",
      r.gpu_hours, r.allocated_gpu_hours, r.spot_savings, r.lost_gpu_hours, r.lost_work_cost);
  auto section = [&](const char* title, const std::map<std::string, double>& m) {
    if (m.empty()) return;
    std::vector<std::pair<double, std::string>> v;
    for (const auto& [k, c] : m) v.emplace_back(-c, k);
    std::sort(v.begin(), v.end());
    out += std::string("  by ") + title + ":";
    for (size_t i = 0; i < v.size() && i < 8; ++i) {
      out += fmt::format(" {} ${:.2f}{}", v[i].second, -v[i].first,
                         i + 1 < std::min<size_t>(v.size(), 8) ? "," : "");
    }
    out += "\n";
  };
  section("namespace", r.by_namespace);
  section("team", r.by_team);
  section("job", r.by_job);
  section("deployment", r.by_deployment);
  return out;
}

}  // namespace gputwin::report
