#include "telemetry/promql.h"

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

namespace {

using promql_ast::CompilePromRegexp;
using promql_ast::Kind;
using promql_ast::kLookback;
using promql_ast::kNaN;
using promql_ast::Matcher;
using Node = PromQuery::Node;

// The Python client's float format for `le`: 0.25, 1.0, +Inf.
std::string FormatLe(double v) {
  if (std::isinf(v)) return "+Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

using Points = std::vector<std::pair<Time, double>>;
struct RangeSeries {
  Labels labels;
  Points points;
};

bool Matches(const std::vector<Matcher>& ms, const Labels& l) {
  for (const auto& m : ms) {
    auto it = l.find(m.label);
    const std::string v = it == l.end() ? "" : it->second;
    bool ok = true;
    if (m.op == "=")
      ok = v == m.value;
    else if (m.op == "!=")
      ok = v != m.value;
    else if (m.op == "=~")
      ok = m.re->MatchString(v);
    else
      ok = !m.re->MatchString(v);
    if (!ok) return false;
  }
  return true;
}

// Every series a selector names, with its points within (from, to].
std::vector<RangeSeries> Select(const Registry& r, const Node& n, Time from, Time to,
                                bool keep_stale) {
  std::vector<RangeSeries> out;
  std::string family = n.name, part;
  for (const char* suffix : {"_bucket", "_count", "_sum"}) {
    const std::string sfx = suffix;
    if (n.name.size() > sfx.size() && n.name.ends_with(sfx)) {
      auto base = r.Lookup(n.name.substr(0, n.name.size() - sfx.size()));
      if (base && r.family(*base).desc.type == MetricType::kHistogram) {
        family = n.name.substr(0, n.name.size() - sfx.size());
        part = sfx;
      }
    }
  }
  auto fid = r.Lookup(family);
  if (!fid) return out;
  const auto& fam = r.family(*fid);
  for (auto sid : fam.series) {
    const auto& s = r.series(sid);
    // Series with nothing in the window (pods long gone) are skipped before any copying.
    if (fam.desc.type == MetricType::kHistogram
            ? s.histogram_samples.empty() || s.histogram_samples.back().first <= from
            : s.samples.empty() || s.samples.back().first <= from) {
      continue;
    }
    if (fam.desc.type == MetricType::kHistogram) {
      if (part.empty()) continue;
      const size_t nb = fam.desc.buckets.size() + 1;
      const size_t columns = part == "_bucket" ? nb : 1;
      for (size_t b = 0; b < columns; ++b) {
        RangeSeries rs;
        rs.labels = s.labels;
        rs.labels["__name__"] = n.name;
        if (part == "_bucket") {
          rs.labels["le"] =
              FormatLe(b < fam.desc.buckets.size() ? fam.desc.buckets[b]
                                                   : std::numeric_limits<double>::infinity());
        }
        if (!Matches(n.matchers, rs.labels)) continue;
        const size_t col = part == "_bucket" ? b : part == "_count" ? nb : nb + 1;
        for (const auto& [t, snap] : s.histogram_samples) {
          if (t > from && t <= to && col < snap.size()) rs.points.push_back({t, snap[col]});
        }
        out.push_back(std::move(rs));
      }
      continue;
    }
    if (!part.empty()) continue;
    RangeSeries rs;
    rs.labels = s.labels;
    rs.labels["__name__"] = n.name;
    if (!Matches(n.matchers, rs.labels)) continue;
    // Left-open (from, to] as Prometheus 3 selects ranges (2.x also took a sample exactly
    // at `from`). Staleness markers stay for an instant selector (a marker as the latest
    // sample hides the series) and are dropped for a range (they are not samples).
    for (const auto& [t, v] : s.samples) {
      if (t > from && t <= to && (keep_stale || !std::isnan(v))) rs.points.push_back({t, v});
    }
    out.push_back(std::move(rs));
  }
  return out;
}

Labels Drop(Labels l, const std::string& key = "__name__") {
  l.erase(key);
  return l;
}

// Prometheus's extrapolatedRate (promql/functions.go).
bool ExtrapolatedRate(const Points& p, Time from, Time to, bool counter, bool is_rate,
                      double* out) {
  if (p.size() < 2) return false;
  double delta = p.back().second - p.front().second;
  if (counter) {
    double prev = p.front().second;
    for (const auto& [t, v] : p) {
      if (v < prev) delta += prev;
      prev = v;
    }
  }
  const double range_start = (from - Time{0}).seconds(), range_end = (to - Time{0}).seconds();
  const double first = (p.front().first - Time{0}).seconds();
  const double last = (p.back().first - Time{0}).seconds();
  double to_start = first - range_start, to_end = range_end - last;
  const double sampled = last - first;
  const double avg = sampled / double(p.size() - 1);
  if (counter && delta > 0 && p.front().second >= 0) {
    const double to_zero = sampled * (p.front().second / delta);
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = avg * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg / 2;
  interval += to_end < threshold ? to_end : avg / 2;
  double result = delta * (interval / sampled);
  if (is_rate) result /= (range_end - range_start);
  *out = result;
  return true;
}

PromResult Eval(const Registry& r, const Node& n, Time at);

double ScalarOf(const PromResult& v) {
  return v.samples.size() == 1 ? v.samples[0].value : kNaN;
}

PromResult Binary(const Node& n, PromResult a, PromResult b) {
  auto apply = [&](double x, double y, bool* keep) {
    *keep = true;
    const std::string& op = n.name;
    if (op == "+") return x + y;
    if (op == "-") return x - y;
    if (op == "*") return x * y;
    if (op == "/") return x / y;
    if (op == "%") return std::fmod(x, y);
    if (op == "^") return std::pow(x, y);
    bool c = op == "=="   ? x == y
             : op == "!=" ? x != y
             : op == ">"  ? x > y
             : op == "<"  ? x < y
             : op == ">=" ? x >= y
                          : x <= y;
    if (n.bool_mod) return c ? 1.0 : 0.0;
    *keep = c;
    return x;
  };
  PromResult out;
  const bool comparison = n.name.size() == 2 || n.name == ">" || n.name == "<";
  if (a.scalar && b.scalar) {
    bool keep;
    const double v = apply(ScalarOf(a), ScalarOf(b), &keep);
    if (comparison && !n.bool_mod) {
      throw std::invalid_argument("comparisons between scalars must use the bool modifier");
    }
    out.scalar = true;
    out.samples.push_back({{}, v});
    return out;
  }
  if (a.scalar || b.scalar) {
    const bool left_scalar = a.scalar;
    const double s = ScalarOf(left_scalar ? a : b);
    for (auto& smp : (left_scalar ? b : a).samples) {
      bool keep;
      const double v = left_scalar ? apply(s, smp.value, &keep) : apply(smp.value, s, &keep);
      if (!keep) continue;
      Labels l = comparison && !n.bool_mod ? smp.labels : Drop(smp.labels);
      out.samples.push_back({l, comparison && !n.bool_mod ? smp.value : v});
    }
    return out;
  }
  // Vector matching (engine.go VectorBinop): the signature is the `on` labels, or every
  // label but the name and the `ignoring` ones.
  auto sig = [&](const Labels& l) {
    Labels k;
    if (n.on) {
      for (const auto& m : n.matching) {
        auto it = l.find(m);
        if (it != l.end()) k[m] = it->second;
      }
    } else {
      k = Drop(l);
      for (const auto& m : n.matching) k.erase(m);
    }
    return k;
  };
  const std::string& op = n.name;
  if (op == "and" || op == "or" || op == "unless") {
    std::set<Labels> right;
    for (auto& smp : b.samples) right.insert(sig(smp.labels));
    if (op == "or") {
      std::set<Labels> left;
      for (auto& smp : a.samples) {
        left.insert(sig(smp.labels));
        out.samples.push_back(smp);
      }
      for (auto& smp : b.samples) {
        if (!left.count(sig(smp.labels))) out.samples.push_back(smp);
      }
      return out;
    }
    for (auto& smp : a.samples) {
      if (right.count(sig(smp.labels)) == (op == "and")) out.samples.push_back(smp);
    }
    return out;
  }
  const bool filter = comparison && !n.bool_mod;
  // The "one" side is indexed by signature; it must be unique there.
  const bool right_many = n.group == 2;
  const PromResult& one = right_many ? a : b;
  const PromResult& many = right_many ? b : a;
  std::map<Labels, const PromSample*> index;
  for (auto& smp : one.samples) {
    if (!index.emplace(sig(smp.labels), &smp).second) {
      throw std::invalid_argument(
          n.group ? "found duplicate series for the match group on the " +
                        std::string(right_many ? "left" : "right") + " side of " + op
                  : "many-to-many matching not allowed: matching labels must be unique on one "
                    "side (" +
                        op + ")");
    }
  }
  std::set<Labels> seen;
  for (auto& smp : many.samples) {
    const Labels key = sig(smp.labels);
    auto it = index.find(key);
    if (it == index.end()) continue;
    if (n.group == 0 && !seen.insert(key).second) {
      throw std::invalid_argument(
          "found duplicate series for the match group on the left "
          "hand-side of the operation (" +
          op + ")");
    }
    const PromSample& l = right_many ? *it->second : smp;
    const PromSample& rr = right_many ? smp : *it->second;
    bool keep;
    const double v = apply(l.value, rr.value, &keep);
    if (!keep) continue;
    // resultMetric: the many side's labels; arithmetic drops the name; one-to-one keeps
    // only the `on` labels (or drops the `ignoring` ones); group_x copies its labels from
    // the one side.
    Labels res = smp.labels;
    if (!comparison) res.erase("__name__");
    if (n.group == 0) {
      if (n.on) {
        Labels kept;
        for (const auto& m : n.matching) {
          auto f = res.find(m);
          if (f != res.end()) kept[m] = f->second;
        }
        res = kept;
      } else {
        for (const auto& m : n.matching) res.erase(m);
      }
    }
    for (const auto& inc : n.include) {
      auto f = it->second->labels.find(inc);
      if (f != it->second->labels.end() && !f->second.empty()) {
        res[inc] = f->second;
      } else {
        res.erase(inc);
      }
    }
    if (n.bool_mod) res.erase("__name__");
    out.samples.push_back({res, filter ? l.value : v});
  }
  return out;
}

PromResult Eval(const Registry& r, const Node& n, Time at) {
  PromResult out;
  switch (n.kind) {
    case Kind::kNumber:
      out.scalar = true;
      out.samples.push_back({{}, n.number});
      return out;
    case Kind::kString:
      throw std::invalid_argument("a string (\"" + n.name + "\") is not a value here");
    case Kind::kNeg: {
      out = Eval(r, *n.args[0], at);
      for (auto& s : out.samples) {
        s.value = -s.value;
        if (!out.scalar) s.labels = Drop(s.labels);
      }
      return out;
    }
    case Kind::kSelector: {
      if (n.range.ns > 0) {
        throw std::invalid_argument("a range vector (" + n.name +
                                    "[...]) must be inside a function such as rate()");
      }
      const Time t = at + Duration{-n.offset.ns};
      for (auto& rs : Select(r, n, t + Duration{-kLookback.ns}, t, true)) {
        if (rs.points.empty() || std::isnan(rs.points.back().second)) continue;
        out.samples.push_back({rs.labels, rs.points.back().second});
      }
      return out;
    }
    case Kind::kBinary:
      return Binary(n, Eval(r, *n.args[0], at), Eval(r, *n.args[1], at));
    case Kind::kAgg: {
      PromResult in = Eval(r, *n.args[0], at);
      if (in.scalar) throw std::invalid_argument(n.name + "() needs an instant vector");
      std::map<Labels, std::vector<double>> groups;
      for (auto& s : in.samples) {
        Labels key;
        if (n.by) {
          for (const auto& g : n.grouping) {
            auto it = s.labels.find(g);
            if (it != s.labels.end()) key[g] = it->second;
          }
        } else if (n.without) {
          key = Drop(s.labels);
          for (const auto& g : n.grouping) key.erase(g);
        }
        groups[key].push_back(s.value);
      }
      for (auto& [key, vals] : groups) {
        double v = 0;
        if (n.name == "sum" || n.name == "avg") {
          for (double x : vals) v += x;
          if (n.name == "avg") v /= double(vals.size());
        } else if (n.name == "max") {
          v = *std::max_element(vals.begin(), vals.end());
        } else if (n.name == "min") {
          v = *std::min_element(vals.begin(), vals.end());
        } else {
          v = double(vals.size());
        }
        out.samples.push_back({key, v});
      }
      return out;
    }
    case Kind::kFunc:
      break;
  }
  const std::string& f = n.name;
  auto need = [&](size_t k) {
    if (n.args.size() != k) {
      throw std::invalid_argument(f + "() takes " + std::to_string(k) + " argument(s)");
    }
  };
  if (f == "time") {
    out.scalar = true;
    out.samples.push_back({{}, (at - Time{0}).seconds()});
    return out;
  }
  if (f == "rate" || f == "irate" || f == "increase" || f.ends_with("_over_time") ||
      f == "changes" || f == "delta" || f == "deriv" || f == "resets" || f == "idelta") {
    need(1);
    const Node& sel = *n.args[0];
    if (sel.kind != Kind::kSelector || sel.range.ns == 0) {
      throw std::invalid_argument(f + "() needs a range vector such as metric[5m]");
    }
    const Time to = at + Duration{-sel.offset.ns};
    const Time from = to + Duration{-sel.range.ns};
    const auto fid = r.Lookup(sel.name);
    const bool counter = !(fid && r.family(*fid).desc.type == MetricType::kGauge);
    for (auto& rs : Select(r, sel, from, to, false)) {
      Points p;
      for (auto& x : rs.points) {
        if (!std::isnan(x.second)) p.push_back(x);
      }
      double v = 0;
      if (f == "rate" || f == "increase") {
        if (!ExtrapolatedRate(p, from, to, counter, f == "rate", &v)) continue;
      } else if (f == "delta") {
        // extrapolatedRate for a gauge: no counter resets, not divided by the range.
        if (!ExtrapolatedRate(p, from, to, false, false, &v)) continue;
      } else if (f == "changes" || f == "resets") {
        if (p.empty()) continue;
        for (size_t k = 1; k < p.size(); ++k) {
          v += f == "changes" ? (p[k].second != p[k - 1].second) : (p[k].second < p[k - 1].second);
        }
      } else if (f == "idelta") {
        if (p.size() < 2) continue;
        v = p.back().second - p[p.size() - 2].second;
      } else if (f == "deriv") {
        // Least-squares slope per second (linearRegression, times relative to the first).
        if (p.size() < 2) continue;
        double n_ = 0, sx = 0, sy = 0, sxy = 0, sxx = 0;
        const double t0 = (p[0].first - Time{0}).seconds();
        for (const auto& [t, y] : p) {
          const double x = (t - Time{0}).seconds() - t0;
          n_ += 1;
          sx += x;
          sy += y;
          sxy += x * y;
          sxx += x * x;
        }
        const double cov = sxy - sx * sy / n_, var = sxx - sx * sx / n_;
        v = cov / var;
      } else if (f == "last_over_time") {
        if (p.empty()) continue;
        v = p.back().second;
        out.samples.push_back({rs.labels, v});
        continue;
      } else if (f == "irate") {
        if (p.size() < 2) continue;
        const auto& a = p[p.size() - 2];
        const auto& b = p.back();
        const double dv = b.second < a.second ? b.second : b.second - a.second;
        v = dv / (b.first - a.first).seconds();
      } else {
        if (p.empty()) continue;
        if (f == "count_over_time") {
          v = double(p.size());
        } else if (f == "max_over_time") {
          v = p[0].second;
          for (auto& x : p) v = std::max(v, x.second);
        } else if (f == "min_over_time") {
          v = p[0].second;
          for (auto& x : p) v = std::min(v, x.second);
        } else {
          for (auto& x : p) v += x.second;
          if (f == "avg_over_time") v /= double(p.size());
        }
      }
      out.samples.push_back({Drop(rs.labels), v});
    }
    return out;
  }
  if (f == "histogram_quantile") {
    need(2);
    const double q = ScalarOf(Eval(r, *n.args[0], at));
    PromResult in = Eval(r, *n.args[1], at);
    std::map<Labels, std::vector<std::pair<double, double>>> groups;
    for (auto& s : in.samples) {
      auto le = s.labels.find("le");
      if (le == s.labels.end()) continue;
      const double upper = le->second == "+Inf" ? std::numeric_limits<double>::infinity()
                                                : std::strtod(le->second.c_str(), nullptr);
      groups[Drop(Drop(s.labels), "le")].push_back({upper, s.value});
    }
    for (auto& [key, b] : groups) {
      std::sort(b.begin(), b.end());
      double v = kNaN;
      if (q < 0) {
        v = -std::numeric_limits<double>::infinity();
      } else if (q > 1) {
        v = std::numeric_limits<double>::infinity();
      } else if (b.size() >= 2 && std::isinf(b.back().first) && b.back().second > 0) {
        // bucketQuantile: the bucket where the rank falls, interpolated linearly.
        const double rank = q * b.back().second;
        size_t i = 0;
        while (i + 1 < b.size() && b[i].second < rank) ++i;
        if (std::isinf(b[i].first)) {
          v = b[i - 1].first;
        } else {
          const double lo = i == 0 ? 0 : b[i - 1].first;
          const double below = i == 0 ? 0 : b[i - 1].second;
          const double count = b[i].second - below;
          v = count > 0 ? lo + (b[i].first - lo) * ((rank - below) / count) : b[i].first;
        }
      }
      out.samples.push_back({key, v});
    }
    return out;
  }
  if (f == "scalar") {
    need(1);
    PromResult in = Eval(r, *n.args[0], at);
    out.scalar = true;
    out.samples.push_back({{}, in.samples.size() == 1 ? in.samples[0].value : kNaN});
    return out;
  }
  if (f == "vector") {
    need(1);
    out.samples.push_back({{}, ScalarOf(Eval(r, *n.args[0], at))});
    return out;
  }
  if (f == "absent") {
    // 1 with the argument's equality matchers as labels when it selects nothing.
    need(1);
    if (!Eval(r, *n.args[0], at).samples.empty()) return out;
    Labels l;
    const Node& a = *n.args[0];
    if (a.kind == Kind::kSelector) {
      for (const auto& m : a.matchers) {
        if (m.op == "=") l[m.label] = m.value;
      }
    }
    out.samples.push_back({l, 1});
    return out;
  }
  if (f == "label_replace") {
    // label_replace(v, dst, replacement, src, regex): a full match of src's value sets dst
    // to the replacement with $1, ${1}, $name expanded; no match leaves the sample as it was.
    need(5);
    for (size_t k = 1; k < 5; ++k) {
      if (n.args[k]->kind != Kind::kString) {
        throw std::invalid_argument("label_replace() takes quoted strings after the vector");
      }
    }
    out = Eval(r, *n.args[0], at);
    const std::string dst = n.args[1]->name, repl = n.args[2]->name, src = n.args[3]->name;
    // functions.go: the regex anchored as a matcher's; Go's ExpandString fills $1, ${name}.
    std::optional<core::GoRegexp> re;
    try {
      re = CompilePromRegexp(n.args[4]->name);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("invalid regular expression in label_replace(): " +
                                  n.args[4]->name + " (" + e.what() + ")");
    }
    for (auto& smp : out.samples) {
      auto it = smp.labels.find(src);
      const std::string value = it == smp.labels.end() ? "" : it->second;
      std::optional<std::string> expanded = re->ExpandMatch(value, repl);
      if (!expanded) continue;
      const std::string& res = *expanded;
      if (res.empty()) {
        smp.labels.erase(dst);
      } else {
        smp.labels[dst] = res;
      }
    }
    return out;
  }
  if (f == "round") {
    out = Eval(r, *n.args[0], at);
    const double to = n.args.size() > 1 ? ScalarOf(Eval(r, *n.args[1], at)) : 1.0;
    for (auto& smp : out.samples) {
      // Prometheus rounds half up: floor(v / to + 0.5) * to.
      smp.value = std::floor(smp.value / to + 0.5) * to;
      smp.labels = Drop(smp.labels);
    }
    return out;
  }
  if (f == "clamp") {
    need(3);
    out = Eval(r, *n.args[0], at);
    const double lo = ScalarOf(Eval(r, *n.args[1], at)), hi = ScalarOf(Eval(r, *n.args[2], at));
    for (auto& smp : out.samples) {
      smp.value = std::max(lo, std::min(hi, smp.value));
      smp.labels = Drop(smp.labels);
    }
    return out;
  }
  if (f == "sqrt" || f == "exp" || f == "ln") {
    need(1);
    out = Eval(r, *n.args[0], at);
    for (auto& smp : out.samples) {
      smp.value = f == "sqrt"  ? std::sqrt(smp.value)
                  : f == "exp" ? std::exp(smp.value)
                               : std::log(smp.value);
      smp.labels = Drop(smp.labels);
    }
    return out;
  }
  // abs, ceil, floor, clamp_min, clamp_max
  need(f.starts_with("clamp") ? 2 : 1);
  out = Eval(r, *n.args[0], at);
  const double bound = f.starts_with("clamp") ? ScalarOf(Eval(r, *n.args[1], at)) : 0;
  for (auto& s : out.samples) {
    if (f == "abs")
      s.value = std::fabs(s.value);
    else if (f == "ceil")
      s.value = std::ceil(s.value);
    else if (f == "floor")
      s.value = std::floor(s.value);
    else if (f == "clamp_min")
      s.value = std::max(s.value, bound);
    else
      s.value = std::min(s.value, bound);
    s.labels = Drop(s.labels);
  }
  return out;
}

}  // namespace

PromResult PromQuery::Evaluate(const Registry& registry, Time at) const {
  return Eval(registry, *root_, at);
}

}  // namespace gputwin::telemetry
