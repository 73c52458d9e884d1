// The gputwin command as a user runs it: exit codes, outputs written atomically and only
// on success, byte-identical results for the same seed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct CliResult {
  int code;
  std::string out;
};

CliResult RunGputwin(const std::string& args) {
  std::string cmd = std::string(GPUTWIN_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

fs::path TempDir(const std::string& name) {
  return gputwin::test_support::FreshTempDir("cli-" + name);
}

std::string SlurpFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kQuickstart =
    std::string(GPUTWIN_SOURCE_DIR) + "/examples/quickstart/scenario.yaml";

TEST(Cli, QuickstartExplainsThePendingPod) {
  fs::path out = TempDir("qs");
  CliResult r = RunGputwin("run " + kQuickstart + " --out " + (out / "o").string());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(
      r.out,
      HasSubstr(
          "0/3 nodes are available: 3 node(s) had untolerated taint {nvidia.com/gpu: present}."));
  EXPECT_TRUE(fs::exists(out / "o" / "summary.json"));
  fs::remove_all(out);
}

TEST(Cli, SameSeedGivesByteIdenticalSummary) {
  fs::path out = TempDir("det");
  ASSERT_EQ(RunGputwin("run " + kQuickstart + " --seed 7 --out " + (out / "a").string()).code, 0);
  ASSERT_EQ(RunGputwin("run " + kQuickstart + " --seed 7 --out " + (out / "b").string()).code, 0);
  EXPECT_EQ(SlurpFile(out / "a" / "summary.json"), SlurpFile(out / "b" / "summary.json"));
  fs::remove_all(out);
}

// --detail summary: the same schema, pods[] and events[] left empty; the totals still count
// every pod (the quickstart's 12 training pods and its Pending inference pod are there).
TEST(Cli, DetailSummaryLeavesOutPodsAndEvents) {
  fs::path out = TempDir("detail");
  ASSERT_EQ(RunGputwin("run " + kQuickstart + " --out " + (out / "full").string()).code, 0);
  CliResult r =
      RunGputwin("run " + kQuickstart + " --detail summary --out " + (out / "s").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto full = nlohmann::json::parse(SlurpFile(out / "full" / "summary.json"));
  const auto small = nlohmann::json::parse(SlurpFile(out / "s" / "summary.json"));
  EXPECT_FALSE(full.contains("detail"));
  EXPECT_EQ(small.at("detail"), "summary");
  EXPECT_GE(full.at("pods").size(), 13u);
  EXPECT_TRUE(small.at("pods").empty());
  EXPECT_TRUE(small.at("events").empty());
  EXPECT_FALSE(full.at("events").empty());
  EXPECT_EQ(small.at("totals"), full.at("totals"));
  EXPECT_EQ(small.at("jobs"), full.at("jobs"));
  EXPECT_EQ(small.at("nodes"), full.at("nodes"));
  // explain needs the pods and events: it says so instead of an empty chain.
  CliResult e = RunGputwin("explain " + (out / "s").string() + " job/default/train");
  EXPECT_EQ(e.code, 2) << e.out;
  EXPECT_THAT(e.out, HasSubstr("written with --detail summary"));
  EXPECT_EQ(RunGputwin("run " + kQuickstart + " --detail some").code, 2);
  // With Kueue: workloads[] is left out too; the ClusterQueues stay.
  const std::string kueue =
      std::string(GPUTWIN_SOURCE_DIR) + "/examples/kueue-two-teams/scenario.yaml";
  ASSERT_EQ(RunGputwin("run " + kueue + " --detail summary --out " + (out / "k").string()).code, 0);
  const auto k = nlohmann::json::parse(SlurpFile(out / "k" / "summary.json"));
  EXPECT_TRUE(k.at("workloads").empty());
  EXPECT_FALSE(k.at("kueue").at("clusterQueues").empty());
  fs::remove_all(out);
}

TEST(Cli, BadInputExitsTwoAndWritesNothing) {
  fs::path dir = TempDir("bad");
  {
    std::ofstream f(dir / "cluster.yaml");
    f << "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
         "    resources:\n      limits:\n        nvidia.com/gpu: two\n";
  }
  CliResult r =
      RunGputwin("run -f " + (dir / "cluster.yaml").string() + " --out " + (dir / "out").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out,
              HasSubstr("cluster.yaml:9: spec.containers[0].resources.limits.nvidia.com/gpu: "
                        "\"two\" is not a quantity"));
  EXPECT_FALSE(fs::exists(dir / "out"));
  fs::remove_all(dir);
}

TEST(Cli, DuplicateNamesAndMissingReferencesAreErrors) {
  fs::path dir = TempDir("dup");
  {
    std::ofstream f(dir / "a.yaml");
    f << "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {capacity: {cpu: '1'}}\n---\n"
         "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {capacity: {cpu: '1'}}\n";
    std::ofstream g(dir / "b.yaml");
    g << "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  priorityClassName: gold\n"
         "  containers: [{name: c}]\n";
  }
  CliResult dup = RunGputwin("run -f " + (dir / "a.yaml").string());
  EXPECT_EQ(dup.code, 2);
  // AlreadyExists, naming where the first one is (kubectl create's answer to the second).
  EXPECT_THAT(dup.out, HasSubstr("a.yaml:6: metadata.name: AlreadyExists: Node \"n\" already "
                                 "exists (" +
                                 (dir / "a.yaml").string() + ":1)"));
  CliResult dup_validate = RunGputwin("validate " + (dir / "a.yaml").string());
  EXPECT_EQ(dup_validate.code, 2) << "validate makes the checks run makes";
  EXPECT_THAT(dup_validate.out, HasSubstr("AlreadyExists: Node \"n\""));
  CliResult missing = RunGputwin("validate " + (dir / "b.yaml").string());
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.out,
              HasSubstr("spec.priorityClassName: no PriorityClass with name gold was found"));
  CliResult run = RunGputwin("run -f " + (dir / "b.yaml").string());
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.out,
              HasSubstr("spec.priorityClassName: no PriorityClass with name gold was found"));
  fs::remove_all(dir);
}

TEST(Cli, BadGpuConfigurationNamesFileLineAndField) {
  fs::path dir = TempDir("gpu");
  {
    std::ofstream f(dir / "plugin.yaml");
    f << "apiVersion: v1\n"                                // 1
         "kind: ConfigMap\n"                               // 2
         "metadata: {name: dp, namespace: kube-system}\n"  // 3
         "data:\n"                                         // 4
         "  default: |-\n"                                 // 5
         "    version: v1\n"                               // 6
         "    sharing:\n"                                  // 7
         "      timeSlicing:\n"                            // 8
         "        resources:\n"                            // 9
         "        - name: nvidia.com/gpu\n"                // 10
         "          replicas: 1\n"                         // 11
         "---\napiVersion: apps/v1\nkind: DaemonSet\n"
         "metadata: {name: nvidia-device-plugin, namespace: kube-system}\n"
         "spec:\n  selector: {matchLabels: {app: dp}}\n  template:\n"
         "    metadata: {labels: {app: dp}}\n    spec:\n      containers:\n"
         "      - name: plugin\n        image: nvcr.io/nvidia/k8s-device-plugin:v0.17.0\n"
         "        env: [{name: CONFIG_FILE, value: /config/config.yaml}]\n"
         "      - name: config-manager\n        image: nvcr.io/nvidia/k8s-device-plugin:v0.17.0\n"
         "        command: [config-manager]\n"
         "      volumes: [{name: available-configs, configMap: {name: dp}}]\n";
    std::ofstream g(dir / "node.yaml");
    g << "apiVersion: v1\nkind: Node\nmetadata:\n  name: n\n"
         "  labels: {nvidia.com/mig.config: too-much}\n"
         "  annotations: {gputwin.io/gpu-model: A100-80GB}\n"
         "status: {allocatable: {cpu: '8'}}\n";
    std::ofstream m(dir / "mig.yaml");
    m << "apiVersion: v1\nkind: Node\nmetadata:\n  name: m\n"
         "  labels: {nvidia.com/mig.config: all-4g.40gb}\n"
         "  annotations: {gputwin.io/gpu-model: T4, gputwin.io/gpu-count: '1'}\n"
         "status: {allocatable: {cpu: '8'}}\n";
    std::ofstream u(dir / "unknown.yaml");
    u << "apiVersion: v1\nkind: Node\nmetadata:\n  name: u\n"
         "  annotations: {gputwin.io/gpu-model: Z9000, gputwin.io/gpu-count: '1'}\n"
         "status: {allocatable: {cpu: '8'}}\n";
  }
  CliResult r = RunGputwin("run -f " + (dir / "plugin.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out,
              HasSubstr("plugin.yaml:11: data.default.sharing.timeSlicing.resources[0].replicas: "
                        "number of replicas must be >= 2"));
  r = RunGputwin("run -f " + (dir / "node.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out,
              HasSubstr("node.yaml:1: metadata.annotations.gputwin.io/gpu-count: Required value"));
  // Only a MIG manager reads the label: without one it is warned and changes nothing.
  r = RunGputwin("run -f " + (dir / "mig.yaml").string());
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("mig.yaml:1: metadata.labels.nvidia.com/mig.config: only NVIDIA's "
                               "MIG manager applies this label"));
  {
    std::ofstream mm(dir / "mig-manager.yaml");
    mm << "apiVersion: apps/v1\nkind: DaemonSet\n"
          "metadata: {name: nvidia-mig-manager, namespace: kube-system}\n"
          "spec:\n  selector: {matchLabels: {app: mm}}\n  template:\n"
          "    metadata: {labels: {app: mm}}\n    spec:\n      containers:\n"
          "      - name: mm\n        image: nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.12.1\n";
  }
  r = RunGputwin("run -f " + (dir / "mig.yaml").string() + " -f " +
                 (dir / "mig-manager.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("mig.yaml:1: metadata.labels.nvidia.com/mig.config: no mig-parted "
                               "config \"all-4g.40gb\" for T4"));
  r = RunGputwin("run -f " + (dir / "unknown.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("unknown GPU model \"Z9000\""));
  fs::remove_all(dir);
}

TEST(Cli, FailedExpectationExitsOne) {
  fs::path dir = TempDir("exp");
  {
    std::ofstream f(dir / "s.yaml");
    f << "apiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec:\n"
         "  duration: 1h\n  expectations:\n  - {pods: p, phase: Running}\n---\n"
         "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n";
  }
  CliResult r = RunGputwin("run " + (dir / "s.yaml").string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("FAIL pods p"));
  // With no nodes at all, kube-scheduler says ErrNoNodesAvailable.
  EXPECT_THAT(r.out, HasSubstr("no nodes available to schedule pods"));
  fs::remove_all(dir);
}

TEST(Cli, UnknownFieldsWarnButRun) {
  fs::path dir = TempDir("warn");
  {
    std::ofstream f(dir / "m.yaml");
    f << "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {flavour: x}\n"
         "status: {capacity: {cpu: '1'}}\n---\napiVersion: example.com/v1\nkind: Gizmo\n"
         "metadata: {name: g}\n";
  }
  CliResult r = RunGputwin("run -f " + (dir / "m.yaml").string() + " --duration 1h --format json");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("m.yaml:4: spec.flavour: unknown field, ignored"));
  EXPECT_THAT(r.out, HasSubstr("m.yaml:7: unknown kind \"Gizmo\""));
  EXPECT_THAT(r.out, HasSubstr("\"kind\": \"SimulationSummary\""));
  fs::remove_all(dir);
}

TEST(Cli, OutputsAreCheckedBeforeTheClockAndKilledWritersLeaveNothing) {
  const fs::path dir = TempDir("outputs");
  // --out naming a file: refused at once (no simulation ran: no report on stdout).
  std::ofstream(dir / "a-file") << "x";
  auto r = RunGputwin("run " + kQuickstart + " --out " + (dir / "a-file").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("--out: " + (dir / "a-file").string() + " is a file, not a folder"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("Expectations")));
  // A temporary left by a writer that was killed (its process is gone) is cleaned up by the
  // next write; only the finished file remains.
  const fs::path out = dir / "out";
  fs::create_directories(out);
  const pid_t gone = 2'000'000'000;  // above any pid_max: no such process
  std::ofstream(out / (".summary.json.tmp." + std::to_string(gone))) << "{half";
  r = RunGputwin("run " + kQuickstart + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"report.html", "summary.json"}));
  fs::remove_all(dir);
}

