// The sweep's page (report.html in a sweep's --out): which point wins and at what cost, the
// points against the objectives in one table, and a Pareto chart of the minimised figure
// against the first objective's. Drawn from sweep.json alone, as the run's report is
// drawn from summary.json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gputwin::report {

std::string RenderSweepReport(const nlohmann::ordered_json& sweep);

}  // namespace gputwin::report
