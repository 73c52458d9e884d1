#include "sim/csv_arrivals.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "core/csv.h"
#include "core/duration_cast.h"
#include "core/errors.h"

namespace gputwin::sim {

std::vector<Duration> ReadCsvArrivals(const api::WorkloadGenerator& g) {
  std::ifstream in(g.arrival.csv_file);
  if (!in) throw InputError(g.source, "arrival.file", "cannot read " + g.arrival.csv_file);
  std::string line;
  std::vector<Duration> out;
  int column = 0;
  int line_no = 0;
  bool header_done = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells = SplitCsvLine(line);
    if (!header_done) {
      header_done = true;
      // A header row names the column; without `column` the first is used.
      bool numeric = !cells.empty() && !cells[0].empty() &&
                     (std::isdigit(static_cast<unsigned char>(cells[0][0])) != 0);
      if (!numeric) {
        if (!g.arrival.csv_column.empty()) {
          auto it = std::find(cells.begin(), cells.end(), g.arrival.csv_column);
          if (it == cells.end()) {
            throw InputError(SourceRef{g.arrival.csv_file, line_no}, "",
                             "no column \"" + g.arrival.csv_column + "\"");
          }
          column = static_cast<int>(it - cells.begin());
        }
        continue;
      }
    }
    if (static_cast<size_t>(column) >= cells.size()) {
      throw InputError(SourceRef{g.arrival.csv_file, line_no}, "", "missing column");
    }
    const std::string& v = cells[static_cast<size_t>(column)];
    std::string err;
    if (auto d = ParseDuration(v, &err)) {
      out.push_back(*d);
      continue;
    }
    char* end = nullptr;
    double secs = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(secs >= 0)) {
      throw InputError(SourceRef{g.arrival.csv_file, line_no}, "",
                       "\"" + v + "\" is neither a duration nor a number of seconds");
    }
    out.push_back(SaturatingNs(std::round(secs * 1e9)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace gputwin::sim