TEST(Cli, AnInputFilePastTheSizeLimitIsRefusedBeforeReading) {
  // yaml-cpp holds about 25 bytes per byte read: a file past GPUTWIN_MAX_INPUT_MIB (256 by
  // default, 1 here) is refused by its size.
  const fs::path dir = TempDir("big");
  {
    std::ofstream out(dir / "big.yaml");
    out << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n";
    for (int i = 0; i < 40'000; ++i) out << "  k" << i << ": \"" << std::string(40, 'x') << "\"\n";
  }
  ::setenv("GPUTWIN_MAX_INPUT_MIB", "1", 1);
  auto r = RunGputwin("validate " + (dir / "big.yaml").string());
  ::unsetenv("GPUTWIN_MAX_INPUT_MIB");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("big.yaml: 2 MiB, past the 1 MiB limit of one input file"));
  // Under the default limit the same file is read.
  EXPECT_EQ(RunGputwin("validate " + (dir / "big.yaml").string()).code, 0);
  fs::remove_all(dir);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunGputwin("").code, 2);
  EXPECT_EQ(RunGputwin("frobnicate").code, 2);
  EXPECT_EQ(RunGputwin("run --format xml " + kQuickstart).code, 2);
  EXPECT_EQ(RunGputwin("run " + kQuickstart + " --until soon").code, 2);
  EXPECT_EQ(RunGputwin("run --help").code, 0);
  // A seed is a whole number within uint64: -1 and 2^64 would wrap silently.
  for (const char* seed : {"-1", "18446744073709551616", "1e23", "+5"}) {
    auto r = RunGputwin("run " + kQuickstart + " --seed " + seed);
    EXPECT_EQ(r.code, 2) << seed;
    EXPECT_THAT(r.out, HasSubstr("is not a seed")) << seed;
  }
  // Nothing to read is an error, as kubectl apply says of an empty file.
  const fs::path dir = TempDir("empty");
  std::ofstream(dir / "empty.yaml") << "---\n# nothing here\n---\n";
  for (const char* cmd : {"validate ", "run -f "}) {
    auto r = RunGputwin(std::string(cmd) + (dir / "empty.yaml").string());
    EXPECT_EQ(r.code, 2) << cmd;
    EXPECT_THAT(r.out, HasSubstr("empty.yaml: no objects passed")) << cmd;
  }
  fs::remove_all(dir);
  EXPECT_THAT(RunGputwin("version").out, HasSubstr("gputwin "));
}

