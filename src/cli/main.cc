// The gputwin command: run, validate, version. Exit codes (docs/cli.md): 0 ok, 1 the run
// broke an expectation the scenario declared, 2 bad input or usage.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "api/manifests.h"
#include "report/summary.h"
#include "sim/simulation.h"

namespace {

using namespace gputwin;

constexpr int kExitOk = 0, kExitExpectationsFailed = 1, kExitBadInput = 2;

// A one-line progress bar on stderr, only when stderr is a terminal.
class TerminalProgress : public sim::Progress {
 public:
  explicit TerminalProgress(Time start) : start_(start) {}
  ~TerminalProgress() override {
    if (drawn_) std::fputs("\r\033[K", stderr);
  }
  void Update(double fraction, Time now) override {
    int pct = static_cast<int>(fraction * 100);
    if (pct == last_) return;
    last_ = pct;
    drawn_ = true;
    int filled = pct / 5;
    std::fprintf(stderr, "\r[%-20s] %3d%%  %s simulated",
                 std::string(static_cast<size_t>(filled), '#').c_str(), pct,
                 FormatDuration(now - start_).c_str());
    std::fflush(stderr);
  }

 private:
  Time start_;
  int last_ = -1;
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

int Run(const std::string& scenario, const std::vector<std::string>& files,
        const std::string& duration, const std::string& out_dir, std::optional<uint64_t> seed,
        const std::string& until, const std::string& format) {
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
  for (const auto& w : simulation->warnings()) std::cerr << "warning: " << w << "\n";
  {
    std::unique_ptr<TerminalProgress> progress;
    if (::isatty(STDERR_FILENO)) progress = std::make_unique<TerminalProgress>(simulation->start());
    simulation->Run(progress.get());
  }
  if (!out_dir.empty()) {
    report::WriteFileAtomically(out_dir, "summary.json", [&](std::ostream& out) {
      report::WriteSummaryJson(out, *simulation);
    });
  }
  if (format == "json") {
    report::WriteSummaryJson(std::cout, *simulation);
  } else {
    std::cout << report::RenderText(*simulation);
    if (!out_dir.empty()) std::cout << "\nWrote " << out_dir << "/summary.json\n";
  }
  return simulation->expectations_passed() ? kExitOk : kExitExpectationsFailed;
}

int Validate(const std::vector<std::string>& files) {
  api::Manifests manifests;
  for (const auto& f : files) api::LoadPath(f, &manifests);
  for (const auto& w : manifests.diagnostics.warnings) std::cerr << "warning: " << w << "\n";
  size_t objects = manifests.nodes.size() + manifests.pods.size() + manifests.deployments.size() +
                   manifests.replica_sets.size() + manifests.jobs.size() +
                   manifests.daemon_sets.size() + manifests.priority_classes.size() +
                   manifests.namespaces.size() + manifests.config_maps.size() +
                   manifests.resource_quotas.size() + manifests.limit_ranges.size() +
                   manifests.scenarios.size() + (manifests.scheduler_config ? 1 : 0);
  // Scenarios also check what they reference and admit every pod template.
  for (auto& s : manifests.scenarios) {
    api::Manifests referenced;
    for (const auto& m : s.manifests) api::LoadPath(m, &referenced);
    sim::Simulation check(std::move(referenced), s);
  }
  std::cout << "valid: " << objects << " object(s) in " << files.size() << " path(s), "
            << manifests.diagnostics.warnings.size() << " warning(s)\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gputwin: a digital twin of a Kubernetes GPU cluster.\n"
      "Exit codes: 0 ok, 1 an expectation of the scenario failed, 2 bad input."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(GPUTWIN_VERSION));

  auto* run =
      app.add_subcommand("run", "Replay a scenario (or plain manifests) on the virtual clock");
  std::string scenario, duration, out_dir, until, format = "text";
  std::vector<std::string> files;
  std::optional<uint64_t> seed;
  run->add_option("SCENARIO", scenario, "Scenario file (kind: Scenario, gputwin.io/v1alpha1)");
  run->add_option("-f,--filename", files,
                  "Plain manifests: files or folders (like kubectl apply -f)");
  run->add_option("--duration", duration,
                  "How long to simulate with -f (Go duration, default 24h)");
  run->add_option("--out", out_dir, "Write summary.json into this folder (created if missing)");
  run->add_option("--seed", seed, "Random seed (overrides spec.seed)");
  run->add_option("--until", until, "Stop the simulation at this offset (Go duration)");
  run->add_option("--format", format, "Output on stdout: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  auto* validate =
      app.add_subcommand("validate", "Check manifests and scenarios without running them");
  std::vector<std::string> validate_files;
  validate->add_option("FILE", validate_files, "Files or folders")->required();

  auto* version = app.add_subcommand("version", "Print the version");

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
    return Run(scenario, files, duration, out_dir, seed, until, format);
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitBadInput;
  }
}
