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

// The intervals of `text`, first and last included, as written: an annotation naming a
// million indexes keeps one interval, not a million entries.
struct IndexInterval {
  int32_t first = 0, last = 0;
  bool operator==(const IndexInterval&) const = default;
};
std::optional<std::string> ParseIndexIntervals(const std::string& text, int32_t limit,
                                               std::vector<IndexInterval>* out);

// The number of indexes `text` names, counted interval by interval without expanding them
// (upstream's validateIndexesFormat): the API server's check of a successPolicy rule on a
// Job of up to 2^31-1 completions. Errors as ParseIndexList's.
std::optional<std::string> CountIndexList(const std::string& text, int32_t limit, int64_t* count);

// "1,3-5,7"; two neighbours are written "1,2" and three or more as a range, as upstream.
std::string FormatIndexList(const std::vector<bool>& set);

}  // namespace gputwin