// validate counts every kind it read: this file holds a Scenario, two PodDisruptionBudgets,
// an EC2NodeClass, a ClusterPolicy, two NodePools, two Jobs and two Deployments.
TEST(Cli, ValidateReadsTheFilesOfApplyActionsAsRunDoes) {
  const std::string data = std::string(GPUTWIN_SOURCE_DIR) + "/tests/sim/data/";
  // An applied file of a kind read only at the start: both refuse it, naming the action.
  for (const char* cmd : {"validate ", "run "}) {
    CliResult r = RunGputwin(cmd + data + "apply_bad_kind.yaml");
    EXPECT_EQ(r.code, 2) << cmd << r.out;
    EXPECT_THAT(r.out, HasSubstr("apply_bad_kind.yaml:7: spec.actions[0].apply"));
  }
  // A Job in an applied file naming a missing WorkloadPriorityClass.
  for (const char* cmd : {"validate ", "run "}) {
    CliResult r = RunGputwin(cmd + data + "apply_job_checked.yaml");
    EXPECT_EQ(r.code, 2) << cmd << r.out;
    EXPECT_THAT(r.out, HasSubstr("workloadPriorityClass \"no-such-class\" not found"));
  }
  CliResult ok = RunGputwin("validate " + std::string(GPUTWIN_SOURCE_DIR) +
                            "/tests/scenarios/kueue_pod_integration.yaml");
  EXPECT_EQ(ok.code, 0) << ok.out;
}

