// The sweep runner: points and seeds as child processes (fork), up to --jobs at a time,
// each writing its run's summary.json and headline figures; the parent only collects
// figures, so memory stays that of --jobs runs whatever the number of points.
#include "sweep/sweep.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "api/manifests.h"
#include "core/sha1.h"
#include "report/atomic_write.h"
#include "report/sweep_report.h"
#include "results/results.h"
#include "sim/invariants.h"
#include "sim/simulation.h"

namespace gputwin::sweep {

namespace {

namespace fs = std::filesystem;

constexpr int kExitBadInput = 2, kExitInternalError = 3;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const api::Sweep& LoadSweep(const std::string& path, api::Manifests* m) {
  api::LoadPath(path, m);
  if (m->sweeps.size() != 1 || m->ObjectCount() != 1) {
    throw InputError(path +
                     ": expected exactly one object, of kind Sweep (apiVersion "
                     "gputwin.io/v1alpha1); found " +
                     std::to_string(m->ObjectCount()) + " object(s), " +
                     std::to_string(m->sweeps.size()) + " Sweep(s)");
  }
  return m->sweeps.front();
}

// The runs of a sweep: each point with each seed, in that order.
struct Task {
  size_t point = 0;
  std::optional<uint64_t> seed;  // none: the scenario's own
};

// runs/0003-s42, or runs/0003 when the sweep gives no seeds (each run the scenario's own).
std::string RunFolder(size_t point, std::optional<uint64_t> seed) {
  return seed ? fmt::format("runs/{:04d}-s{}", point, *seed) : fmt::format("runs/{:04d}", point);
}

api::PatchSet PatchesOf(const Point& p) {
  api::PatchSet set;
  for (const auto* v : p.variants) {
    for (const auto& patch : v->patches) set.patches.push_back(patch);
  }
  return set;
}

// In the child: runs one task; writes its folder; never returns.
[[noreturn]] void RunChild(const api::Sweep& sweep, const Point& point, size_t index,
                           const Task& task, const std::string& out_dir) {
  int code = 0;
  std::string error;
  try {
    api::PatchSet patches = PatchesOf(point);
    auto sim = sim::LoadScenario(sweep.scenario, task.seed, sweep.duration, &patches);
    sim->Run();
    const results::Results results = results::Compute(*sim);
    const report::Json head = report::SummaryHead(*sim, results);
    const Figures figures = Headline(*sim, results, head);
    const std::string dir = (fs::path(out_dir) / RunFolder(index, task.seed)).string();
    report::WriteFileAtomically(dir, "summary.json", [&](std::ostream& out) {
      report::WriteSummaryJson(out, *sim, results, report::Detail::kSummary, &head);
    });
    report::Json f = report::Json::object();
    f["point"] = index;
    f["seed"] = sim->scenario().seed;
    f["expectationsPassed"] = sim->expectations_passed();
    f["figures"] = report::Json::object();
    for (const auto& [name, value] : figures) f["figures"][name] = value;
    report::WriteFileAtomically(dir, "figures.json",
                                [&](std::ostream& out) { out << f.dump(1) << "\n"; });
    std::fflush(nullptr);
    // The run is left to the process exit, as `gputwin run` leaves it (no leak check
    // and no destructors: the parent owns every resource that matters).
    ::_exit(0);
  } catch (const sim::InvariantViolation& e) {
    code = kExitInternalError;
    error = e.what();
  } catch (const std::exception& e) {
    code = kExitBadInput;
    error = e.what();
  }
  std::cerr << "error: point " << point.name << ": " << error << "\n";
  std::fflush(nullptr);
  ::_exit(code);
}

RunResult ReadFigures(const std::string& path) {
  std::ifstream in(path);
  const report::Json f = report::Json::parse(in);
  RunResult r;
  r.point = f.at("point").get<size_t>();
  r.seed = f.at("seed").get<uint64_t>();
  r.expectations_passed = f.at("expectationsPassed").get<bool>();
  for (const auto& [name, value] : f.at("figures").items()) {
    r.figures.emplace_back(name, value.get<double>());
  }
  return r;
}

// Student's t at 97.5 % for 1..30 degrees of freedom; the normal's 1.96 beyond.
double StudentT975(size_t df) {
  static const double kT[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                              2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                              2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                              2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  return df >= 1 && df <= 30 ? kT[df - 1] : 1.96;
}

std::string Number(double v) {
  return fmt::format("{}", v);
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// What a sweep's tables need besides its runs: the same for a shard and the whole.
struct SweepHead {
  std::string name, fingerprint;
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  std::vector<std::string> point_names;
  std::vector<std::vector<std::string>> point_variants;  // per point, per axis
  std::vector<uint64_t> seeds;                           // empty: the scenario's own
  std::vector<api::SweepObjective> objectives;
  std::string minimize = "cost";
};

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
    j["points"].push_back({{"name", h.point_names[i]}, {"variants", h.point_variants[i]}});
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
void WriteTables(const SweepHead& h, const std::vector<RunResult>& runs,
                 const std::string& out_dir) {
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
  report::Json& points = j["points"];
  for (size_t p = 0; p < by_point.size(); ++p) {
    report::Json& pj = points[p];
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
        runs_csv << "," << (v ? Number(*v) : "");
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
      points_csv << "," << Number(m);
      if (spread) {
        ci[c] = half;
        points_csv << "," << Number(half);
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
    for (size_t p = 0; p < by_point.size(); ++p) {
      const report::Json& m = points[p]["mean"];
      if (!m.contains(h.minimize)) continue;
      const double v = m[h.minimize].get<double>();
      if (!best || v < best_value) {
        best = p;
        best_value = v;
      }
    }
  }
  j["best"] =
      best
          ? report::Json{{"point", *best}, {"name", h.point_names[*best]}, {h.minimize, best_value}}
          : report::Json();
  const std::string html = report::RenderSweepReport(j);
  report::WriteFileAtomically(out_dir, "points.csv",
                              [&](std::ostream& o) { o << points_csv.str(); });
  report::WriteFileAtomically(out_dir, "runs.csv", [&](std::ostream& o) { o << runs_csv.str(); });
  report::WriteFileAtomically(out_dir, "sweep.json",
                              [&](std::ostream& o) { o << j.dump(1) << "\n"; });
  report::WriteFileAtomically(out_dir, "report.html", [&](std::ostream& o) { o << html; });
}

std::string ShardFile(int index, int count) {
  return fmt::format("shard-{}-of-{}.json", index, count);
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

std::vector<Point> Points(const api::Sweep& sweep) {
  std::vector<Point> out;
  auto name_of = [&](const std::vector<const api::SweepVariant*>& vs) {
    std::string n;
    for (size_t i = 0; i < vs.size(); ++i) {
      n += (i ? "," : "") + sweep.axes[i].name + "=" + vs[i]->name;
    }
    return n;
  };
  if (!sweep.points.empty()) {
    for (const auto& p : sweep.points) {
      Point point;
      for (const auto& axis : sweep.axes) {
        const std::string& v = p.variants.at(axis.name);
        for (const auto& variant : axis.variants) {
          if (variant.name == v) point.variants.push_back(&variant);
        }
      }
      point.name = name_of(point.variants);
      out.push_back(std::move(point));
    }
    return out;
  }
  // The product, the last axis varying fastest.
  std::vector<size_t> at(sweep.axes.size(), 0);
  while (true) {
    Point point;
    for (size_t a = 0; a < sweep.axes.size(); ++a) {
      point.variants.push_back(&sweep.axes[a].variants[at[a]]);
    }
    point.name = name_of(point.variants);
    out.push_back(std::move(point));
    size_t a = sweep.axes.size();
    while (a > 0) {
      --a;
      if (++at[a] < sweep.axes[a].variants.size()) break;
      at[a] = 0;
      if (a == 0) return out;
    }
    if (sweep.axes.empty()) return out;
  }
}

std::pair<int, int> ParseShard(const std::string& text) {
  const auto slash = text.find('/');
  auto number = [&](const std::string& s) {
    int v = -1;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && ptr == s.data() + s.size() ? v : -1;
  };
  const int i = slash == std::string::npos ? -1 : number(text.substr(0, slash));
  const int n = slash == std::string::npos ? -1 : number(text.substr(slash + 1));
  if (i < 0 || n < 1 || i >= n) {
    throw InputError("--shard: \"" + text +
                     "\" is not I/N with 0 <= I < N (for example 0/4, the first of four)");
  }
  return {i, n};
}

std::vector<std::string> CheckSweep(const api::Sweep& sweep) {
  for (const auto& o : sweep.objectives) {
    if (!IsFigureName(o.figure)) {
      throw InputError(o.source, "figure",
                       "\"" + o.figure + "\" is not a headline figure (docs/sweep.md lists them)");
    }
  }
  if (!IsFigureName(sweep.minimize)) {
    throw InputError(sweep.metadata.source, "spec.minimize",
                     "\"" + sweep.minimize + "\" is not a headline figure (docs/sweep.md)");
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  {
    auto base = sim::LoadScenario(sweep.scenario, std::nullopt, sweep.duration);
    for (const auto& w : base->warnings()) {
      if (seen.insert(w).second) out.push_back(w);
    }
  }
  for (const auto& axis : sweep.axes) {
    for (const auto& variant : axis.variants) {
      if (variant.patches.empty()) continue;  // the base as written, checked above
      api::PatchSet set;
      set.patches = variant.patches;
      auto sim = sim::LoadScenario(sweep.scenario, std::nullopt, sweep.duration, &set);
      for (const auto& w : sim->warnings()) {
        if (seen.insert(w).second) out.push_back(axis.name + "=" + variant.name + ": " + w);
      }
    }
  }
  return out;
}

int RunSweep(const std::string& sweep_file, const Options& options) {
  api::Manifests m;
  const api::Sweep& sweep = LoadSweep(sweep_file, &m);
  for (const auto& w : m.diagnostics.warnings) std::cerr << "warning: " << w << "\n";
  const std::vector<Point> points = Points(sweep);
  report::CheckOutputDir("--out", options.out_dir);

  // Every variant's patches are tried on the base before any run starts: a patch that
  // meets no object or cannot apply is bad input (exit 2), not a failure an hour in.
  for (const auto& w : CheckSweep(sweep)) std::cerr << "warning: " << w << "\n";

  std::vector<Task> tasks;
  for (size_t p = 0; p < points.size(); ++p) {
    if (static_cast<int>(p % static_cast<size_t>(options.shard_count)) != options.shard_index)
      continue;
    if (sweep.seeds.empty()) {
      tasks.push_back({p, std::nullopt});
    } else {
      for (uint64_t s : sweep.seeds) tasks.push_back({p, s});
    }
  }

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::map<pid_t, size_t> running;  // child → task
  std::vector<int> codes(tasks.size(), -1);
  size_t next = 0, done = 0;
  int failure = 0;
  std::string failed_run;
  std::fflush(nullptr);
  while ((next < tasks.size() && failure == 0) || !running.empty()) {
    while (failure == 0 && next < tasks.size() &&
           static_cast<int>(running.size()) < std::max(1, options.jobs)) {
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error("sweep: fork failed");
      if (pid == 0)
        RunChild(sweep, points[tasks[next].point], tasks[next].point, tasks[next], options.out_dir);
      running[pid] = next++;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) break;
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const size_t t = it->second;
    running.erase(it);
    codes[t] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    ++done;
    if (codes[t] != 0 && failure == 0) {
      failure = codes[t] == kExitInternalError ? kExitInternalError
                : codes[t] == kExitBadInput    ? kExitBadInput
                                               : kExitInternalError;
      failed_run = points[tasks[t].point].name;
      // The others are stopped: the sweep's tables would be incomplete.
      for (const auto& [child, task] : running) ::kill(child, SIGTERM);
    }
    if (tty) {
      std::fprintf(stderr, "\r\033[K[%zu/%zu] runs done", done, tasks.size());
      std::fflush(stderr);
    }
  }
  if (tty) std::fputs("\r\033[K", stderr);
  if (failure != 0) {
    std::cerr << "error: the run of point " << failed_run << " failed; no table was written\n";
    return failure;
  }

  std::vector<RunResult> runs;
  for (const auto& t : tasks) {
    const fs::path folder = fs::path(options.out_dir) / RunFolder(t.point, t.seed);
    runs.push_back(ReadFigures((folder / "figures.json").string()));
  }
  const SweepHead head = HeadOf(sweep, points, ReadFile(sweep_file));
  if (options.shard_count == 1) {
    WriteTables(head, runs, options.out_dir);
    return 0;
  }
  report::Json shard = HeadJson(head);
  shard["shard"] = {{"index", options.shard_index}, {"count", options.shard_count}};
  shard["runs"] = report::Json::array();
  for (const auto& r : runs) shard["runs"].push_back(RunJson(r));
  report::WriteFileAtomically(options.out_dir, ShardFile(options.shard_index, options.shard_count),
                              [&](std::ostream& o) { o << shard.dump(1) << "\n"; });
  return 0;
}

void MergeShards(const std::vector<std::string>& inputs, const std::string& out_dir) {
  // Each input: a shard file, or a folder holding one or more.
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(in)) {
        const std::string n = e.path().filename().string();
        if (n.starts_with("shard-") && n.ends_with(".json")) found.push_back(e.path().string());
      }
      if (found.empty()) throw InputError(in + ": no shard-I-of-N.json in this folder");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  std::optional<SweepHead> head;
  std::string head_text;
  int count = 0;
  std::map<int, std::string> seen;  // shard index → file
  std::vector<RunResult> runs;
  for (const auto& f : files) {
    report::Json j;
    try {
      j = report::Json::parse(ReadFile(f));
      const SweepHead h = HeadFromJson(j);
      const int index = j.at("shard").at("index").get<int>();
      const int n = j.at("shard").at("count").get<int>();
      const std::string text = HeadJson(h).dump();
      if (!head) {
        head = h;
        head_text = text;
        count = n;
      } else if (text != head_text || n != count) {
        throw InputError(f + ": a shard of another sweep (or of the same sweep split in " +
                         std::to_string(n) + ", not " + std::to_string(count) + ")");
      }
      if (auto [it, added] = seen.try_emplace(index, f); !added) {
        throw InputError(f + ": shard " + std::to_string(index) + " given twice (also " +
                         it->second + ")");
      }
      for (const auto& r : j.at("runs")) runs.push_back(RunFromJson(r));
    } catch (const report::Json::exception& e) {
      throw InputError(f + ": not a sweep shard (" + e.what() + ")");
    }
  }
  if (!head) throw InputError("gputwin sweep merge: no shard given");
  for (int i = 0; i < count; ++i) {
    if (!seen.count(i)) {
      throw InputError("shard " + std::to_string(i) + " of " + std::to_string(count) +
                       " is missing: its table would be incomplete");
    }
  }
  std::stable_sort(runs.begin(), runs.end(),
                   [](const RunResult& a, const RunResult& b) { return a.point < b.point; });
  report::CheckOutputDir("--out", out_dir);
  WriteTables(*head, runs, out_dir);
}

}  // namespace gputwin::sweep
