// `gputwin search`: the cheapest point meeting the objectives without running the whole
// grid (docs/sweep.md#search). Coordinate descent with binary search on the range axes,
// for each combination of the other axes' variants, under one assumption stated to the
// user: along a range axis, a larger value never makes an objective worse (more GPUs,
// nodes, replicas or quota serve at least as well). Points that assumption decides are not
// run (a point at or above one that meets, or at or below one that misses, on every range
// axis with the same other variants).
#include <cmath>
#include <iostream>
#include <map>

#include "api/manifests.h"
#include "report/atomic_write.h"
#include "sweep/runs.h"
#include "sweep/sweep.h"
#include "sweep/tables.h"

namespace gputwin::sweep {

namespace {

struct Verdict {
  bool meets = false;
  double minimize = 0;
};

class Search {
 public:
  Search(const api::Sweep& sweep, const std::vector<Point>& points, const SweepHead& head,
         const Options& options)
      : sweep_(sweep), points_(points), head_(head), options_(options) {
    const size_t n = sweep.axes.size();
    stride_.assign(n, 1);
    for (size_t a = n; a-- > 1;) stride_[a - 1] = stride_[a] * sweep.axes[a].variants.size();
  }

  // Runs the descent; returns 0 or a failed run's exit code.
  int Run() {
    std::vector<size_t> integer, categorical;
    for (size_t a = 0; a < sweep_.axes.size(); ++a) {
      (sweep_.axes[a].integer ? integer : categorical).push_back(a);
    }
    // Each combination of the categorical axes' variants, the first axis slowest.
    std::vector<size_t> at(sweep_.axes.size(), 0);
    while (true) {
      for (size_t a : integer) at[a] = sweep_.axes[a].variants.size() - 1;
      if (const int code = Descend(integer, at)) return code;
      size_t k = categorical.size();
      while (k > 0) {
        --k;
        if (++at[categorical[k]] < sweep_.axes[categorical[k]].variants.size()) break;
        at[categorical[k]] = 0;
        if (k == 0) return 0;
      }
      if (categorical.empty()) return 0;
    }
  }

  const std::vector<RunResult>& runs() const { return runs_; }
  const std::vector<size_t>& tried() const { return tried_; }
  size_t inferred() const { return inferred_; }
  const std::vector<size_t>& candidates() const { return candidates_; }

 private:
  size_t Index(const std::vector<size_t>& at) const {
    size_t i = 0;
    for (size_t a = 0; a < at.size(); ++a) i += at[a] * stride_[a];
    return i;
  }

  // What a point gives: run it, or decide it from the points run (the assumption).
  int Evaluate(const std::vector<size_t>& at, Verdict* out) {
    const size_t idx = Index(at);
    if (auto it = verdicts_.find(idx); it != verdicts_.end()) {
      *out = it->second;
      return 0;
    }
    for (const auto& [other, v] : verdicts_) {
      const std::vector<size_t>& o = coords_.at(other);
      bool same_others = true, all_le = true, all_ge = true;
      for (size_t a = 0; a < at.size(); ++a) {
        if (!sweep_.axes[a].integer) {
          same_others = same_others && o[a] == at[a];
        } else {
          all_le = all_le && o[a] <= at[a];
          all_ge = all_ge && o[a] >= at[a];
        }
      }
      if (same_others && ((v.meets && all_le) || (!v.meets && all_ge)) && !(all_le && all_ge)) {
        ++inferred_;
        out->meets = v.meets;
        out->minimize = std::nan("");
        return 0;
      }
    }
    std::vector<RunResult> results;
    if (const int code = RunTasks(sweep_, points_, TasksOf(sweep_, idx), options_.out_dir,
                                  options_.jobs, &results)) {
      return code;
    }
    std::vector<const RunResult*> mine;
    for (auto& r : results) runs_.push_back(std::move(r));
    for (size_t i = runs_.size() - results.size(); i < runs_.size(); ++i) {
      mine.push_back(&runs_[i]);
    }
    Verdict v;
    v.meets = MeetsObjectives(head_, mine, &v.minimize);
    verdicts_[idx] = v;
    coords_[idx] = at;
    tried_.push_back(idx);
    *out = v;
    return 0;
  }