TEST(Cli, LintExitCodesFollowFailOn) {
  const std::string cases = std::string(GPUTWIN_SOURCE_DIR) + "/tests/lint/cases/";
  EXPECT_EQ(RunGputwin("lint " + cases + "good.yaml").code, 0);
  CliResult r = RunGputwin("lint " + cases + "hygiene.yaml");  // warnings only
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("hygiene.yaml:16:9: warning: container main gets "
                               "AWS_ACCESS_KEY_ID from its env"));
  EXPECT_EQ(RunGputwin("lint --fail-on error " + cases + "hygiene.yaml").code, 0);
  EXPECT_EQ(RunGputwin("lint --fail-on error " + cases + "gpu-requests-only.yaml").code, 1);
  // Unreadable input is exit 2, and --output is written only on success.
  fs::path dir = TempDir("lint");
  std::ofstream(dir / "broken.yaml") << "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n";
  r = RunGputwin("lint --format sarif --output " + (dir / "out.sarif").string() + " " +
                 (dir / "broken.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(fs::exists(dir / "out.sarif"));
  r = RunGputwin("lint --format sarif --output " + (dir / "out.sarif").string() + " " + cases +
                 "good.yaml");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(SlurpFile(dir / "out.sarif"), HasSubstr("\"results\": []"));
  fs::remove_all(dir);
}

TEST(Cli, ExplainReadsAClusterSnapshot) {
  // One A10G node, its GPU held by the running replica: the second replica is Pending for
  // Insufficient nvidia.com/gpu, and the snapshot's pods are not created twice.
  const std::string snap =
      std::string(GPUTWIN_SOURCE_DIR) + "/tests/report/data/snapshot-one-gpu.yaml";
  CliResult r = RunGputwin("explain " + snap + " pod/default/llm-6d4b8c-bbbbb");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("owned by Deployment llm"));
  EXPECT_THAT(r.out, HasSubstr("FailedScheduling         0/1 nodes are available: 1 "
                               "Insufficient nvidia.com/gpu."));
  EXPECT_THAT(r.out, HasSubstr("What would change it"));
  r = RunGputwin("explain --format json " + snap + " pod/default/llm-6d4b8c-aaaaa");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"phase\": \"Running\""));
  EXPECT_THAT(r.out, HasSubstr("\"node\": \"gpu-1\""));
  r = RunGputwin("run -f " + snap + " --duration 1m");
  EXPECT_THAT(r.out, HasSubstr("Pods (2 total, 1 Pending, 1 Running)"));
}

