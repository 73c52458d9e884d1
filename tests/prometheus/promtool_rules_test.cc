// The twin's rule evaluation against the real thing: the idle-GPU example's scraped series
// and its rule file become a `promtool test rules` file (input_series every 30 s from time
// 0, as the run scraped them from its start; alert_rule_test with the alerts the twin says
// are firing at chosen times; promql_expr_test for the recording rule), and promtool must
// agree. Needs Debian's prometheus package (promtool); skipped with a note without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "prometheus/rule_manager.h"
#include "sim/simulation.h"
#include "telemetry/openmetrics.h"
#include "telemetry/promql.h"

namespace gputwin::prometheus {
namespace {

namespace fs = std::filesystem;

std::string Quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string SeriesText(const std::string& name, const telemetry::Labels& l) {
  std::string out = name + "{";
  bool first = true;
  for (const auto& [k, v] : l) {
    out += (first ? "" : ",") + k + "=\"" + Quote(v) + "\"";
    first = false;
  }
  return out + "}";
}

TEST(PromtoolRules, PromtoolAgreesWithTheTwinsAlerts) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian's prometheus package; scripts/setup.sh "
                    "installs it)";
  }
  const std::string example = std::string(GPUTWIN_SOURCE_DIR) + "/examples/idle-gpu-alert/";
  auto sim = sim::LoadScenario(example + "scenario.yaml", std::nullopt, std::nullopt);
  sim->SpoolMetrics();
  sim->Run();
  const auto& reg = sim->metrics();
  const auto* spool = reg.spool();
  const Time start = sim->start();
  const Duration step = Duration::Seconds(30);
  const int64_t steps = (sim->end() - start).ns / step.ns;
  std::string yaml = "rule_files: [" + example +
                     "rules.yaml]\nevaluation_interval: 1m\ntests:\n"
                     "- interval: 30s\n  input_series:\n";
  // Every series of the families the rules read, one value per 30 s from the start.
  int exported = 0;
  for (const char* family : {"DCGM_FI_DEV_GPU_UTIL", "kube_pod_status_phase"}) {
    for (auto sid : reg.family(reg.Find(family)).series) {
      const uint32_t stream = reg.SpoolStream(sid);
      if (stream == telemetry::Registry::kNoStream) continue;
      std::vector<std::string> values(static_cast<size_t>(steps + 1), "_");
      spool->ForEach(stream, [&](Time at, double v) {
        const int64_t k = (at - start).ns / step.ns;
        if ((at - start).ns % step.ns == 0 && k >= 0 && k <= steps) {
          values[static_cast<size_t>(k)] = fmt::format("{}", v);
        }
      });
      std::string joined;
      for (const auto& v : values) joined += (joined.empty() ? "" : " ") + v;
      yaml += "  - series: '" + SeriesText(family, reg.series(sid).labels) + "'\n";
      yaml += "    values: '" + joined + "'\n";
      ++exported;
    }
  }
  ASSERT_GT(exported, 4);
  // The alerts the twin has firing at each check time.
  yaml += "  alert_rule_test:\n";
  for (int minutes : {30, 31, 60, 119}) {
    const Time at = start + Duration::Minutes(minutes);
    yaml += fmt::format("  - eval_time: {}m\n    alertname: GPUUnderutilised\n    exp_alerts:",
                        minutes);
    int firing = 0;
    for (const auto& a : sim->rules()->alerts()) {
      if (!a.fired || a.firing_at > at || (a.resolved && a.resolved_at <= at)) continue;
      ++firing;
      yaml += "\n    - exp_labels:\n";
      for (const auto& [k, v] : a.labels) {
        if (k != "alertname") yaml += "        " + k + ": \"" + Quote(v) + "\"\n";
      }
      yaml += "      exp_annotations:\n";
      for (const auto& [k, v] : a.annotations) yaml += "        " + k + ": \"" + Quote(v) + "\"\n";
    }
    if (firing == 0) yaml += " []\n";
    EXPECT_EQ(firing, minutes >= 31 ? 2 : 0) << minutes;
  }
  // The recording rule, as the twin's PromQL computes it at 60 minutes.
  const auto rec = telemetry::PromQuery::Parse("namespace:gpu_utilisation:avg")
                       .Evaluate(reg, start + Duration::Minutes(119));
  ASSERT_EQ(rec.samples.size(), 1u);
  yaml +=
      "  promql_expr_test:\n  - expr: namespace:gpu_utilisation:avg\n    eval_time: 119m\n"
      "    exp_samples:\n    - labels: 'namespace:gpu_utilisation:avg{namespace=\"research\"}'\n" +
      fmt::format("      value: {}\n", rec.samples[0].value);
  const fs::path dir =
      fs::temp_directory_path() / ("gputwin-promtool-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "test.yaml") << yaml;
  const std::string cmd = "promtool test rules " + (dir / "test.yaml").string() + " > " +
                          (dir / "promtool.log").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream log(dir / "promtool.log");
  std::stringstream ss;
  ss << log.rdbuf();
  EXPECT_EQ(rc, 0) << ss.str();
  if (rc == 0 && !std::getenv("GPUTWIN_KEEP")) fs::remove_all(dir);
}

}  // namespace
}  // namespace gputwin::prometheus
