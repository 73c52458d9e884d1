// PromQL's grammar for the twin's subset (README.md), parsed by recursive descent into
// PromQuery::Node (promql_ast.h); regular expressions are Go's, compiled by RE2.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "telemetry/promql_ast.h"

namespace gputwin::telemetry {

namespace promql_ast {

core::GoRegexp CompilePromRegexp(const std::string& re) {
  return core::GoRegexp("^(?s:" + re + ")$");
}

}  // namespace promql_ast

namespace {

using promql_ast::CompilePromRegexp;
using promql_ast::Kind;
using promql_ast::Matcher;
using Node = PromQuery::Node;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}
  std::unique_ptr<Node> Parse() {
    auto n = Or();
    Skip();
    if (i_ != s_.size()) Fail("unexpected \"" + s_.substr(i_, 12) + "\"");
    return n;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::invalid_argument("PromQL at character " + std::to_string(i_ + 1) + ": " + what);
  }
  void Skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  // The parser, the evaluation and the tree's destruction recurse once a level: a few
  // hundred parentheses overflowed the stack. Prometheus has no limit; no query needs one.
  static constexpr int kMaxDepth = 256;
  void TooDeep() const { Fail("nested deeper than " + std::to_string(kMaxDepth) + " levels"); }
  struct Descend {
    explicit Descend(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxDepth) p_->TooDeep();
    }
    ~Descend() { --p_->depth_; }
    Parser* p_;
  };
  std::unique_ptr<Node> Checked(std::unique_ptr<Node> n) const {
    for (const auto& a : n->args) n->height = std::max(n->height, a->height + 1);
    if (n->height > kMaxDepth) TooDeep();
    return n;
  }
  bool Eat(const std::string& tok) {
    Skip();
    if (s_.compare(i_, tok.size(), tok) == 0) {
      i_ += tok.size();
      return true;
    }
    return false;
  }
  void Expect(const std::string& tok) {
    if (!Eat(tok)) Fail("expected \"" + tok + "\"");
  }
  std::string Ident() {
    Skip();
    size_t start = i_;
    while (i_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == ':')) {
      ++i_;
    }
    return s_.substr(start, i_ - start);
  }
  std::string String() {
    Skip();
    if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) Fail("expected a quoted string");
    const char q = s_[i_++];
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (i_ >= s_.size()) Fail("unterminated string");
    ++i_;
    return out;
  }
  Duration RangeDuration() {
    Skip();
    auto d = ParsePrometheusDuration(s_, &i_);
    if (!d) Fail("expected a duration such as 5m (units ms, s, m, h, d, w, y)");
    return *d;
  }
  // Precedence, lowest first: or; and, unless; comparisons; + -; * / %; ^ (right).
  bool Keyword(const char* word) {
    Skip();
    const size_t save = i_;
    if (Ident() == word) return true;
    i_ = save;
    return false;
  }
  void LabelNames(std::vector<std::string>* out) {
    Expect("(");
    if (!Eat(")")) {
      do {
        out->push_back(Ident());
      } while (Eat(","));
      Expect(")");
    }
  }
  // on(...)/ignoring(...) and group_left/group_right(...) after an operator.
  void Matching(Node* n) {
    if (Keyword("on")) {
      n->on = true;
      LabelNames(&n->matching);
    } else if (Keyword("ignoring")) {
      n->ignoring = true;
      LabelNames(&n->matching);
    } else {
      return;
    }
    for (int g : {1, 2}) {
      if (Keyword(g == 1 ? "group_left" : "group_right")) {
        n->group = g;
        Skip();
        if (i_ < s_.size() && s_[i_] == '(') LabelNames(&n->include);
        break;
      }
    }
  }
  std::unique_ptr<Node> Or() {
    auto l = And();
    while (Keyword("or")) {
      auto n = std::make_unique<Node>();
      n->kind = Kind::kBinary;
      n->name = "or";
      Matching(n.get());
      n->args.push_back(std::move(l));
      n->args.push_back(And());
      l = Checked(std::move(n));
    }
    return l;
  }
  std::unique_ptr<Node> And() {
    auto l = Comparison();
    for (;;) {
      std::string op = Keyword("and") ? "and" : Keyword("unless") ? "unless" : "";
      if (op.empty()) return l;
      auto n = std::make_unique<Node>();
      n->kind = Kind::kBinary;
      n->name = op;
      Matching(n.get());
      n->args.push_back(std::move(l));
      n->args.push_back(Comparison());
      l = Checked(std::move(n));
    }
  }
  std::unique_ptr<Node> Comparison() {
    auto l = Additive();
    for (;;) {
      std::string op;
      for (const char* c : {"==", "!=", ">=", "<=", ">", "<"}) {
        if (Eat(c)) {
          op = c;
          break;
        }
      }
      if (op.empty()) return l;
      auto n = std::make_unique<Node>();
      n->kind = Kind::kBinary;
      n->name = op;
      n->bool_mod = Keyword("bool");
      Matching(n.get());
      n->args.push_back(std::move(l));
      n->args.push_back(Additive());
      l = Checked(std::move(n));
    }
  }
  std::unique_ptr<Node> Additive() {
    auto l = Multiplicative();
    for (;;) {
      std::string op = Eat("+") ? "+" : Eat("-") ? "-" : "";
      if (op.empty()) return l;
      auto n = std::make_unique<Node>();
      n->kind = Kind::kBinary;
      n->name = op;
      Matching(n.get());
      n->args.push_back(std::move(l));
      n->args.push_back(Multiplicative());
      l = Checked(std::move(n));
    }
  }
  std::unique_ptr<Node> Multiplicative() {
    auto l = Power();
    for (;;) {
      std::string op = Eat("*") ? "*" : Eat("/") ? "/" : Eat("%") ? "%" : "";
      if (op.empty()) return l;
      auto n = std::make_unique<Node>();
      n->kind = Kind::kBinary;
      n->name = op;
      Matching(n.get());
      n->args.push_back(std::move(l));
      n->args.push_back(Power());
      l = Checked(std::move(n));
    }
  }
  std::unique_ptr<Node> Power() {
    const Descend descend(this);
    auto l = Unary();
    if (!Eat("^")) return l;
    auto n = std::make_unique<Node>();
    n->kind = Kind::kBinary;
    n->name = "^";
    Matching(n.get());
    n->args.push_back(std::move(l));
    n->args.push_back(Power());  // right-associative
    return Checked(std::move(n));
  }
  std::unique_ptr<Node> Unary() {
    const Descend descend(this);
    if (Eat("-")) {
      auto n = std::make_unique<Node>();
      n->kind = Kind::kNeg;
      n->args.push_back(Unary());
      return Checked(std::move(n));
    }
    Eat("+");
    return Primary();
  }
  void Grouping(Node* n) {
    const size_t save = i_;
    std::string w = Ident();
    if (w == "by" || w == "without") {
      n->by = w == "by";
      n->without = w == "without";
      Expect("(");
      if (!Eat(")")) {
        do {
          n->grouping.push_back(Ident());
        } while (Eat(","));
        Expect(")");
      }
    } else {
      i_ = save;
    }
  }
  std::unique_ptr<Node> Primary() {
    Skip();
    if (i_ >= s_.size()) Fail("unexpected end of query");
    if (Eat("(")) {
      auto n = Or();
      Expect(")");
      return n;
    }
    if (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.') {
      // strtod, not std::stod: its exceptions named no position.
      const char* begin = s_.c_str() + i_;
      char* end = nullptr;
      errno = 0;
      auto n = std::make_unique<Node>();
      n->number = std::strtod(begin, &end);
      if (end == begin) Fail("unexpected \"" + s_.substr(i_, 1) + "\"");
      if (errno == ERANGE && std::isinf(n->number)) {
        // As Prometheus: strconv.ParseFloat's range error.
        Fail("error parsing number: \"" + s_.substr(i_, static_cast<size_t>(end - begin)) +
             "\": value out of range");
      }
      i_ += static_cast<size_t>(end - begin);
      return n;
    }
    if (s_[i_] == '{') return Selector("");
    if (s_[i_] == '"' || s_[i_] == '\'') {
      auto n = std::make_unique<Node>();
      n->kind = Kind::kString;
      n->name = String();
      return n;
    }
    const size_t start = i_;
    std::string id = Ident();
    if (id.empty()) Fail("unexpected \"" + s_.substr(i_, 1) + "\"");
    static const std::vector<std::string> aggs = {"sum", "avg", "min", "max", "count"};
    // Functions and their arities, checked here as Prometheus's parser does (an argument
    // missing was read all the same at evaluation).
    struct Function {
      const char* name;
      size_t min_args, max_args;
    };
    static constexpr Function kFunctions[] = {{"rate", 1, 1},
                                              {"irate", 1, 1},
                                              {"increase", 1, 1},
                                              {"avg_over_time", 1, 1},
                                              {"max_over_time", 1, 1},
                                              {"min_over_time", 1, 1},
                                              {"sum_over_time", 1, 1},
                                              {"count_over_time", 1, 1},
                                              {"last_over_time", 1, 1},
                                              {"histogram_quantile", 2, 2},
                                              {"abs", 1, 1},
                                              {"ceil", 1, 1},
                                              {"floor", 1, 1},
                                              {"clamp_min", 2, 2},
                                              {"clamp_max", 2, 2},
                                              {"clamp", 3, 3},
                                              {"scalar", 1, 1},
                                              {"vector", 1, 1},
                                              {"time", 0, 0},
                                              {"absent", 1, 1},
                                              {"label_replace", 5, 5},
                                              {"changes", 1, 1},
                                              {"delta", 1, 1},
                                              {"deriv", 1, 1},
                                              {"round", 1, 2},
                                              {"resets", 1, 1},
                                              {"idelta", 1, 1},
                                              {"sqrt", 1, 1},
                                              {"exp", 1, 1},
                                              {"ln", 1, 1}};
    static const std::vector<std::string> unsupported = {
        "topk",         "bottomk",   "quantile",           "stddev",         "stdvar",
        "count_values", "group",     "label_join",         "predict_linear", "sort",
        "sort_desc",    "timestamp", "quantile_over_time", "holt_winters",   "absent_over_time"};
    if (std::find(aggs.begin(), aggs.end(), id) != aggs.end()) {
      auto n = std::make_unique<Node>();
      n->kind = Kind::kAgg;
      n->name = id;
      Grouping(n.get());
      Expect("(");
      n->args.push_back(Or());
      Expect(")");
      if (!n->by && !n->without) Grouping(n.get());
      return Checked(std::move(n));
    }
    Skip();
    if (i_ < s_.size() && s_[i_] == '(') {
      const Function* fn = std::find_if(std::begin(kFunctions), std::end(kFunctions),
                                        [&](const Function& f) { return id == f.name; });
      if (fn == std::end(kFunctions)) {
        i_ = start;
        if (std::find(unsupported.begin(), unsupported.end(), id) != unsupported.end()) {
          Fail("\"" + id + "\" is not in the twin's PromQL subset (docs/serving.md)");
        }
        Fail("unknown function \"" + id + "\"");
      }
      Expect("(");
      auto n = std::make_unique<Node>();
      n->kind = Kind::kFunc;
      n->name = id;
      if (!Eat(")")) {
        do {
          n->args.push_back(Or());
        } while (Eat(","));
        Expect(")");
      }
      // Prometheus's words (parser.go checkAST).
      const size_t got = n->args.size();
      if (got < fn->min_args || got > fn->max_args) {
        i_ = start;
        const std::string got_text = ", got " + std::to_string(got);
        if (fn->min_args == fn->max_args) {
          Fail("expected " + std::to_string(fn->min_args) + " argument(s) in call to \"" + id +
               "\"" + got_text);
        }
        Fail("expected " + std::string(got < fn->min_args ? "at least " : "at most ") +
             std::to_string(got < fn->min_args ? fn->min_args : fn->max_args) +
             " argument(s) in call to \"" + id + "\"" + got_text);
      }
      return Checked(std::move(n));
    }
    if (id == "and" || id == "or" || id == "unless" || id == "offset" || id == "on" ||
        id == "ignoring" || id == "bool" || id == "by" || id == "without") {
      i_ = start;
      Fail("unexpected \"" + id + "\"");
    }
    return Selector(id);
  }
  std::unique_ptr<Node> Selector(const std::string& name) {
    auto n = std::make_unique<Node>();
    n->kind = Kind::kSelector;
    n->name = name;
    if (Eat("{")) {
      if (!Eat("}")) {
        do {
          Matcher m;
          m.label = Ident();
          if (m.label.empty()) Fail("expected a label name");
          for (const char* op : {"=~", "!~", "!=", "="}) {
            if (Eat(op)) {
              m.op = op;
              break;
            }
          }
          if (m.op.empty()) Fail("expected =, !=, =~ or !~");
          m.value = String();
          if (m.op == "=~" || m.op == "!~") {
            try {
              m.re = CompilePromRegexp(m.value);
            } catch (const std::invalid_argument& e) {
              Fail("bad regular expression \"" + m.value + "\": " + e.what());
            }
          }
          if (m.label == "__name__" && m.op == "=")
            n->name = m.value;
          else
            n->matchers.push_back(std::move(m));
        } while (Eat(",") && (Skip(), i_ < s_.size() && s_[i_] != '}'));
        Expect("}");
      }
    }
    if (n->name.empty()) Fail("a selector needs a metric name");
    if (Eat("[")) {
      n->range = RangeDuration();
      Expect("]");
    }
    if (Keyword("offset")) {
      const bool negative = Eat("-");
      n->offset = RangeDuration();
      if (negative) n->offset = Duration{-n->offset.ns};
    }
    Skip();
    if (i_ < s_.size() && s_[i_] == '@') Fail("the @ modifier is not in the twin's PromQL subset");
    return n;
  }

  const std::string& s_;
  size_t i_ = 0;
  int depth_ = 0;  // parser frames open (Descend)
};

}  // namespace

PromQuery::~PromQuery() = default;
PromQuery::PromQuery(PromQuery&&) noexcept = default;
PromQuery& PromQuery::operator=(PromQuery&&) noexcept = default;

PromQuery PromQuery::Parse(const std::string& text) {
  PromQuery q;
  Parser p(text);
  q.root_ = p.Parse();
  return q;
}

}  // namespace gputwin::telemetry