  // From `at` (every range axis at its largest value), lower one range axis at a time to
  // its least value that still meets the objectives, until no axis can be lowered.
  int Descend(const std::vector<size_t>& integer, std::vector<size_t>& at) {
    Verdict v;
    if (const int code = Evaluate(at, &v)) return code;
    if (!v.meets) return 0;  // the most generous point misses: so does every other
    bool changed = true;
    while (changed) {
      changed = false;
      for (size_t a : integer) {
        size_t lo = 0, hi = at[a];
        while (lo < hi) {
          std::vector<size_t> probe = at;
          probe[a] = (lo + hi) / 2;
          Verdict pv;
          if (const int code = Evaluate(probe, &pv)) return code;
          if (pv.meets) {
            hi = probe[a];
          } else {
            lo = probe[a] + 1;
          }
        }
        if (hi != at[a]) {
          at[a] = hi;
          changed = true;
        }
      }
    }
    candidates_.push_back(Index(at));
    return 0;
  }

  const api::Sweep& sweep_;
  const std::vector<Point>& points_;
  const SweepHead& head_;
  const Options& options_;
  std::vector<size_t> stride_;
  std::map<size_t, Verdict> verdicts_;
  std::map<size_t, std::vector<size_t>> coords_;
  std::vector<RunResult> runs_;
  std::vector<size_t> tried_, candidates_;
  size_t inferred_ = 0;
};

}  // namespace

int RunSearch(const std::string& sweep_file, const Options& options) {
  api::Manifests m;
  const api::Sweep& sweep = LoadSweep(sweep_file, &m);
  for (const auto& w : m.diagnostics.warnings) std::cerr << "warning: " << w << "\n";
  if (sweep.objectives.empty()) {
    throw InputError(sweep.metadata.source, "spec.objectives",
                     "Required value: gputwin search looks for the least " + sweep.minimize +
                         " that meets objectives; without any, run gputwin sweep");
  }
  if (!sweep.points.empty()) {
    throw InputError(sweep.metadata.source, "spec.points",
                     "gputwin search explores the axes' grid itself: remove spec.points");
  }
  const std::vector<Point> points = Points(sweep);
  report::CheckOutputDir("--out", options.out_dir);
  for (const auto& w : CheckSweep(sweep)) std::cerr << "warning: " << w << "\n";

  const SweepHead head = HeadOf(sweep, points, ReadFile(sweep_file));
  Search search(sweep, points, head, options);
  if (const int code = search.Run()) return code;

  std::vector<RunResult> runs = search.runs();
  std::stable_sort(runs.begin(), runs.end(),
                   [](const RunResult& a, const RunResult& b) { return a.point < b.point; });
  report::Json extra = report::Json::object();
  report::Json& s = extra["search"];
  s["method"] =
      "coordinate descent with binary search on range axes, per combination of "
      "the other axes";
  s["gridPoints"] = points.size();
  s["tried"] = report::Json::array();
  for (size_t i : search.tried()) s["tried"].push_back(points[i].name);
  s["decidedWithoutRunning"] = search.inferred();
  s["candidates"] = report::Json::array();
  for (size_t i : search.candidates()) s["candidates"].push_back(points[i].name);
  const report::Json result = WriteTables(head, runs, options.out_dir, extra);
  if (result.is_null()) {
    std::cout << "No point meets every objective (" << search.tried().size() << " of "
              << points.size() << " points run)\n";
  } else {
    std::cout << "Best: " << result.at("name").get<std::string>() << " (" << sweep.minimize << " "
              << result.at(sweep.minimize).get<double>() << ") after " << search.tried().size()
              << " of " << points.size() << " points\n";
  }
  return 0;
}

}  // namespace gputwin::sweep
