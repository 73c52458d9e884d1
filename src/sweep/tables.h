// A sweep's tables (internal to src/sweep): what they hold besides the runs, and their
// writer. The tables are a function of the head and the runs in point order only, which
// is what makes --jobs, shards and `sweep merge` byte-identical.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sweep/sweep.h"

namespace gputwin::sweep {

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
                 const std::string& text);
report::Json HeadJson(const SweepHead& h);
SweepHead HeadFromJson(const report::Json& j);
report::Json RunJson(const RunResult& r);
RunResult RunFromJson(const report::Json& j);

// Whether a point's runs meet every objective (on the means over its seeds; a figure the
// point lacks misses), and the mean of `minimize` (NaN when absent).
bool MeetsObjectives(const SweepHead& h, const std::vector<const RunResult*>& runs,
                     double* minimize);

// points.csv, runs.csv, sweep.json and report.html in `out_dir`, for the points that have
// runs (all of a sweep's; those a search tried). `extra` is merged into sweep.json.
// Returns sweep.json's `best` (null when no point qualifies).
report::Json WriteTables(const SweepHead& h, const std::vector<RunResult>& runs,
                         const std::string& out_dir, const report::Json& extra = report::Json());

}  // namespace gputwin::sweep
