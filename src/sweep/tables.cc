#include "sweep/tables.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <set>
#include <sstream>

#include "core/sha1.h"
#include "report/atomic_write.h"
#include "report/sweep_report.h"

namespace gputwin::sweep {

namespace {

// Student's t at 97.5 % for 1..30 degrees of freedom; the normal's 1.96 beyond.
double StudentT975(size_t df) {
  static const double kT[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                              2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                              2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                              2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  return df >= 1 && df <= 30 ? kT[df - 1] : 1.96;
}

std::string CsvNumber(double v) {
  return fmt::format("{}", v);
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::pair<double, double> MeanAndCi95(const std::vector<double>& values) {
  if (values.empty()) return {0, 0};
  // Deviations from the first value: runs that agree give their value exactly, not a
  // sum's rounding (29.9203, not 29.920300000000005), and a spread of exactly 0.
  const double first = values.front();
  double sum = 0;
  for (double v : values) sum += v - first;
  const double n = static_cast<double>(values.size());
  const double shift = sum / n;
  const double mean = first + shift;
  if (values.size() < 2) return {mean, 0};
  double ss = 0;
  for (double v : values) ss += (v - first - shift) * (v - first - shift);
  const double sd = std::sqrt(ss / (n - 1));
  return {mean, StudentT975(values.size() - 1) * sd / std::sqrt(n)};
}

SweepHead HeadOf(const api::Sweep& sweep, const std::vector<Point>& points,
                 const std::string& text) {
  SweepHead h;
  h.name = sweep.metadata.name;
  h.fingerprint = Sha1Hex(text);
  for (const auto& a : sweep.axes) {
    std::vector<std::string> names;
    for (const auto& v : a.variants) names.push_back(v.name);
    h.axes.emplace_back(a.name, names);
  }
  for (const auto& p : points) {
    h.point_names.push_back(p.name);
    std::vector<std::string> vs;
    for (const auto* v : p.variants) vs.push_back(v->name);
    h.point_variants.push_back(vs);
  }
  h.seeds = sweep.seeds;
  h.objectives = sweep.objectives;
  h.minimize = sweep.minimize;
  return h;
}

bool MeetsObjectives(const SweepHead& h, const std::vector<const RunResult*>& runs,
                     double* minimize) {
  auto mean_of = [&](const std::string& figure) -> std::optional<double> {
    std::vector<double> values;
    for (const RunResult* r : runs) {
      for (const auto& [name, value] : r->figures) {
        if (name == figure) values.push_back(value);
      }
    }
    if (values.empty()) return std::nullopt;
    return MeanAndCi95(values).first;
  };
  const auto m = mean_of(h.minimize);
  *minimize = m ? *m : std::nan("");
  for (const auto& o : h.objectives) {
    const auto v = mean_of(o.figure);
    if (!v || (o.max && *v > *o.max) || (o.min && *v < *o.min)) return false;
  }
  return true;
}

report::Json HeadJson(const SweepHead& h) {
  report::Json j = report::Json::object();
  j["sweep"] = h.name;
  j["fingerprint"] = h.fingerprint;
  j["axes"] = report::Json::array();
  for (const auto& [name, variants] : h.axes) {
    j["axes"].push_back({{"name", name}, {"variants", variants}});
  }
  j["seeds"] = h.seeds;
  j["objectives"] = report::Json::array();
  for (const auto& o : h.objectives) {
    report::Json oj = {{"figure", o.figure}};
    if (o.max) oj["max"] = *o.max;
    if (o.min) oj["min"] = *o.min;
    j["objectives"].push_back(oj);
  }
  j["minimize"] = h.minimize;
  j["points"] = report::Json::array();
  for (size_t i = 0; i < h.point_names.size(); ++i) {
    j["points"].push_back(
        {{"point", i}, {"name", h.point_names[i]}, {"variants", h.point_variants[i]}});
  }
  return j;
}

SweepHead HeadFromJson(const report::Json& j) {
  SweepHead h;
  h.name = j.at("sweep").get<std::string>();
  h.fingerprint = j.at("fingerprint").get<std::string>();
  for (const auto& a : j.at("axes")) {
    h.axes.emplace_back(a.at("name").get<std::string>(),
                        a.at("variants").get<std::vector<std::string>>());
  }
  h.seeds = j.at("seeds").get<std::vector<uint64_t>>();
  for (const auto& o : j.at("objectives")) {
    api::SweepObjective objective;
    objective.figure = o.at("figure").get<std::string>();
    if (o.contains("max")) objective.max = o.at("max").get<double>();
    if (o.contains("min")) objective.min = o.at("min").get<double>();
    h.objectives.push_back(objective);
  }
  h.minimize = j.at("minimize").get<std::string>();
  for (const auto& p : j.at("points")) {
    h.point_names.push_back(p.at("name").get<std::string>());
    h.point_variants.push_back(p.at("variants").get<std::vector<std::string>>());
  }
  return h;
}

report::Json RunJson(const RunResult& r) {
  report::Json j = report::Json::object();
  j["point"] = r.point;
  j["seed"] = r.seed;
  j["expectationsPassed"] = r.expectations_passed;
  j["figures"] = report::Json::object();
  for (const auto& [name, value] : r.figures) j["figures"][name] = value;
  return j;
}

RunResult RunFromJson(const report::Json& j) {
  RunResult r;
  r.point = j.at("point").get<size_t>();
  r.seed = j.at("seed").get<uint64_t>();
  r.expectations_passed = j.at("expectationsPassed").get<bool>();
  for (const auto& [name, value] : j.at("figures").items()) {
    r.figures.emplace_back(name, value.get<double>());
  }
  return r;
}

// The tables of a whole sweep from all its runs (in point, then seed order).
report::Json WriteTables(const SweepHead& h, const std::vector<RunResult>& runs,
                         const std::string& out_dir, const report::Json& extra) {
  // Columns: every figure any run has, in the order they first appear.
  std::vector<std::string> columns;
  std::set<std::string> known;
  for (const auto& r : runs) {
    for (const auto& [name, value] : r.figures) {
      if (known.insert(name).second) columns.push_back(name);
    }
  }
  std::vector<std::vector<const RunResult*>> by_point(h.point_names.size());
  for (const auto& r : runs) by_point.at(r.point).push_back(&r);
  auto value_of = [](const RunResult& r, const std::string& column) -> std::optional<double> {
    for (const auto& [name, value] : r.figures) {
      if (name == column) return value;
    }
    return std::nullopt;
  };
  const bool spread = h.seeds.size() > 1;

  report::Json j = report::Json::object();
  j["apiVersion"] = "gputwin.io/v1alpha1";
  j["kind"] = "SweepResult";
  j["figures"] = columns;
  const report::Json head = HeadJson(h);
  for (const auto& [k, v] : head.items()) j[k] = v;
  std::ostringstream points_csv, runs_csv;
  {
    std::string axes;
    for (const auto& [name, variants] : h.axes) axes += "," + CsvField(name);
    points_csv << "point,name" << axes << ",runs";
    runs_csv << "point,name" << axes << ",seed,expectationsPassed";
    for (const auto& c : columns) {
      points_csv << "," << CsvField(c);
      if (spread) points_csv << "," << CsvField(c + ":ci95");
      runs_csv << "," << CsvField(c);
    }
    if (!h.objectives.empty()) points_csv << ",meetsObjectives";
    points_csv << "\n";
    runs_csv << "\n";
  }
  std::optional<size_t> best;
  double best_value = 0;
  // Only the points that ran (a search runs some of the grid).
  const report::Json grid = j["points"];
  report::Json& points = j["points"];
  points = report::Json::array();
  for (size_t p = 0; p < by_point.size(); ++p) {
    if (by_point[p].empty()) continue;
    points.push_back(grid[p]);
    report::Json& pj = points.back();
    std::string prefix = std::to_string(p) + "," + CsvField(h.point_names[p]);
    for (const auto& v : h.point_variants[p]) prefix += "," + CsvField(v);
    pj["runs"] = report::Json::array();
    report::Json mean = report::Json::object(), ci = report::Json::object();
    points_csv << prefix << "," << by_point[p].size();
    for (const RunResult* r : by_point[p]) {
      pj["runs"].push_back(RunJson(*r));
      runs_csv << prefix << "," << r->seed << "," << (r->expectations_passed ? "true" : "false");
      for (const auto& c : columns) {
        const auto v = value_of(*r, c);
        runs_csv << "," << (v ? CsvNumber(*v) : "");
      }
      runs_csv << "\n";
    }
    for (const auto& c : columns) {
      std::vector<double> values;
      for (const RunResult* r : by_point[p]) {
        if (auto v = value_of(*r, c)) values.push_back(*v);
      }
      if (values.empty()) {
        points_csv << "," << (spread ? "," : "");
        continue;
      }
      const auto [m, half] = MeanAndCi95(values);
      mean[c] = m;
      points_csv << "," << CsvNumber(m);
      if (spread) {
        ci[c] = half;
        points_csv << "," << CsvNumber(half);
      }
    }
    pj["mean"] = mean;
    if (spread) pj["ci95"] = ci;
    // Objectives hold on the means; a figure the point lacks misses its objective.
    if (!h.objectives.empty()) {
      report::Json missed = report::Json::array();
      for (const auto& o : h.objectives) {
        const bool has = mean.contains(o.figure);
        const double v = has ? mean[o.figure].get<double>() : 0;
        if (!has || (o.max && v > *o.max) || (o.min && v < *o.min)) missed.push_back(o.figure);
      }
      pj["meetsObjectives"] = missed.empty();
      pj["missed"] = missed;
      points_csv << "," << (missed.empty() ? "true" : "false");
      if (missed.empty() && mean.contains(h.minimize)) {
        const double v = mean[h.minimize].get<double>();
        if (!best || v < best_value) {
          best = p;
          best_value = v;
        }
      }
    }
    points_csv << "\n";
  }
  // The best point: the least of `minimize` among those meeting every objective (the
  // first on ties); without objectives, the least of `minimize` overall.
  if (h.objectives.empty()) {
    for (const auto& pj : points) {
      const report::Json& m = pj["mean"];
      if (!m.contains(h.minimize)) continue;
      const double v = m[h.minimize].get<double>();
      if (!best || v < best_value) {
        best = pj["point"].get<size_t>();
        best_value = v;
      }
    }
  }
  j["best"] =
      best
          ? report::Json{{"point", *best}, {"name", h.point_names[*best]}, {h.minimize, best_value}}
          : report::Json();
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.items()) j[k] = v;
  }
  const std::string html = report::RenderSweepReport(j);
  report::WriteFileAtomically(out_dir, "points.csv",
                              [&](std::ostream& o) { o << points_csv.str(); });
  report::WriteFileAtomically(out_dir, "runs.csv", [&](std::ostream& o) { o << runs_csv.str(); });
  report::WriteFileAtomically(out_dir, "sweep.json",
                              [&](std::ostream& o) { o << j.dump(1) << "\n"; });
  report::WriteFileAtomically(out_dir, "report.html", [&](std::ostream& o) { o << html; });
  return j["best"];
}

}  // namespace gputwin::sweep
