// The HTML report: one self-contained file (the chart library inlined, no network when it
// is opened) drawn from a run's summary.json: overview, timelines, node Gantt, pending
// explanations, cold starts, lost work and cost tables.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gputwin::report {

// uPlot (MIT, from npm), inlined at build time (generated html_assets.cc).
const char* UplotJs();
const char* UplotCss();

// The timelines the report draws, sampled on at most `points` instants from start to end:
// {"t": [unix seconds...], "pending": [...], "running": [...], "gpuCapacity": [...],
// "gpuAllocated": [...], "nodes": {"on-demand": [...], ...}, "costPerHour": [...]}.
nlohmann::ordered_json Timelines(const nlohmann::json& summary, int points = 480);

std::string RenderHtml(const nlohmann::json& summary);

}  // namespace gputwin::report
