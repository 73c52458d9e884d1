// `gputwin sweep`: one base scenario run at every point of a grid of variants (patches on
// its objects), each point over the sweep's seeds, in parallel processes; the headline
// figures of every run in one table (docs/sweep.md).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "api/sweep_types.h"
#include "report/summary.h"

namespace gputwin::sim {
class Simulation;
}
namespace gputwin::results {
struct Results;
}

namespace gputwin::sweep {

// One combination of variants, one per axis in the axes' order.
struct Point {
  std::string name;  // "axis=variant,axis=variant"
  std::vector<const api::SweepVariant*> variants;
};
// Every combination of the axes' variants (the first axis varies slowest), or the
// explicit list of spec.points.
std::vector<Point> Points(const api::Sweep& sweep);

// A run's headline figures, in a fixed order: the run's own figures first, then those per
// namespace, ClusterQueue, traffic stream and alert.
using Figures = std::vector<std::pair<std::string, double>>;
Figures Headline(const sim::Simulation& sim, const results::Results& results,
                 const report::Json& head);

// Whether `name` is a headline figure (or one per namespace, ClusterQueue, traffic stream
// or alert: "ttftSecondsP99/chat"), for objectives written before any run.
bool IsFigureName(const std::string& name);

// One run of one point with one seed.
struct RunResult {
  size_t point = 0;
  uint64_t seed = 0;
  bool expectations_passed = true;
  Figures figures;
};

// A point's figure over its seeds: the mean, and the half-width of its 95 % confidence
// interval (Student's t; 0 for a single run).
std::pair<double, double> MeanAndCi95(const std::vector<double>& values);

struct Options {
  std::string out_dir;
  int jobs = 1;
  int shard_index = 0, shard_count = 1;  // --shard I/N: points whose index % N == I
};

// Loads the base scenario and, for each variant, the base with that variant's patches, as
// its runs will: throws InputError at the first that cannot load; returns the warnings.
std::vector<std::string> CheckSweep(const api::Sweep& sweep);

// Runs the sweep's points of this shard; returns the exit code (0; 2 bad input, 3 a
// broken invariant). Writes DIR/runs/<point>-<seed>/summary.json for each run, and the
// tables (sweep.json, points.csv, runs.csv; with N > 1 shards, sweep.json only, for
// `gputwin sweep merge`).
int RunSweep(const std::string& sweep_file, const Options& options);

// `gputwin search`: the point meeting every objective with the least `minimize`, found by
// coordinate descent on the range axes (docs/sweep.md#search); writes the tables of the
// points it ran, and `search` in sweep.json. Returns the exit code.
int RunSearch(const std::string& sweep_file, const Options& options);

// Combines the sweep.json of N shards into exactly the tables of one unsharded run.
void MergeShards(const std::vector<std::string>& dirs, const std::string& out_dir);

// The shard "I/N" of --shard, or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) with
// `count` from --shard-count; throws InputError on nonsense.
std::pair<int, int> ParseShard(const std::string& text);

}  // namespace gputwin::sweep
