#include "core/index_list.h"

#include <charconv>
#include <string_view>

namespace gputwin {

std::optional<std::string> ParseIndexList(const std::string& text, int32_t limit,
                                          std::vector<bool>* out) {
  out->assign(static_cast<size_t>(limit > 0 ? limit : 0), false);
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
    for (int64_t i = first; i <= last; ++i) (*out)[static_cast<size_t>(i)] = true;
    prev = last;
    pos = end + 1;
    if (end == text.size()) break;
  }
  return std::nullopt;
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
