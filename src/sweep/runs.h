// A sweep's runs as child processes (internal to src/sweep): each run of a point with a seed
// forks, loads the scenario with the point's patches, runs, writes its folder and exits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "sweep/sweep.h"

namespace gputwin::sweep {

// The Sweep of a file holding exactly one object, kept in `m`; the file's text.
const api::Sweep& LoadSweep(const std::string& path, api::Manifests* m);
std::string ReadFile(const std::string& path);

// One run: a point with a seed (none: the scenario's own).
struct Task {
  size_t point = 0;
  std::optional<uint64_t> seed;
};

// Every seed of a point, in the sweep's order.
std::vector<Task> TasksOf(const api::Sweep& sweep, size_t point);

// runs/0003-s42, or runs/0003 when the sweep gives no seeds (each run the scenario's own).
std::string RunFolder(size_t point, std::optional<uint64_t> seed);

// Runs `tasks`, up to `jobs` at a time; on success returns 0 and their results in task
// order. A run that fails stops the others and returns its exit code (2 bad input, 3 a
// broken invariant), naming the point on stderr.
int RunTasks(const api::Sweep& sweep, const std::vector<Point>& points,
             const std::vector<Task>& tasks, const std::string& out_dir, int jobs,
             std::vector<RunResult>* results);

}  // namespace gputwin::sweep
