// One line of a comma-separated file into its cells. No quoting: the catalogs and the
// Alibaba traces the twin reads have none. A trailing comma is an empty last cell.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace gputwin {

inline std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::stringstream ss(line);
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

}  // namespace gputwin
