// The fork pool: the parent is single-threaded and only waits, so a child starts from a
// clean copy; children end with _exit (no destructors, no leak check: the parent owns
// every resource that matters), and report through files, not pipes.
#include "sweep/runs.h"
#include "sweep/tables.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "api/manifests.h"
#include "report/atomic_write.h"
#include "results/results.h"
#include "sim/invariants.h"
#include "sim/simulation.h"

namespace gputwin::sweep {

// runs/0003-s42, or runs/0003 when the sweep gives no seeds (each run the scenario's own).
std::string RunFolder(size_t point, std::optional<uint64_t> seed) {
  return seed ? fmt::format("runs/{:04d}-s{}", point, *seed) : fmt::format("runs/{:04d}", point);
}

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

std::vector<Task> TasksOf(const api::Sweep& sweep, size_t point) {
  std::vector<Task> out;
  if (sweep.seeds.empty()) out.push_back({point, std::nullopt});
  for (uint64_t s : sweep.seeds) out.push_back({point, s});
  return out;
}

namespace {

namespace fs = std::filesystem;

constexpr int kExitBadInput = 2, kExitInternalError = 3;

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
    RunResult r;
    r.point = index;
    r.seed = sim->scenario().seed;
    r.expectations_passed = sim->expectations_passed();
    r.figures = figures;
    const report::Json f = RunJson(r);
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

}  // namespace

int RunTasks(const api::Sweep& sweep, const std::vector<Point>& points,
             const std::vector<Task>& tasks, const std::string& out_dir, int jobs,
             std::vector<RunResult>* results) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  int64_t peak_kib = 0;             // the largest run's peak resident memory (wait4's ru_maxrss)
  std::map<pid_t, size_t> running;  // child → task
  std::vector<int> codes(tasks.size(), -1);
  size_t next = 0, done = 0;
  int failure = 0;
  std::string failed_run;
  std::fflush(nullptr);
  while ((next < tasks.size() && failure == 0) || !running.empty()) {
    while (failure == 0 && next < tasks.size() &&
           static_cast<int>(running.size()) < std::max(1, jobs)) {
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error("sweep: fork failed");
      if (pid == 0)
        RunChild(sweep, points[tasks[next].point], tasks[next].point, tasks[next], out_dir);
      running[pid] = next++;
    }
    int status = 0;
    struct rusage usage {};
    const pid_t pid = ::wait4(-1, &status, 0, &usage);
    if (pid < 0) break;
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const size_t t = it->second;
    running.erase(it);
    codes[t] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    peak_kib = std::max<int64_t>(peak_kib, usage.ru_maxrss);
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

  // Measured, so not in the tables (they are the same on every machine): on stderr.
  std::cerr << "sweep: " << tasks.size() << " run(s), " << std::max(1, jobs)
            << " at a time; the largest peaked at " << (peak_kib + 1023) / 1024
            << " MiB of memory\n";
  results->clear();
  for (const auto& t : tasks) {
    const fs::path folder = fs::path(out_dir) / RunFolder(t.point, t.seed);
    results->push_back(
        RunFromJson(report::Json::parse(ReadFile((folder / "figures.json").string()))));
  }
  return 0;
}

}  // namespace gputwin::sweep