TEST(Cli, ProgressOnlyOnATerminal) {
  // On a terminal (util-linux `script` gives the run one) stderr shows the simulated time
  // reached, events per second and the time left; redirected, nothing.
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no `script`";
  const std::string run = std::string(GPUTWIN_BINARY) + " run " + kQuickstart + " >/dev/null";
  FILE* p = popen(("script -qc '" + run + "' /dev/null 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  pclose(p);
  EXPECT_THAT(out, HasSubstr("100%  6h0m0s simulated"));
  EXPECT_THAT(out, HasSubstr("events/s  ETA"));
  CliResult piped = RunGputwin("run " + kQuickstart);
  EXPECT_THAT(piped.out, ::testing::Not(HasSubstr("events/s")));
}

TEST(Cli, ReportHtmlIsTheSameFromTheRunAndFromItsSummary) {
  // run --out draws report.html from the run (its input leaves out node fields the page
  // never reads); gputwin report draws it from the whole summary.json: the same page, byte
  // for byte. Static GPU nodes (quickstart) and Karpenter's NodeClaims (gpu-nodepools-spot).
  for (const std::string& scenario :
       {kQuickstart,
        std::string(GPUTWIN_SOURCE_DIR) + "/examples/gpu-nodepools-spot/scenario.yaml"}) {
    fs::path dir = TempDir("report");
    ASSERT_EQ(RunGputwin("run " + scenario + " --out " + (dir / "run").string()).code, 0);
    ASSERT_EQ(
        RunGputwin("report " + (dir / "run").string() + " --html " + (dir / "again.html").string())
            .code,
        0);
    const std::string first = SlurpFile(dir / "run" / "report.html");
    EXPECT_FALSE(first.empty());
    EXPECT_EQ(first, SlurpFile(dir / "again.html")) << scenario;
    fs::remove_all(dir);
  }
}

TEST(Cli, ReportHtmlCountsEveryNodeBeyondTheGanttRows) {
  // 1,002 nodes of one GPU each: the run's report keeps only the Gantt's first 1,000 rows
  // of nodes[], but its count and the GPU timeline cover all of them, as the report drawn
  // from the whole summary.json does.
  fs::path dir = TempDir("many-nodes");
  {
    std::ofstream f(dir / "nodes.yaml");
    for (int i = 0; i < 1002; ++i) {
      f << "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-" << i
        << "\nstatus:\n  allocatable: {cpu: \"8\", memory: 32Gi, pods: \"110\", "
           "nvidia.com/gpu: \"1\"}\n";
    }
  }
  ASSERT_EQ(RunGputwin("run -f " + (dir / "nodes.yaml").string() + " --duration 1h --out " +
                       (dir / "run").string())
                .code,
            0);
  ASSERT_EQ(
      RunGputwin("report " + (dir / "run").string() + " --html " + (dir / "again.html").string())
          .code,
      0);
  const std::string page = SlurpFile(dir / "run" / "report.html");
  EXPECT_THAT(page, HasSubstr("The first 1000 of 1002 nodes, by creation"));
  EXPECT_THAT(page, HasSubstr("\"gpuCapacity\":[1002.0,"));
  EXPECT_EQ(page, SlurpFile(dir / "again.html"));
  fs::remove_all(dir);
}

TEST(Cli, ValidateCountsEveryKind) {
  CliResult r = RunGputwin("validate " + std::string(GPUTWIN_SOURCE_DIR) +
                           "/tests/scenarios/karpenter_pdb.yaml");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("valid: 11 object(s) in 1 path(s)"));
}

TEST(Cli, ValidateCountsWhatAScenarioReferences) {
  // examples/idle-gpu-alert: the scenario, two Pods and a Job in its own file; its
  // spec.manifests names cluster.yaml: two DaemonSets, a Deployment, three Namespaces
  // and a Node (counted by hand).
  CliResult r = RunGputwin("validate " + std::string(GPUTWIN_SOURCE_DIR) +
                           "/examples/idle-gpu-alert/scenario.yaml");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("valid: 4 object(s) in 1 path(s) and 7 they reference, "));
}

}  // namespace

