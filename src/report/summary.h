// What a run produced: summary.json (docs/summary-schema.md), the text summary on stdout,
// and the atomic writing of output files.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sim/simulation.h"

namespace gputwin::report {

using Json = nlohmann::ordered_json;

Json BuildSummary(const sim::Simulation& sim);
std::string RenderText(const sim::Simulation& sim);

// Writes `content` to dir/name through a temporary file and a rename, so a reader never
// sees half a file. Creates `dir` if needed. Throws std::runtime_error on failure.
void WriteFileAtomically(const std::string& dir, const std::string& name,
                         const std::string& content);

}  // namespace gputwin::report
