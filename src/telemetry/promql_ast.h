// The parsed form of a query, shared by the parser (promql_parse.cc) and the evaluator
// (promql.cc); not part of the interface (promql.h).
#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/go_regexp.h"
#include "telemetry/promql.h"

namespace gputwin::telemetry::promql_ast {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const Duration kLookback = Duration::Minutes(5);  // Prometheus's default lookback delta

enum class Kind { kNumber, kString, kSelector, kFunc, kAgg, kBinary, kNeg };

struct Matcher {
  std::string label, op, value;
  std::optional<core::GoRegexp> re;  // for =~ and !~
};

// A regular expression as Prometheus compiles a matcher's or label_replace's: Go's syntax,
// anchored at both ends, '.' matching newlines ("^(?s:" + re + ")$"). Throws
// std::invalid_argument in Go's words.
core::GoRegexp CompilePromRegexp(const std::string& re);

}  // namespace gputwin::telemetry::promql_ast

namespace gputwin::telemetry {

struct PromQuery::Node {
  promql_ast::Kind kind = promql_ast::Kind::kNumber;
  double number = 0;
  std::string name;  // metric, function or aggregation
  std::vector<promql_ast::Matcher> matchers;
  Duration range{0};
  std::vector<std::unique_ptr<Node>> args;
  bool by = false, without = false, bool_mod = false;
  std::vector<std::string> grouping;
  // Binary operators' vector matching: on(...) or ignoring(...), group_left/right(...).
  bool on = false, ignoring = false;
  int group = 0;  // 1 group_left, 2 group_right
  std::vector<std::string> matching, include;
  Duration offset{0};  // selectors: `offset 5m`
  int height = 1;      // levels below and including this node
};

}  // namespace gputwin::telemetry
