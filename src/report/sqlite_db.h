// The run as a SQLite database (`gputwin run --db FILE`, docs/db.md): pods, nodes, events,
// Jobs, Kueue's Workloads, Karpenter's NodeClaims and metric samples as tables with
// indexes, for detail at a scale summary.json is unwieldy at. Rows are streamed from the
// store through one prepared statement per table inside one transaction, so memory stays
// SQLite's page cache whatever the run's size; the file takes its name only when complete.
#pragma once

#include <string>

#include "results/results.h"
#include "sim/simulation.h"

namespace gputwin::report {

// The database's layout; docs/db.md describes this version.
inline constexpr int kDatabaseSchemaVersion = 1;

// Before the clock starts: `file` is not a folder and its folder can be written into (an
// InputError naming `flag` otherwise).
void CheckDatabasePath(const std::string& flag, const std::string& file);

// Writes the run into `file` (replaced if present), through a temporary next to it.
// Throws std::runtime_error naming the file when SQLite fails.
void WriteRunDatabase(const std::string& file, const sim::Simulation& sim,
                      const results::Results& r);

}  // namespace gputwin::report
