// Karpenter's and the cloud's part of the outputs: NodePools, NodeClaims, why pending pods
// get no capacity (in Karpenter's words, "Pending forever" when nothing in the run changes
// it), where each cold start's minutes went, interruptions and lost work, Karpenter's
// metrics; and the cost of the run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/json_writer.h"
#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin::report {

// The "karpenter" object of summary.json (null without NodePools), with nodeClaims null:
// a month makes tens of thousands, streamed in its place one by one (WriteNodeClaim).
nlohmann::ordered_json KarpenterJson(const sim::Simulation& sim, const results::Results& r);
// karpenter.nodeClaims[index] of summary.json, written in place or as a tree.
void WriteNodeClaim(IndentedJsonWriter& w, const sim::Simulation& sim, size_t index);
nlohmann::ordered_json NodeClaimJson(const sim::Simulation& sim, size_t index);
// The "cost" object of summary.json (null when no node has a price).
nlohmann::ordered_json CostJson(const results::Results& r);
// The text report's sections ("" when absent).
std::string KarpenterText(const sim::Simulation& sim, const results::Results& r);
std::string CostText(const results::Results& r);

}  // namespace gputwin::report
