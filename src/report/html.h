// The HTML report: one self-contained file (the chart library inlined, no network when it
// is opened) drawn from a run's summary.json: overview, timelines, node Gantt, pending
// explanations, cold starts, lost work and cost tables.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "report/pod_spans.h"
#include "report/timelines.h"

namespace gputwin::report {

// uPlot (MIT, from npm), inlined at build time (generated html_assets.cc).
const char* UplotJs();
const char* UplotCss();

// The node Gantt's rows: the first nodes of nodes[] (a 10,000-node run: the page stays
// light). NodeClaims are read only for these nodes' names and to count launch failures.
inline constexpr size_t kGanttNodeRows = 1000;

std::string RenderHtml(const nlohmann::json& summary);
// The same with the pods given apart: a run hands them over from its store instead of a
// million-entry pods[] (summary's own pods[] is then not read).
std::string RenderHtml(const nlohmann::json& summary, const PodSpans& spans);

// Several runs side by side: their figures in one table, the same charts overlaid (hours
// from each run's start). `runs`: a label and a summary each.
std::string RenderComparison(const std::vector<std::pair<std::string, nlohmann::json>>& runs);

// Pieces of the pages, for other pages drawn in the same style (the sweep's report).
std::string EscapeHtml(const std::string& s);
std::string HtmlTable(const std::vector<std::string>& head,
                      const std::vector<std::vector<std::string>>& rows);
const char* ReportStyle();

}  // namespace gputwin::report