namespace gputwin {
namespace {

// `validate` checks a scenario against the objects of its own file, as `run` loads it;
// the serving examples keep their cluster in the scenario files. Each example folder
// validates, and `experiment serving` prints its CSV.
TEST(Cli, ValidateAndExperimentServing) {
  const std::string ex = std::string(GPUTWIN_SOURCE_DIR) + "/examples/";
  auto r = RunGputwin("validate " + ex + "serving-cold-start " + ex + "serving-spot-overflow " +
                      ex + "serving-hpa-vs-keda");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("valid:"));
  auto e = RunGputwin(
      "experiment serving --gpu H100 --model meta-llama/Llama-3.1-8B-Instruct --batch 1 "
      "--context 512 --prompt 128");
  EXPECT_EQ(e.code, 0) << e.out;
  EXPECT_THAT(e.out, HasSubstr("phase,batch,context,prompt,ms,tokens_per_s\ndecode,1,512,,"));
  auto bad = RunGputwin("experiment serving --gpu H100 --model nobody/nothing");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("built in are"));
}

}  // namespace
}  // namespace gputwin

namespace {

// KEDA triggers are checked before the run: a schedule robfig/cron would reject and PromQL
// outside the documented subset both stop it with file:line and exit 2.
TEST(Cli, BadKedaTriggersNameFileLineAndField) {
  fs::path dir = TempDir("keda");
  auto write = [&](const std::string& trigger) {
    std::ofstream f(dir / "so.yaml");
    f << "apiVersion: apps/v1\n"                                // 1
         "kind: Deployment\n"                                   // 2
         "metadata: {name: web}\n"                              // 3
         "spec:\n"                                              // 4
         "  selector: {matchLabels: {app: web}}\n"              // 5
         "  template:\n"                                        // 6
         "    metadata: {labels: {app: web}}\n"                 // 7
         "    spec: {containers: [{name: c, image: nginx}]}\n"  // 8
         "---\n"                                                // 9
         "apiVersion: keda.sh/v1alpha1\n"                       // 10
         "kind: ScaledObject\n"                                 // 11
         "metadata: {name: web}\n"                              // 12
         "spec:\n"                                              // 13
         "  scaleTargetRef: {name: web}\n"                      // 14
         "  triggers:\n"                                        // 15
      << trigger;                                               // 16
  };
  write(
      "  - {type: cron, metadata: {timezone: UTC, start: '0 24 * * *', end: '0 18 * * *', "
      "desiredReplicas: '3'}}\n");
  CliResult r = RunGputwin("run -f " + (dir / "so.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("so.yaml:16: metadata.start: error parsing start schedule: end of "
                               "range (24) above maximum (23): 24"));
  write(
      "  - {type: cron, metadata: {timezone: Mars/Base, start: '0 8 * * *', end: '0 18 * * *', "
      "desiredReplicas: '3'}}\n");
  r = RunGputwin("run -f " + (dir / "so.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("so.yaml:16: metadata.timezone:"));
  write(
      "  - {type: prometheus, metadata: {serverAddress: 'http://p:9090', threshold: '5', "
      "query: 'predict_linear(q[5m], 60)'}}\n");
  r = RunGputwin("run -f " + (dir / "so.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("so.yaml:16: metadata.query:"));
  fs::remove_all(dir);
}

}  // namespace

namespace {

// The metrics file is an output like summary.json: the same inputs give the same bytes,
// it ends with OpenMetrics' `# EOF`, and a failed run writes none.
TEST(Cli, MetricsFileIsDeterministicAndComplete) {
  fs::path out = TempDir("metrics");
  const std::string example =
      std::string(GPUTWIN_SOURCE_DIR) + "/examples/idle-gpu-alert/scenario.yaml";
  ASSERT_EQ(RunGputwin("run " + example + " --metrics " + (out / "a.om").string()).code, 0);
  ASSERT_EQ(RunGputwin("run " + example + " --metrics " + (out / "b.om").string()).code, 0);
  const std::string a = SlurpFile(out / "a.om");
  EXPECT_EQ(a, SlurpFile(out / "b.om"));
  EXPECT_TRUE(a.ends_with("# EOF\n"));
  EXPECT_NE(a.find("# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"), std::string::npos);
  EXPECT_NE(a.find("ALERTS{"), std::string::npos);
  CliResult bad = RunGputwin("run " + (out / "missing.yaml").string() + " --metrics " +
                             (out / "c.om").string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_FALSE(fs::exists(out / "c.om"));
  fs::remove_all(out);
}

// --metrics-tsdb writes one block (a ULID folder with chunks/, index, meta.json,
// tombstones) into the data folder: the same inputs give the same block, byte for byte, and
// the OpenMetrics text written with it is the text a run without it writes.
TEST(Cli, MetricsBlockIsDeterministicAndComplete) {
  fs::path out = TempDir("metrics-tsdb");
  const std::string example =
      std::string(GPUTWIN_SOURCE_DIR) + "/examples/idle-gpu-alert/scenario.yaml";
  for (const char* d : {"a", "b"}) {
    const CliResult r = RunGputwin("run " + example + " --metrics-tsdb " + (out / d).string() +
                                   " --metrics " + (out / d).string() + ".om");
    ASSERT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("Wrote TSDB block " + (out / d).string() + "/"), std::string::npos);
  }
  std::vector<fs::path> blocks;
  for (const auto& e : fs::directory_iterator(out / "a")) blocks.push_back(e.path());
  ASSERT_EQ(blocks.size(), 1u);
  const std::string ulid = blocks[0].filename().string();
  EXPECT_EQ(ulid.size(), 26u);
  for (const char* f : {"index", "meta.json", "tombstones", "chunks/000001"}) {
    EXPECT_EQ(SlurpFile(out / "a" / ulid / f), SlurpFile(out / "b" / ulid / f)) << f;
  }
  EXPECT_NE(SlurpFile(out / "a" / ulid / "meta.json").find("\"numSeries\""), std::string::npos);
  ASSERT_EQ(RunGputwin("run " + example + " --metrics " + (out / "c.om").string()).code, 0);
  EXPECT_EQ(SlurpFile(out / "a.om"), SlurpFile(out / "c.om"));
  fs::remove_all(out);
}

}  // namespace
