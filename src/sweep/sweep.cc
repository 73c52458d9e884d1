// `gputwin sweep` and `sweep merge`: the points of a grid, the shards, the checks made
// before any run. The runs themselves: runs.cc; the tables: tables.cc.
#include "sweep/sweep.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "api/manifests.h"
#include "report/atomic_write.h"
#include "sim/simulation.h"
#include "sweep/runs.h"
#include "sweep/tables.h"

namespace gputwin::sweep {

namespace {

namespace fs = std::filesystem;

std::string ShardFile(int index, int count) {
  return fmt::format("shard-{}-of-{}.json", index, count);
}

}  // namespace

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
    for (const auto& t : TasksOf(sweep, p)) tasks.push_back(t);
  }

  std::vector<RunResult> runs;
  if (const int code = RunTasks(sweep, points, tasks, options.out_dir, options.jobs, &runs)) {
    return code;
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
