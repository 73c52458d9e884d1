// A text table whose columns grow to fit their widest cell, so a long namespace/name does
// not push the rest of its row out of line. Columns start at the widths the report has
// always used; only wider cells widen them.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace gputwin::report {

class TextTable {
 public:
  struct Column {
    std::string header;
    size_t width = 0;    // at least this wide
    bool right = false;  // right-aligned (numbers, times)
    size_t gap = 1;      // spaces before the column
  };
  explicit TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }

  // The header line and the rows, each line starting with `indent`.
  std::string Render(const std::string& indent = "  ") const {
    std::vector<size_t> width(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) {
      width[c] = std::max(columns_[c].width, columns_[c].header.size());
      for (const auto& r : rows_) {
        if (c < r.size()) width[c] = std::max(width[c], r[c].size());
      }
    }
    std::string out;
    auto line = [&](auto cell) {
      std::string l = indent;
      for (size_t c = 0; c < columns_.size(); ++c) {
        if (c > 0) l.append(columns_[c].gap, ' ');
        const std::string& v = cell(c);
        const size_t pad = width[c] > v.size() ? width[c] - v.size() : 0;
        const bool last = c + 1 == columns_.size();
        if (columns_[c].right) l.append(pad, ' ');
        l += v;
        if (!columns_[c].right && !last) l.append(pad, ' ');
      }
      out += l + "\n";
    };
    line([&](size_t c) -> const std::string& { return columns_[c].header; });
    static const std::string kEmpty;
    for (const auto& r : rows_) {
      line([&](size_t c) -> const std::string& { return c < r.size() ? r[c] : kEmpty; });
    }
    return out;
  }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace gputwin::report
