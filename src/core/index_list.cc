#include "core/index_list.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace gputwin {

namespace {

// Walks the intervals of `text` in order, calling on_interval(first, last) for each, and
// returns why the list is malformed, or nullopt. Nothing is expanded, so a list of a few
// bytes naming two billion indexes costs as little as upstream's interval parse.
template <typename OnInterval>
std::optional<std::string> WalkIndexIntervals(const std::string& text, int32_t limit,
                                              OnInterval on_interval) {
  if (text.empty()) return std::nullopt;
  int64_t prev = -1;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view part(text.data() + pos, end - pos);
    auto number = [](std::string_view s, int64_t* v) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
      return !s.empty() && ec == std::errc() && p == s.data() + s.size() && *v >= 0;
    };
    int64_t first = 0, last = 0;
    size_t dash = part.find('-');
    if (dash == std::string_view::npos) {
      if (!number(part, &first)) return "cannot convert \"" + std::string(part) + "\" to an index";
      last = first;
    } else if (!number(part.substr(0, dash), &first) || !number(part.substr(dash + 1), &last)) {
      return "the fragment \"" + std::string(part) + "\" is not of the form \"<first>-<last>\"";
    }
    if (last < first) {
      return "the fragment \"" + std::string(part) + "\" ends before it starts";
    }
    if (first <= prev) return "the indexes are not ordered or they overlap";
    if (last >= limit) {
      return "index " + std::to_string(last) + " is not below " + std::to_string(limit);
    }
    on_interval(first, last);
    prev = last;
    pos = end + 1;
    if (end == text.size()) break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ParseIndexList(const std::string& text, int32_t limit,
                                          std::vector<bool>* out) {
  out->assign(static_cast<size_t>(limit > 0 ? limit : 0), false);
  return WalkIndexIntervals(text, limit, [&](int64_t first, int64_t last) {
    std::fill(out->begin() + first, out->begin() + last + 1, true);
  });
}

std::optional<std::string> ParseIndexIntervals(const std::string& text, int32_t limit,
                                               std::vector<IndexInterval>* out) {
  out->clear();
  return WalkIndexIntervals(text, limit, [&](int64_t first, int64_t last) {
    out->push_back({static_cast<int32_t>(first), static_cast<int32_t>(last)});
  });
}

std::optional<std::string> CountIndexList(const std::string& text, int32_t limit, int64_t* count) {
  *count = 0;
  return WalkIndexIntervals(text, limit,
                            [&](int64_t first, int64_t last) { *count += last - first + 1; });
}

std::string FormatIndexList(const std::vector<bool>& set) {
  std::string out;
  for (size_t i = 0; i < set.size();) {
    if (!set[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j + 1 < set.size() && set[j + 1]) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(i);
    if (j > i) out += (j == i + 1 ? "," : "-") + std::to_string(j);
    i = j + 1;
  }
  return out;
}

}  // namespace gputwin
