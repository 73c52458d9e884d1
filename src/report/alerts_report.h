// The alerts a run's Prometheus rules raised: summary.json's `alerts` key and the text
// report's Alerts section (when, how often, for which label sets).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gputwin::sim {
class Simulation;
}

namespace gputwin::report {

nlohmann::ordered_json AlertsJson(const sim::Simulation& sim);
std::string AlertsText(const sim::Simulation& sim);

}  // namespace gputwin::report
