// The gputwin command: run, validate, version. Exit codes (docs/cli.md): 0 ok, 1 the run
// broke an expectation the scenario declared, 2 bad input or usage.
#include <unistd.h>
#include <charconv>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "api/manifests.h"
#include "lint/lint.h"
#include "report/explain.h"
#include "report/html.h"
#include "report/sqlite_db.h"
#include "report/summary.h"
#include "results/results.h"
#include "serving/experiment.h"
#include "sim/simulation.h"
#include "sweep/sweep.h"
#include "telemetry/openmetrics.h"
#include "telemetry/tsdb_block.h"
#include "workloads/fgd_experiment.h"

#ifdef GPUTWIN_TCMALLOC_HUGEPAGES
#include <gperftools/malloc_extension.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#endif

// The finished run, left to the process exit (Run).
gputwin::sim::Simulation* gputwin_finished_run = nullptr;

namespace {

using namespace gputwin;

// lint: 1 for findings at or above --fail-on.
constexpr int kExitOk = 0, kExitExpectationsFailed = 1, kExitLintFindings = 1, kExitBadInput = 2,
              kExitInternalError = 3;

// A one-line progress bar on stderr, only when stderr is a terminal.
class TerminalProgress : public sim::Progress {
 public:
  explicit TerminalProgress(Time start)
      : start_(start), wall_start_(std::chrono::steady_clock::now()) {}
  ~TerminalProgress() override {
    if (drawn_) std::fputs("\r\033[K", stderr);
  }
  // Simulated time reached, events per second of wall time and the time left at that pace;
  // redrawn at most 10 times a second.
  void Update(double fraction, Time now, uint64_t events) override {
    const auto wall = std::chrono::steady_clock::now();
    if (drawn_ && fraction < 1.0 && wall - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = wall;
    drawn_ = true;
    const double elapsed = std::chrono::duration<double>(wall - wall_start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(events) / elapsed : 0;
    const double eta = fraction > 0.001 ? elapsed * (1 - fraction) / fraction : 0;
    const int pct = static_cast<int>(fraction * 100);
    std::fprintf(stderr, "\r\033[K[%-20s] %3d%%  %s simulated  %.0fk events/s  ETA %.0fs",
                 std::string(static_cast<size_t>(pct / 5), '#').c_str(), pct,
                 FormatDuration(now - start_).c_str(), rate / 1000, eta);
    std::fflush(stderr);
  }

 private:
  Time start_;
  std::chrono::steady_clock::time_point wall_start_, last_draw_;
  bool drawn_ = false;
};

std::optional<Duration> ParseDurationFlag(const std::string& flag, const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::string err;
  auto d = ParseDuration(text, &err);
  if (!d || d->ns <= 0)
    throw InputError(flag + ": \"" + text + "\" is not a positive duration" +
                     (err.empty() ? "" : ": " + err));
  return d;
}

// `gputwin run`'s flags.
struct RunOptions {
  std::string scenario, duration, out_dir, until, format = "text";
  std::vector<std::string> files;
  std::optional<uint64_t> seed;
  std::string metrics_file, metrics_tsdb, html_file;
  bool check_invariants = false;
  report::Detail detail = report::Detail::kFull;
  std::string db_file;
};

int Run(const RunOptions& o) {
  const auto& [scenario, duration, out_dir, until, format, files, seed, metrics_file, metrics_tsdb,
               html_file, check_invariants, detail, db_file] = o;
  std::unique_ptr<sim::Simulation> simulation;
  if (!files.empty()) {
    if (!scenario.empty()) throw InputError("give either a SCENARIO or -f FILE_OR_DIR, not both");
    auto d = ParseDurationFlag("--duration", duration);
    auto u = ParseDurationFlag("--until", until);
    simulation = sim::LoadManifests(files, u ? *u : d ? *d : Duration::Hours(24), seed);
  } else {
    if (scenario.empty())
      throw InputError(
          "gputwin run: give a SCENARIO file or -f FILE_OR_DIR (see gputwin run --help)");
    auto u = ParseDurationFlag("--until", until);
    if (!duration.empty()) u = ParseDurationFlag("--duration", duration);
    simulation = sim::LoadScenario(scenario, seed, u);
  }
  // Where the outputs go is checked before the clock starts, not found after the run.
  auto parent = [](const std::string& file) {
    const std::filesystem::path p(file);
    return p.parent_path().empty() ? std::string(".") : p.parent_path().string();
  };
  if (!out_dir.empty()) report::CheckOutputDir("--out", out_dir);
  if (!html_file.empty()) report::CheckOutputDir("--html", parent(html_file));
  if (!metrics_file.empty()) report::CheckOutputDir("--metrics", parent(metrics_file));
  if (!db_file.empty()) report::CheckDatabasePath("--db", db_file);
  if (check_invariants) simulation->CheckInvariants();
  for (const auto& w : simulation->warnings()) std::cerr << "warning: " << w << "\n";
  const size_t warned_before_run = simulation->warnings().size();
  // The block's chunks are written while the run scrapes; the text reads them back.
  std::unique_ptr<telemetry::TsdbBlockWriter> block;
  if (!metrics_tsdb.empty()) {
    block = std::make_unique<telemetry::TsdbBlockWriter>(metrics_tsdb, simulation->start(),
                                                         simulation->scenario().seed,
                                                         &simulation->mutable_metrics());
  } else if (!metrics_file.empty()) {
    simulation->SpoolMetrics();
  }
  {
    std::unique_ptr<TerminalProgress> progress;
    if (::isatty(STDERR_FILENO)) progress = std::make_unique<TerminalProgress>(simulation->start());
    simulation->Run(progress.get());
  }
  // What the run's actions met (an immutable field, a missing object), said as it happened.
  for (size_t i = warned_before_run; i < simulation->warnings().size(); ++i) {
    std::cerr << "warning: " << simulation->warnings()[i] << "\n";
  }
  const results::Results results = results::Compute(*simulation);
  // summary.json's head, computed once for every output that holds it.
  const bool json_stdout = format == "json";
  report::Json head;
  if (!out_dir.empty() || !html_file.empty() || json_stdout) {
    head = report::SummaryHead(*simulation, results);
  }
  if (!out_dir.empty()) {
    // (detail captured by name: a structured binding, which clang 14 cannot capture.)
    report::WriteFileAtomically(out_dir, "summary.json", [&, detail = detail](std::ostream& out) {
      report::WriteSummaryJson(out, *simulation, results, detail, &head);
    });
  }
  if (!out_dir.empty() || !html_file.empty()) {
    // Drawn from what the summary holds, as `gputwin report` draws it from summary.json.
    const std::string html =
        report::RenderHtml(report::ReportJson(*simulation, json_stdout ? head : std::move(head)),
                           report::PodSpans::FromStore(simulation->store(), simulation->kueue()));
    auto write = [&](const std::string& dir, const std::string& name) {
      report::WriteFileAtomically(dir, name, [&](std::ostream& out) { out << html; });
    };
    if (!out_dir.empty()) write(out_dir, "report.html");
    if (!html_file.empty()) {
      const std::filesystem::path p(html_file);
      write(p.parent_path().empty() ? "." : p.parent_path().string(), p.filename().string());
    }
  }
  if (!db_file.empty()) report::WriteRunDatabase(db_file, *simulation, results);
  if (!metrics_file.empty()) {
    const std::filesystem::path p(metrics_file);
    report::WriteFileAtomically(
        p.parent_path().empty() ? "." : p.parent_path().string(), p.filename().string(),
        [&](std::ostream& out) { telemetry::WriteOpenMetrics(out, simulation->metrics()); });
  }
  std::string block_path;
  if (block) block_path = block->Commit();
  if (json_stdout) {
    report::WriteSummaryJson(std::cout, *simulation, results, detail, &head);
  } else {
    std::cout << report::RenderText(*simulation, results);
    if (!out_dir.empty()) std::cout << "\nWrote " << out_dir << "/summary.json\n";
    if (!block_path.empty()) std::cout << "Wrote TSDB block " << block_path << "\n";
  }
  const int code = simulation->expectations_passed() ? kExitOk : kExitExpectationsFailed;
  // The process ends here: freeing a month of objects one by one would cost seconds. Kept
  // reachable from a global (LeakSanitizer counts it as in use, not leaked; a store to a
  // function's own static nobody reads would be optimised away); every output is written.
  gputwin_finished_run = simulation.release();
  return code;
}

// "42-51" or "42" or "42,44,50".
std::vector<uint64_t> ParseSeeds(const std::string& text) {
  std::vector<uint64_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    auto dash = part.find('-');
    try {
      if (dash == std::string::npos) {
        out.push_back(std::stoull(part));
      } else {
        uint64_t a = std::stoull(part.substr(0, dash)), b = std::stoull(part.substr(dash + 1));
        if (b < a || b - a > 100000) throw std::invalid_argument("range");
        for (uint64_t s = a; s <= b; ++s) out.push_back(s);
      }
    } catch (const std::exception&) {
      throw InputError("--seeds: \"" + text + "\" is not a seed list (for example 42-51)");
    }
  }
  if (out.empty()) throw InputError("--seeds: no seed given");
  return out;
}

int ExperimentFgd(const std::string& pods_path, const std::string& nodes_path,
                  const std::string& policy_name, const std::string& seeds_text, double tune,
                  const std::string& replay, const std::string& placements) {
  gpushare::Policy policy;
  if (!gpushare::ParsePolicy(policy_name, &policy)) {
    throw InputError(
        "--policy: \"" + policy_name +
        "\" is not one of Random, DotProduct, GpuClustering, GpuPacking, BestFit, FGD");
  }
  if (!(tune > 0 && tune <= 10)) throw InputError("--tune: must be in (0, 10]");
  auto nodes = workloads::LoadTraceNodes(nodes_path);
  auto pods = workloads::LoadTracePods(pods_path);
  int64_t capacity = 0;
  for (const auto& n : nodes) capacity += int64_t{n.gpus} * gpushare::kMilli;
  if (capacity == 0) throw InputError(nodes_path + ": the node list has no GPUs");
  const int max_step = static_cast<int>(std::lround(tune * 100));
  std::vector<double> sum(static_cast<size_t>(max_step) + 1, 0.0);
  std::vector<uint64_t> seeds = ParseSeeds(seeds_text);
  for (uint64_t seed : seeds) {
    auto arrivals = replay.empty() ? workloads::TunedArrivals(pods, capacity, tune, seed)
                                   : workloads::ArrivalsFromSteps(pods, replay);
    auto r = workloads::RunPlacement(nodes, pods, arrivals, policy, seed, max_step);
    for (size_t s = 0; s < sum.size(); ++s) sum[s] += r.allocation_percent[s];
    if (!placements.empty() && seed == seeds.front()) {
      std::ostringstream out;
      out << "step,pod,node\n";
      for (size_t k = 0; k < arrivals.size(); ++k) {
        out << k << "," << pods[arrivals[k]].name << ","
            << (r.node_of[k] < 0 ? "" : nodes[static_cast<size_t>(r.node_of[k])].name) << "\n";
      }
      std::filesystem::path p(placements);
      report::WriteFileAtomically(p.parent_path().empty() ? "." : p.parent_path().string(),
                                  p.filename().string(), [&](std::ostream& o) { o << out.str(); });
    }
  }
  std::cout << "step,mean_allocation_percent\n";
  for (size_t s = 0; s < sum.size(); ++s) {
    std::cout << s << "," << fmt::format("{:.2f}", sum[s] / static_cast<double>(seeds.size()))
              << "\n";
  }
  return kExitOk;
}

int Lint(const std::vector<std::string>& files, const std::string& format,
         const std::string& fail_on, const std::string& config_file, const std::string& output) {
  const lint::Config config = config_file.empty() ? lint::Config{} : lint::LoadConfig(config_file);
  const api::Manifests manifests = lint::LoadForLint(files);
  const auto findings = lint::Lint(manifests, config);
  const std::string report = format == "sarif"  ? lint::FormatSarif(findings, GPUTWIN_VERSION)
                             : format == "json" ? lint::FormatJson(findings)
                                                : lint::FormatText(findings);
  if (output.empty()) {
    std::cout << report;
  } else {
    const std::filesystem::path p(output);
    report::WriteFileAtomically(p.has_parent_path() ? p.parent_path().string() : ".",
                                p.filename().string(), [&](std::ostream& o) { o << report; });
  }
  lint::Severity threshold = lint::Severity::kWarning;
  lint::ParseSeverity(fail_on, &threshold);
  const bool fail = std::any_of(findings.begin(), findings.end(),
                                [&](const auto& f) { return f.severity >= threshold; });
  return fail ? kExitLintFindings : kExitOk;
}

// What `explain` reads: a run's --out DIR (its summary.json), or a cluster snapshot
// (`kubectl get ... -o yaml`) that is loaded as the cluster at t=0 and run for 30 s, long
// enough for kube-scheduler, Kueue and Karpenter to say what they would do with it.
nlohmann::json ExplainSource(const std::string& path) {
  const std::filesystem::path p(path);
  const bool run_output =
      (std::filesystem::is_directory(p) && std::filesystem::exists(p / "summary.json")) ||
      p.filename() == "summary.json";
  if (run_output) {
    auto summary = report::LoadRunSummary(path);
    // The causal chain is read from the pods and events: without them an empty chain would
    // look like an object nothing happened to.
    if (summary.is_object() && summary.value("detail", std::string("full")) == "summary") {
      throw InputError(path +
                       ": summary.json was written with --detail summary (no pods or events); "
                       "run again with --detail full");
    }
    return summary;
  }
  auto sim = sim::LoadManifests({path}, Duration::Seconds(30), std::nullopt);
  for (const auto& w : sim->warnings()) std::cerr << "warning: " << w << "\n";
  sim->Run();
  std::ostringstream out;
  report::WriteSummaryJson(out, *sim, results::Compute(*sim));
  return nlohmann::json::parse(out.str());
}

int Validate(const std::vector<std::string>& files) {
  api::Manifests manifests;
  for (const auto& f : files) api::LoadPath(f, &manifests);
  api::Manifests manifests_copy = manifests;
  // Decoding's warnings first (an error in the checks below still shows them), then those
  // the checks before the clock add, each once.
  std::set<std::string> shown;
  auto show = [&](const std::vector<std::string>& warnings) {
    for (const auto& w : warnings) {
      if (shown.insert(w).second) std::cerr << "warning: " << w << "\n";
    }
  };
  show(manifests.diagnostics.warnings);
  size_t objects = manifests.ObjectCount();
  if (manifests.documents == 0) {
    // kubectl apply says the same of a file with nothing in it.
    throw InputError(files.front() + ": no objects passed (the input holds no Kubernetes object)");
  }
  if (manifests.scenarios.empty()) {
    // Plain manifests get every check `run -f` makes before the clock starts.
    sim::Simulation check(std::move(manifests_copy), api::Scenario{});
    show(check.warnings());
  }
  // Scenarios also check what they reference and admit every pod template.
  size_t referenced_objects = 0;
  for (auto& s : manifests.scenarios) {
    // As `run` loads it: the objects of the scenario's own file, then those it names.
    api::Manifests referenced;
    api::LoadPath(s.metadata.source.file, &referenced);
    referenced.scenarios.clear();
    const size_t own = referenced.ObjectCount();
    sim::LoadReferencedInputs(&s, &referenced);
    referenced_objects += referenced.ObjectCount() - own;
    show(referenced.diagnostics.warnings);
    sim::Simulation check(std::move(referenced), s);
    show(check.warnings());
  }
  // Sweeps: their base scenario, and the base with each variant's patches.
  for (const auto& s : manifests.sweeps) show(sweep::CheckSweep(s));
  std::cout << "valid: " << objects << " object(s) in " << files.size() << " path(s)";
  // (A scenario's spec.manifests, rule files and traces: checked above, counted apart.)
  if (referenced_objects > 0) std::cout << " and " << referenced_objects << " they reference";
  std::cout << ", " << shown.size() << " warning(s)\n";
  return kExitOk;
}

}  // namespace

int RealMain(int argc, char** argv) {
  CLI::App app{
      "gputwin: a digital twin of a Kubernetes GPU cluster.\n"
      "Exit codes: 0 ok, 1 an expectation of the scenario failed, 2 bad input."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(GPUTWIN_VERSION));

  auto* run =
      app.add_subcommand("run", "Replay a scenario (or plain manifests) on the virtual clock");
  RunOptions ro;
  auto& [scenario, duration, out_dir, until, format, files, seed, metrics_file, metrics_tsdb,
         html_file, check_invariants, detail, db_file] = ro;
  run->add_option("SCENARIO", scenario, "Scenario file (kind: Scenario, gputwin.io/v1alpha1)");
  run->add_option("-f,--filename", files,
                  "Plain manifests: files or folders (like kubectl apply -f)");
  run->add_option("--duration", duration,
                  "How long to simulate with -f (Go duration, default 24h)");
  run->add_option("--out", out_dir, "Write summary.json into this folder (created if missing)");
  run->add_option("--seed", seed, "Random seed (overrides spec.seed)")
      ->check([](const std::string& text) -> std::string {
        // Digits only, within uint64: CLI11 alone would wrap -1 and 2^64 silently.
        uint64_t v = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (text.empty() || ec != std::errc() || ptr != end) {
          return "\"" + text + "\" is not a seed (a whole number from 0 to 18446744073709551615)";
        }
        return "";
      });
  run->add_option("--until", until, "Stop the simulation at this offset (Go duration)");
  run->add_flag("--check-invariants", check_invariants,
                "Check the twin's own invariants as the clock advances (exit 3 if one breaks)");
  run->add_option("--metrics", metrics_file,
                  "Write every scraped series as OpenMetrics text to this file (for promtool "
                  "tsdb create-blocks-from openmetrics; docs/grafana.md)");
  run->add_option("--metrics-tsdb", metrics_tsdb,
                  "Write every scraped series as a Prometheus TSDB block into this data folder "
                  "(prometheus --storage.tsdb.path=DIR serves it; docs/grafana.md)");
  run->add_option("--db", db_file,
                  "Write the run into this SQLite database: pods, nodes, events, Jobs, "
                  "workloads, NodeClaims, metric samples (docs/db.md)");
  run->add_option("--html", html_file,
                  "Write the HTML report to this file (one self-contained page; also "
                  "report.html in --out)");
  run->add_option("--format", format, "Output on stdout: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  run->add_option("--detail", detail,
                  "What summary.json holds: full (every pod and event) or summary (totals, "
                  "nodes, Jobs, ClusterQueues; no pod, event or workload rows: --db has them)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, report::Detail>{
          {"full", report::Detail::kFull}, {"summary", report::Detail::kSummary}}));

  auto* validate =
      app.add_subcommand("validate", "Check manifests and scenarios without running them");
  std::vector<std::string> validate_files;
  validate->add_option("FILE", validate_files, "Files or folders")->required();

  auto* lint = app.add_subcommand(
      "lint", "Check manifests for GPU cluster sharp edges (rules: docs/lint.md)");
  std::vector<std::string> lint_files;
  std::string lint_format = "text", lint_fail_on = "warning", lint_config, lint_output;
  lint->add_option("FILE", lint_files, "Files or folders")->required();
  lint->add_option("--format", lint_format, "text, json or sarif (SARIF 2.1.0)")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  lint->add_option("--fail-on", lint_fail_on,
                   "Exit 1 on findings of this severity or above: note, warning or error")
      ->check(CLI::IsMember({"note", "warning", "error"}));
  lint->add_option("--config", lint_config, "A LintConfig file (disable, severity)");
  lint->add_option("--output", lint_output, "Write the report to this file instead of stdout");

  auto* explain = app.add_subcommand(
      "explain",
      "Why an object of a finished run is as it is: its causal chain, in upstream words");
  std::string explain_run, explain_object, explain_format = "text";
  explain->add_option("OUT_DIR", explain_run, "A run's --out DIR (or its summary.json)")
      ->required();
  explain
      ->add_option("OBJECT", explain_object,
                   "pod/NS/NAME, job/NS/NAME, workload/NS/NAME, node/NAME or nodeclaim/NAME")
      ->required();
  explain->add_option("--format", explain_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  auto* report_cmd = app.add_subcommand(
      "report", "Draw finished runs again: one run's HTML report, or several side by side");
  std::vector<std::string> report_runs;
  std::string report_html;
  report_cmd->add_option("OUT_DIR", report_runs, "Runs' --out folders (or summary.json files)")
      ->required();
  report_cmd->add_option("--html", report_html, "The HTML file to write")->required();

  auto* sweep_cmd = app.add_subcommand(
      "sweep", "Run a scenario at every point of a grid of variants (kind: Sweep; docs/sweep.md)");
  std::string sweep_file, shard_text;
  int shard_count = 0;
  sweep::Options sweep_options;
  sweep_options.jobs = std::max(1, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  sweep_cmd->add_option("SWEEP", sweep_file, "Sweep file (kind: Sweep, gputwin.io/v1alpha1)");
  sweep_cmd->add_option("--out", sweep_options.out_dir,
                        "Folder for the tables (points.csv, runs.csv, sweep.json) and each "
                        "run's summary.json");
  sweep_cmd->add_option("--jobs", sweep_options.jobs, "Runs at a time (default: every core)")
      ->check(CLI::Range(1, 1024));
  sweep_cmd->add_option("--shard", shard_text,
                        "Run only the I-th of N slices of the points (I/N, from 0); "
                        "`gputwin sweep merge` joins the shards");
  sweep_cmd
      ->add_option("--shard-count", shard_count,
                   "N slices, the index from JOB_COMPLETION_INDEX (a Kubernetes Indexed "
                   "Job) or SLURM_ARRAY_TASK_ID (a Slurm array)")
      ->check(CLI::Range(1, 1000000));
  auto* sweep_merge = sweep_cmd->add_subcommand(
      "merge", "Join the shards of a sweep into the tables of one unsharded run");
  std::vector<std::string> merge_inputs;
  std::string merge_out;
  sweep_merge->add_option("SHARD", merge_inputs, "Shards' --out folders or shard-I-of-N.json files")
      ->required();
  sweep_merge->add_option("--out", merge_out, "Folder for the merged tables")->required();

  auto* search_cmd = app.add_subcommand(
      "search",
      "Find the cheapest point of a Sweep that meets its objectives, without running the whole "
      "grid (docs/sweep.md#search)");
  std::string search_file;
  sweep::Options search_options;
  search_options.jobs = sweep_options.jobs;
  search_cmd->add_option("SWEEP", search_file, "Sweep file with objectives")->required();
  search_cmd->add_option("--out", search_options.out_dir, "Folder for the tables of the points run")
      ->required();
  search_cmd->add_option("--jobs", search_options.jobs, "Runs at a time (a point's seeds)")
      ->check(CLI::Range(1, 1024));

  auto* version = app.add_subcommand("version", "Print the version");

  auto* experiment = app.add_subcommand("experiment", "Reproduce published experiments");
  auto* fgd = experiment->add_subcommand(
      "fgd", "GPU allocation ratio per 1% of arrived GPU demand (ATC'23 FGD paper, Sec. 6)");
  experiment->require_subcommand(1);
  std::string fgd_pods, fgd_nodes, fgd_policy = "FGD", fgd_seeds = "42", fgd_replay;
  double fgd_tune = 1.3;
  fgd->add_option("--pods", fgd_pods, "Pod list CSV (openb_pod_list_*.csv)")->required();
  fgd->add_option("--nodes", fgd_nodes, "Node list CSV (openb_node_list_gpu_node.csv)")->required();
  fgd->add_option("--policy", fgd_policy,
                  "Random, DotProduct, GpuClustering, GpuPacking, BestFit or FGD");
  fgd->add_option("--seeds", fgd_seeds, "Seeds, e.g. 42-51; the curve printed is their mean");
  fgd->add_option("--tune", fgd_tune, "Arrived GPU demand as a multiple of capacity (1.3)");
  std::string fgd_placements;
  fgd->add_option("--placements", fgd_placements,
                  "Write each pod's node (first seed) to this CSV: step,pod,node");
  fgd->add_option("--replay", fgd_replay,
                  "Replay the arrival order of a published run (a *-steps.csv)");

  auto* serving = experiment->add_subcommand(
      "serving", "vLLM engine step times of a model on a GPU (decode and prefill), as CSV");
  serving::ServingExperiment sx;
  std::string sx_batch = "1,8,32", sx_context = "1024,4096", sx_prompt = "128,512,2048";
  serving->add_option("--gpu", sx.gpu, "GPU model, e.g. H100-80GB, H200, L4")->required();
  serving->add_option("--model", sx.model, "Hugging Face model name or a config.json")->required();
  serving->add_option("--tensor-parallel", sx.tensor_parallel, "Tensor parallel size (1)");
  serving->add_option("--dtype", sx.dtype, "vLLM --dtype (auto)");
  serving->add_option("--batch", sx_batch, "Decode batch sizes (1,8,32)");
  serving->add_option("--context", sx_context, "Decode context lengths (1024,4096)");
  serving->add_option("--prompt", sx_prompt, "Prefill prompt lengths (128,512,2048)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  try {
    if (*version) {
      std::cout << "gputwin " << GPUTWIN_VERSION << "\n";
      return kExitOk;
    }
    if (*validate) return Validate(validate_files);
    if (*explain) {
      const auto e = report::Explain(ExplainSource(explain_run), explain_object);
      std::cout << (explain_format == "json" ? e.dump(2) + "\n" : report::RenderExplain(e));
      return kExitOk;
    }
    if (*report_cmd) {
      std::vector<std::pair<std::string, nlohmann::json>> runs;
      for (const auto& r : report_runs) {
        // A run is labelled by its folder, or by its scenario when two folders share a name.
        runs.emplace_back(std::filesystem::path(r).filename().string(), report::LoadRunSummary(r));
        if (runs.back().second.value("detail", std::string("full")) == "summary") {
          std::cerr << "warning: " << r
                    << ": summary.json was written with --detail summary: the page has no "
                       "per-pod timelines\n";
        }
        if (runs.back().first.empty() || runs.back().first == "summary.json") {
          runs.back().first = runs.back().second.value("scenario", r);
        }
      }
      const std::string html = runs.size() == 1 ? report::RenderHtml(runs.front().second)
                                                : report::RenderComparison(runs);
      const std::filesystem::path p(report_html);
      report::WriteFileAtomically(p.parent_path().empty() ? "." : p.parent_path().string(),
                                  p.filename().string(), [&](std::ostream& o) { o << html; });
      return kExitOk;
    }
    if (*search_cmd) return sweep::RunSearch(search_file, search_options);
    if (*sweep_merge) {
      sweep::MergeShards(merge_inputs, merge_out);
      std::cout << "Wrote " << merge_out << "/points.csv, runs.csv, sweep.json and report.html\n";
      return kExitOk;
    }
    if (*sweep_cmd) {
      if (sweep_file.empty()) throw InputError("gputwin sweep: give a SWEEP file");
      if (sweep_options.out_dir.empty()) throw InputError("gputwin sweep: --out DIR is required");
      if (!shard_text.empty() && shard_count > 0)
        throw InputError("give --shard I/N or --shard-count N, not both");
      if (!shard_text.empty()) {
        std::tie(sweep_options.shard_index, sweep_options.shard_count) =
            sweep::ParseShard(shard_text);
      } else if (shard_count > 0) {
        const char* index = std::getenv("JOB_COMPLETION_INDEX");
        const char* from = "JOB_COMPLETION_INDEX";
        if (index == nullptr) {
          index = std::getenv("SLURM_ARRAY_TASK_ID");
          from = "SLURM_ARRAY_TASK_ID";
        }
        if (index == nullptr) {
          throw InputError(
              "--shard-count: neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set");
        }
        try {
          std::tie(sweep_options.shard_index, sweep_options.shard_count) =
              sweep::ParseShard(std::string(index) + "/" + std::to_string(shard_count));
        } catch (const InputError&) {
          throw InputError(std::string(from) + "=\"" + index + "\" is not a shard index below " +
                           std::to_string(shard_count));
        }
      }
      const int code = sweep::RunSweep(sweep_file, sweep_options);
      if (code == kExitOk) {
        std::cout << "Wrote " << sweep_options.out_dir << "/"
                  << (sweep_options.shard_count > 1
                          ? "shard-" + std::to_string(sweep_options.shard_index) + "-of-" +
                                std::to_string(sweep_options.shard_count) + ".json"
                          : std::string("points.csv, runs.csv, sweep.json and report.html"))
                  << "\n";
      }
      return code;
    }
    if (*lint) return Lint(lint_files, lint_format, lint_fail_on, lint_config, lint_output);
    if (*serving) {
      sx.batch = serving::ParsePositiveList(sx_batch, "--batch");
      sx.context = serving::ParsePositiveList(sx_context, "--context");
      sx.prompt = serving::ParsePositiveList(sx_prompt, "--prompt");
      std::cout << serving::RunServingExperiment(sx);
      return kExitOk;
    }
    if (*fgd)
      return ExperimentFgd(fgd_pods, fgd_nodes, fgd_policy, fgd_seeds, fgd_tune, fgd_replay,
                           fgd_placements);
    return Run(ro);
  } catch (const sim::InvariantViolation& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitInternalError;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  }
}

#ifdef GPUTWIN_TCMALLOC_HUGEPAGES
namespace {
// tcmalloc's heap in transparent huge pages, which Debian's kernels give on request
// (THP "madvise"): a month of records otherwise costs a page fault per 4 KiB.
class HugePageSysAllocator : public SysAllocator {
 public:
  explicit HugePageSysAllocator(SysAllocator* inner) : inner_(inner) {}
  void* Alloc(size_t size, size_t* actual_size, size_t alignment) override {
    constexpr size_t kHuge = size_t{2} << 20;
    if (size > SIZE_MAX - kHuge) return nullptr;  // rounded up, it would wrap
    const size_t want = (size + kHuge - 1) & ~(kHuge - 1);
    void* p = inner_->Alloc(want, actual_size, std::max(alignment, kHuge));
    if (p) madvise(p, want, MADV_HUGEPAGE);
    return p;
  }

 private:
  SysAllocator* inner_;
};
void UseHugePages() {
  if (std::getenv("GPUTWIN_NO_HUGEPAGES")) return;
  static HugePageSysAllocator huge(MallocExtension::instance()->GetSystemAllocator());
  MallocExtension::instance()->SetSystemAllocator(&huge);
}
}  // namespace
#else
namespace {
void UseHugePages() {}
}  // namespace
#endif

int main(int argc, char** argv) {
  UseHugePages();
  try {
    return RealMain(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  }
}
