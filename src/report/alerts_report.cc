#include "report/alerts_report.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "prometheus/rule_manager.h"
#include "sim/simulation.h"

namespace gputwin::report {
namespace {

double Offset(const sim::Simulation& sim, Time t) {
  return std::round((t - sim.start()).seconds() * 1000.0) / 1000.0;
}

std::string LabelText(const telemetry::Labels& l) {
  std::string out;
  for (const auto& [k, v] : l) {
    if (k == "alertname") continue;
    out += (out.empty() ? "" : ", ") + k + "=" + v;
  }
  return out;
}

}  // namespace

nlohmann::ordered_json AlertsJson(const sim::Simulation& sim) {
  using Json = nlohmann::ordered_json;
  Json out = Json::object();
  const auto* rules = sim.rules();
  if (!rules) return out;
  Json summary = Json::array();
  for (const auto& s : rules->Summaries()) {
    summary.push_back(Json{{"alert", s.alert},
                           {"group", s.group},
                           {"expr", s.expr},
                           {"source", s.source.Describe()},
                           {"pending", s.pending},
                           {"fired", s.fired}});
  }
  Json alerts = Json::array();
  for (const auto& a : rules->alerts()) {
    Json labels = Json::object();
    for (const auto& [k, v] : a.labels) labels[k] = v;
    Json annotations = Json::object();
    for (const auto& [k, v] : a.annotations) annotations[k] = v;
    alerts.push_back(
        Json{{"alert", a.alert},
             {"group", a.group},
             {"labels", labels},
             {"pendingAt", Offset(sim, a.pending_at)},
             {"firingAt", a.fired ? Json(Offset(sim, a.firing_at)) : Json(nullptr)},
             {"resolvedAt", a.resolved ? Json(Offset(sim, a.resolved_at)) : Json(nullptr)},
             {"value", a.value},
             {"annotations", annotations}});
  }
  out["rules"] = summary;
  out["alerts"] = alerts;
  return out;
}

std::string AlertsText(const sim::Simulation& sim) {
  const auto* rules = sim.rules();
  if (!rules) return "";
  std::string out = "\nAlerts (Prometheus rules)\n";
  for (const auto& s : rules->Summaries()) {
    out +=
        fmt::format("  {} ({}): {} went pending, {} fired\n", s.alert, s.group, s.pending, s.fired);
    int shown = 0;
    for (const auto& a : rules->alerts()) {
      if (a.alert != s.alert || a.group != s.group) continue;
      if (++shown > 5) break;
      out += fmt::format(
          "    {}: pending {}s, {}{}\n", LabelText(a.labels), Offset(sim, a.pending_at),
          a.fired ? fmt::format("firing {}s", Offset(sim, a.firing_at))
                  : std::string("never fired"),
          a.resolved ? fmt::format(", resolved {}s", Offset(sim, a.resolved_at)) : std::string());
    }
  }
  return out;
}

}  // namespace gputwin::report
