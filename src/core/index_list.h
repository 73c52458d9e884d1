// Index lists as a Job writes them in status.completedIndexes and successPolicy
// ("1,3-5,7"): ascending, non-overlapping intervals (pkg/controller/job orderedIntervals).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gputwin {

// Parses `text` into `limit` flags; returns why it is malformed (not ascending, an index
// not below `limit`, not a number), or nullopt.
std::optional<std::string> ParseIndexList(const std::string& text, int32_t limit,
                                          std::vector<bool>* out);

// "1,3-5,7"; two neighbours are written "1,2" and three or more as a range, as upstream.
std::string FormatIndexList(const std::vector<bool>& set);

}  // namespace gputwin
