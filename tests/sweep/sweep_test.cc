// `gputwin sweep` as a user runs it, on a fixture whose outcome is derived by hand:
// one node, a Job of four 2-GPU pods all created at the start, each running its run time.
// - 4 GPUs: two pods at a time; the second pair is bound when the first ends, so two of
//   the four pods wait one run time (1h: 3600 s, 30m: 1800 s).
// - 8 GPUs: all four are bound at the start; no pod waits.
// The node exists for the 4 h run either way: 4 × 4 = 16 or 8 × 4 = 32 GPU-hours, at
// p3.8xlarge's on-demand price ($12.24 an hour in us-east-1): $48.96; the pods hold
// 4 × 2 GPUs for their run time: 8 GPU-hours (1h) or 4 (30m).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "api/manifests.h"
#include "sweep/sweep.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kFixture = std::string(GPUTWIN_SOURCE_DIR) + "/tests/sweep/fixture";

struct Result {
  int code;
  std::string out;
};

Result Shell(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

Result Gputwin(const std::string& args) {
  return Shell(std::string(GPUTWIN_BINARY) + " " + args);
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Sweep, PointsAreTheProductOfTheAxesInOrder) {
  gputwin::api::Manifests m;
  gputwin::api::LoadPath(kFixture + "/sweep.yaml", &m);
  ASSERT_EQ(m.sweeps.size(), 1u);
  std::vector<std::string> names;
  for (const auto& p : gputwin::sweep::Points(m.sweeps.front())) names.push_back(p.name);
  EXPECT_THAT(names, ::testing::ElementsAre("gpus=4,runtime=1h", "gpus=4,runtime=30m",
                                            "gpus=8,runtime=1h", "gpus=8,runtime=30m"));
  EXPECT_THAT(m.sweeps.front().seeds, ::testing::ElementsAre(1u, 2u));
}

TEST(Sweep, MeanAndConfidenceInterval) {
  // 1, 2, 3: mean 2, sample standard deviation 1, t(0.975, 2) = 4.303.
  const auto [mean, half] = gputwin::sweep::MeanAndCi95({1, 2, 3});
  EXPECT_DOUBLE_EQ(mean, 2.0);
  EXPECT_NEAR(half, 4.303 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(gputwin::sweep::MeanAndCi95({5}).second, 0.0);
}

TEST(SweepCli, EveryPointGivesItsHandDerivedFigures) {
  const fs::path dir = gputwin::test_support::FreshTempDir("sweep-grid");
  const Result r = Gputwin("sweep " + kFixture + "/sweep.yaml --jobs 2 --out " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(Slurp(dir / "sweep.json"));
  EXPECT_EQ(j["kind"], "SweepResult");
  ASSERT_EQ(j["points"].size(), 4u);
  const double wait_p95[] = {3600, 1800, 0, 0};
  const double gpu_hours[] = {16, 16, 32, 32}, allocated[] = {8, 4, 8, 4};
  for (size_t p = 0; p < 4; ++p) {
    const auto& point = j["points"][p];
    SCOPED_TRACE(point["name"].get<std::string>());
    ASSERT_EQ(point["runs"].size(), 2u);  // seeds 1 and 2
    EXPECT_EQ(point["runs"][0]["seed"], 1);
    EXPECT_EQ(point["runs"][1]["seed"], 2);
    EXPECT_DOUBLE_EQ(point["mean"]["podWaitSecondsP95/team-a"].get<double>(), wait_p95[p]);
    EXPECT_DOUBLE_EQ(point["mean"]["podWaitSecondsMax"].get<double>(), wait_p95[p]);
    // Nearest rank: the 2nd of 4 sorted waits (0, 0, w, w) is 0.
    EXPECT_DOUBLE_EQ(point["mean"]["podWaitSecondsP50"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(point["mean"]["gpuHours"].get<double>(), gpu_hours[p]);
    EXPECT_DOUBLE_EQ(point["mean"]["allocatedGpuHours"].get<double>(), allocated[p]);
    EXPECT_NEAR(point["mean"]["cost"].get<double>(), 48.96, 1e-9);
    EXPECT_DOUBLE_EQ(point["mean"]["jobsComplete"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(point["mean"]["podsPending"].get<double>(), 0.0);
    // The workload has no randomness: both seeds agree.
    EXPECT_DOUBLE_EQ(point["ci95"]["podWaitSecondsP95"].get<double>(), 0.0);
    EXPECT_TRUE(fs::exists(dir / ("runs/000" + std::to_string(p) + "-s1") / "summary.json"));
  }
  // One row per point (and a header); one per run.
  const std::string points = Slurp(dir / "points.csv"), runs = Slurp(dir / "runs.csv");
  EXPECT_EQ(std::count(points.begin(), points.end(), '\n'), 5);
  EXPECT_EQ(std::count(runs.begin(), runs.end(), '\n'), 9);
  EXPECT_THAT(points, HasSubstr("point,name,gpus,runtime,runs,cost,cost:ci95,"));
  EXPECT_THAT(points, HasSubstr("\n2,\"gpus=8,runtime=1h\",8,1h,2,"));
  fs::remove_all(dir);
}

TEST(SweepCli, SameTablesWhateverTheJobsAndShards) {
  const fs::path dir = gputwin::test_support::FreshTempDir("sweep-shards");
  const std::string sweep = kFixture + "/sweep.yaml";
  ASSERT_EQ(Gputwin("sweep " + sweep + " --jobs 1 --out " + (dir / "one").string()).code, 0);
  ASSERT_EQ(Gputwin("sweep " + sweep + " --jobs 2 --out " + (dir / "two").string()).code, 0);
  // Three shards as a Kubernetes Indexed Job runs them: the index from the environment,
  // every shard writing into the same shared folder.
  for (int i = 0; i < 3; ++i) {
    const Result r =
        Shell("JOB_COMPLETION_INDEX=" + std::to_string(i) + " " + GPUTWIN_BINARY + " sweep " +
              sweep + " --jobs 1 --shard-count 3 --out " + (dir / "shared").string());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("shard-" + std::to_string(i) + "-of-3.json"));
  }
  EXPECT_FALSE(fs::exists(dir / "shared" / "points.csv"));  // a shard writes no table
  const Result m =
      Gputwin("sweep merge " + (dir / "shared").string() + " --out " + (dir / "merged").string());
  ASSERT_EQ(m.code, 0) << m.out;
  for (const char* f : {"points.csv", "runs.csv", "sweep.json"}) {
    SCOPED_TRACE(f);
    const std::string one = Slurp(dir / "one" / f);
    EXPECT_FALSE(one.empty());
    EXPECT_EQ(one, Slurp(dir / "two" / f));
    EXPECT_EQ(one, Slurp(dir / "merged" / f));
  }
  // A missing shard is refused, not merged into a partial table.
  fs::remove(dir / "shared" / "shard-1-of-3.json");
  const Result partial =
      Gputwin("sweep merge " + (dir / "shared").string() + " --out " + (dir / "partial").string());
  EXPECT_EQ(partial.code, 2);
  EXPECT_THAT(partial.out, HasSubstr("shard 1 of 3 is missing"));
  EXPECT_FALSE(fs::exists(dir / "partial" / "points.csv"));
  fs::remove_all(dir);
}

TEST(SweepCli, APatchThatMeetsNoObjectIsBadInputAtItsLine) {
  const fs::path dir = gputwin::test_support::FreshTempDir("sweep-bad");
  std::ofstream(dir / "sweep.yaml") << "apiVersion: gputwin.io/v1alpha1\n"
                                       "kind: Sweep\n"
                                       "metadata: {name: bad}\n"
                                       "spec:\n"
                                       "  scenario: " +
                                           kFixture + "/scenario.yaml\n" +
                                           "  axes:\n"
                                           "  - name: gpus\n"
                                           "    variants:\n"
                                           "    - name: more\n"
                                           "      patches:\n"
                                           "      - target: {kind: Node, name: nope}\n"
                                           "        patch: {metadata: {labels: {a: b}}}\n";
  const Result r =
      Gputwin("sweep " + (dir / "sweep.yaml").string() + " --out " + (dir / "out").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("sweep.yaml:11"));
  EXPECT_THAT(r.out, HasSubstr("no object matches Node/nope"));
  EXPECT_FALSE(fs::exists(dir / "out" / "sweep.json"));
  // `gputwin validate` makes the same check.
  const Result v = Gputwin("validate " + (dir / "sweep.yaml").string());
  EXPECT_EQ(v.code, 2) << v.out;
  EXPECT_THAT(v.out, HasSubstr("sweep.yaml:11"));
  EXPECT_THAT(v.out, HasSubstr("no object matches Node/nope"));
  fs::remove_all(dir);
}

TEST(SweepCli, AnExplicitListOfPointsAndAWrongVariant) {
  const fs::path dir = gputwin::test_support::FreshTempDir("sweep-points");
  const std::string head =
      "apiVersion: gputwin.io/v1alpha1\n"
      "kind: Sweep\n"
      "metadata: {name: listed}\n"
      "spec:\n"
      "  scenario: " +
      kFixture +
      "/scenario.yaml\n"
      "  axes:\n"
      "  - name: gpus\n"
      "    variants:\n"
      "    - name: \"4\"\n"
      "    - name: \"8\"\n"
      "      patches:\n"
      "      - target: {kind: Node}\n"
      "        type: merge\n"
      "        patch: {status: {allocatable: {nvidia.com/gpu: \"8\"}}}\n"
      "  points:\n";
  std::ofstream(dir / "good.yaml") << head << "  - {gpus: \"8\"}\n";
  const Result r =
      Gputwin("sweep " + (dir / "good.yaml").string() + " --out " + (dir / "out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(Slurp(dir / "out" / "sweep.json"));
  ASSERT_EQ(j["points"].size(), 1u);
  EXPECT_EQ(j["points"][0]["name"], "gpus=8");
  EXPECT_DOUBLE_EQ(j["points"][0]["mean"]["podWaitSecondsP95"].get<double>(), 0.0);
  EXPECT_EQ(j["points"][0]["runs"][0]["seed"], 7);  // no seeds given: the scenario's own
  EXPECT_TRUE(fs::exists(dir / "out" / "runs" / "0000" / "summary.json"));

  std::ofstream(dir / "wrong.yaml") << head << "  - {gpus: \"16\"}\n";
  const Result w =
      Gputwin("sweep " + (dir / "wrong.yaml").string() + " --out " + (dir / "out2").string());
  EXPECT_EQ(w.code, 2);
  EXPECT_THAT(w.out, HasSubstr("wrong.yaml:16"));
  EXPECT_THAT(w.out, HasSubstr("\"16\" is not a variant of axis gpus"));
  fs::remove_all(dir);
}

// The fixture's grid with objectives, derived by hand: the longest wait is one run time
// per extra wave (4 GPUs: 1h or 30m; 8 GPUs: none). "At most 30m" keeps every point but
// gpus=4,runtime=1h; the least GPU-hours among them is gpus=4,runtime=30m (16).
TEST(SweepCli, ObjectivesPickTheCheapestPointThatMeetsThem) {
  const fs::path dir = gputwin::test_support::FreshTempDir("sweep-objectives");
  std::string text = Slurp(kFixture + "/sweep.yaml");
  text.replace(text.find("scenario: scenario.yaml"), 23,
               "scenario: " + kFixture + "/scenario.yaml");
  text += "  objectives:\n  - {figure: podWaitSecondsMax, max: 30m}\n  minimize: gpuHours\n";
  std::ofstream(dir / "sweep.yaml") << text;
  const Result r =
      Gputwin("sweep " + (dir / "sweep.yaml").string() + " --out " + (dir / "out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(Slurp(dir / "out" / "sweep.json"));
  EXPECT_EQ(j["best"]["name"], "gpus=4,runtime=30m");
  EXPECT_EQ(j["best"]["point"], 1);
  EXPECT_DOUBLE_EQ(j["best"]["gpuHours"].get<double>(), 16.0);
  const bool meets[] = {false, true, true, true};
  for (size_t p = 0; p < 4; ++p) EXPECT_EQ(j["points"][p]["meetsObjectives"], meets[p]) << p;
  EXPECT_EQ(j["points"][0]["missed"], nlohmann::json::array({"podWaitSecondsMax"}));
  EXPECT_THAT(Slurp(dir / "out" / "points.csv"), HasSubstr(",meetsObjectives\n"));
  // The page says so, and draws every point, the best ringed, the missing one red.
  const std::string html = Slurp(dir / "out" / "report.html");
  EXPECT_THAT(html, HasSubstr("<b>gpus=4,runtime=30m</b> meets every objective"));
  size_t circles = 0;
  for (size_t at = html.find("<circle"); at != std::string::npos; at = html.find("<circle", at + 1))
    ++circles;
  EXPECT_EQ(circles, 4u);
  EXPECT_THAT(html, HasSubstr("<circle class='point meets best'"));
  EXPECT_THAT(html, HasSubstr("<circle class='point misses'"));

  // A figure that does not exist is bad input before any run, at its line.
  text.replace(text.find("podWaitSecondsMax, max"), 17, "podWaitSecondsMean");
  std::ofstream(dir / "typo.yaml") << text;
  const Result t =
      Gputwin("sweep " + (dir / "typo.yaml").string() + " --out " + (dir / "typo").string());
  EXPECT_EQ(t.code, 2) << t.out;
  EXPECT_THAT(t.out, HasSubstr("\"podWaitSecondsMean\" is not a headline figure"));
  EXPECT_FALSE(fs::exists(dir / "typo" / "runs"));
  fs::remove_all(dir);
}

// gputwin search on the fixture (search.yaml): the node's GPUs g from 2 to 16 by 2 × run
// time r, at most 30 minutes of waiting, the least GPU-hours (g × 4 h). g/2 pods run at
// once, so the longest wait is (ceil(4 / (g/2)) - 1) × r: for 1h it is 0 only from g = 8;
// for 30m it is 30m from g = 4 (2 waves) and 90m at g = 2. The optimum is g = 4, 30m:
// 16 GPU-hours. The descent starts each run time at g = 16 and binary-searches down:
// 1h tries 16, 8 (meets), 4 (misses), 6 (misses); 30m tries 16, 8, 4 (meets), 2 (misses).
TEST(SearchCli, FindsTheHandDerivedOptimumWithoutTheWholeGrid) {
  const fs::path dir = gputwin::test_support::FreshTempDir("search");
  const Result r =
      Gputwin("search " + kFixture + "/search.yaml --jobs 2 --out " + (dir / "out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Best: gpus=4,runtime=30m (gpuHours 16) after 8 of 16 points"));
  const auto j = nlohmann::json::parse(Slurp(dir / "out" / "sweep.json"));
  EXPECT_EQ(j["best"]["name"], "gpus=4,runtime=30m");
  EXPECT_EQ(j["search"]["tried"],
            nlohmann::json::array({"gpus=16,runtime=1h", "gpus=8,runtime=1h", "gpus=4,runtime=1h",
                                   "gpus=6,runtime=1h", "gpus=16,runtime=30m", "gpus=8,runtime=30m",
                                   "gpus=4,runtime=30m", "gpus=2,runtime=30m"}));
  EXPECT_EQ(j["search"]["candidates"],
            nlohmann::json::array({"gpus=8,runtime=1h", "gpus=4,runtime=30m"}));
  // Every point it ran is in the tables, in grid order.
  ASSERT_EQ(j["points"].size(), 8u);
  EXPECT_EQ(j["points"][0]["name"], "gpus=2,runtime=30m");
  EXPECT_DOUBLE_EQ(j["points"][0]["mean"]["podWaitSecondsMax"].get<double>(), 5400.0);
  const std::string csv = Slurp(dir / "out" / "points.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 9);

  // Without objectives there is nothing to search for.
  std::string text = Slurp(kFixture + "/search.yaml");
  text.replace(text.find("scenario: scenario.yaml"), 23,
               "scenario: " + kFixture + "/scenario.yaml");
  text.erase(text.find("  objectives:"));
  std::ofstream(dir / "none.yaml") << text;
  const Result n =
      Gputwin("search " + (dir / "none.yaml").string() + " --out " + (dir / "none").string());
  EXPECT_EQ(n.code, 2) << n.out;
  EXPECT_THAT(n.out, HasSubstr("spec.objectives: Required value"));
  fs::remove_all(dir);
}

// deploy/: the Indexed Job shards as many ways as it has completions (a merge refuses a
// missing shard), each pod's shard index from JOB_COMPLETION_INDEX; the merge Job reads the
// same volume. Both pass the twin's own validation and lint.
TEST(SweepDeploy, TheIndexedJobHasOneShardPerCompletion) {
  const std::string root = GPUTWIN_SOURCE_DIR;
  std::map<std::string, YAML::Node> jobs;
  for (const char* f : {"/deploy/sweep-job.yaml", "/deploy/sweep-merge-job.yaml"}) {
    for (const auto& doc : YAML::LoadAllFromFile(root + f)) {
      if (doc["kind"].as<std::string>() == "Job") jobs[doc["metadata"]["name"].Scalar()] = doc;
    }
  }
  ASSERT_EQ(jobs.count("gputwin-sweep"), 1u);
  const YAML::Node sweep = jobs["gputwin-sweep"]["spec"];
  EXPECT_EQ(sweep["completionMode"].Scalar(), "Indexed");
  const auto args =
      sweep["template"]["spec"]["containers"][0]["args"].as<std::vector<std::string>>();
  const auto at = std::find(args.begin(), args.end(), "--shard-count");
  ASSERT_NE(at, args.end());
  ASSERT_NE(at + 1, args.end());
  EXPECT_EQ(*(at + 1), sweep["completions"].Scalar());
  ASSERT_EQ(jobs.count("gputwin-sweep-merge"), 1u);
  EXPECT_THAT(jobs["gputwin-sweep-merge"]["spec"]["template"]["spec"]["containers"][0]["args"]
                  .as<std::vector<std::string>>(),
              ::testing::ElementsAre("sweep", "merge", "/results", "--out", "/results"));
  EXPECT_EQ(Gputwin("validate " + root + "/deploy").code, 0);
  const Result lint = Gputwin("lint " + root + "/deploy --fail-on note");
  EXPECT_EQ(lint.code, 0) << lint.out;
}

// The Scenario is an object like the others: a variant may patch its spec (here the run's
// length, 4h → 2h: the 4-GPU node then counts 4 × 2 = 8 GPU-hours), and a patch may be
// written as text, as kustomize allows.
TEST(SweepCli, AVariantPatchesTheScenarioItself) {
  const fs::path dir = gputwin::test_support::FreshTempDir("sweep-scenario-patch");
  std::ofstream(dir / "sweep.yaml") << "apiVersion: gputwin.io/v1alpha1\n"
                                       "kind: Sweep\n"
                                       "metadata: {name: length}\n"
                                       "spec:\n"
                                       "  scenario: " +
                                           kFixture + "/scenario.yaml\n" +
                                           "  axes:\n"
                                           "  - name: length\n"
                                           "    variants:\n"
                                           "    - name: 4h\n"
                                           "    - name: 2h\n"
                                           "      patches:\n"
                                           "      - target: {kind: Scenario}\n"
                                           "        patch: |\n"
                                           "          spec: {duration: 2h}\n";
  const Result r =
      Gputwin("sweep " + (dir / "sweep.yaml").string() + " --out " + (dir / "out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(Slurp(dir / "out" / "sweep.json"));
  ASSERT_EQ(j["points"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["points"][0]["mean"]["gpuHours"].get<double>(), 16.0);
  EXPECT_DOUBLE_EQ(j["points"][1]["mean"]["gpuHours"].get<double>(), 8.0);
  fs::remove_all(dir);
}

}  // namespace
