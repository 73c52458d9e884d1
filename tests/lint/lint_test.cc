// gputwin lint: each rule on a file made to break it (tests/lint/cases, expectations in
// their first line, derived from the rule's upstream reason), quiet on good files and on
// the upstream examples of tests/realworld (each finding there justified in lint.yaml),
// and SARIF 2.1.0's required shape.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "lint/lint.h"

namespace gputwin::lint {
namespace {

namespace fs = std::filesystem;

std::multiset<std::string> Got(const std::string& path) {
  std::multiset<std::string> out;
  for (const auto& f : Lint(LoadForLint({path}), Config{})) {
    out.insert(f.rule + "@" + std::to_string(f.where.line));
  }
  return out;
}

std::multiset<std::string> Expected(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::string prefix = "# expect: ";
  EXPECT_TRUE(line.starts_with(prefix)) << path << ": first line must be \"# expect: ...\"";
  std::multiset<std::string> out;
  std::string rest = line.substr(std::min(line.size(), prefix.size()));
  if (rest == "none") return out;
  size_t at = 0;
  while (at < rest.size()) {
    size_t comma = std::min(rest.find(',', at), rest.size());
    std::string item = rest.substr(at, comma - at);
    item.erase(0, item.find_first_not_of(' '));
    if (!item.empty()) out.insert(item);
    at = comma + 1;
  }
  return out;
}

TEST(Lint, EachCaseReportsWhatItsFirstLineSays) {
  const fs::path dir = fs::path(GPUTWIN_SOURCE_DIR) / "tests/lint/cases";
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    ++files;
    EXPECT_EQ(Got(e.path().string()), Expected(e.path().string())) << e.path();
  }
  EXPECT_GE(files, 9);
}

TEST(Lint, EveryRuleIsDocumentedAndExercised) {
  std::ifstream doc(fs::path(GPUTWIN_SOURCE_DIR) / "docs/lint.md");
  std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  std::set<std::string> seen;
  for (const auto& e : fs::directory_iterator(fs::path(GPUTWIN_SOURCE_DIR) / "tests/lint/cases")) {
    if (e.path().extension() != ".yaml") continue;
    for (const auto& item : Expected(e.path().string()))
      seen.insert(item.substr(0, item.find('@')));
  }
  for (const auto& r : Rules()) {
    EXPECT_NE(text.find("## " + std::string(r.id)), std::string::npos) << r.id << " not in docs";
    EXPECT_TRUE(seen.count(r.id)) << r.id << " has no case";
  }
}

TEST(Lint, UpstreamExamplesRaiseOnlyJustifiedFindings) {
  const fs::path root = fs::path(GPUTWIN_SOURCE_DIR) / "tests/realworld";
  std::map<std::string, std::multiset<std::string>> expected;
  for (const auto& e : YAML::LoadFile((root / "lint.yaml").string())) {
    ASSERT_TRUE(e["why"]) << "every finding needs a why";
    expected[e["file"].as<std::string>()].insert(e["rule"].as<std::string>() + "@" +
                                                 e["line"].as<std::string>());
  }
  int linted = 0;
  for (const auto& dir : {"karpenter", "keda", "kubernetes", "kueue", "nvidia"}) {
    for (const auto& e : fs::directory_iterator(root / dir)) {
      const std::string rel = std::string(dir) + "/" + e.path().filename().string();
      std::multiset<std::string> got;
      try {
        for (const auto& f : Lint(LoadForLint({e.path().string()}), Config{})) {
          got.insert(f.rule + "@" + std::to_string(f.where.line));
        }
      } catch (const InputError&) {
        continue;  // refused as validate refuses it (cases.yaml says why)
      }
      ++linted;
      EXPECT_EQ(got, expected[rel]) << rel;
    }
  }
  EXPECT_GE(linted, 60);
}

TEST(Lint, SarifHasTheShapeOfSarif210) {
  const std::string path = std::string(GPUTWIN_SOURCE_DIR) + "/tests/lint/cases/hygiene.yaml";
  const auto findings = Lint(LoadForLint({path}), Config{});
  const auto j = nlohmann::json::parse(FormatSarif(findings, "1.0"));
  EXPECT_EQ(j.at("version"), "2.1.0");
  ASSERT_EQ(j.at("runs").size(), 1u);
  const auto& run = j.at("runs")[0];
  EXPECT_EQ(run.at("tool").at("driver").at("name"), "gputwin");
  const auto& rules = run.at("tool").at("driver").at("rules");
  ASSERT_EQ(run.at("results").size(), findings.size());
  for (const auto& r : run.at("results")) {
    // ruleIndex points at the rule with that id; locations carry a 1-based region.
    EXPECT_EQ(rules.at(r.at("ruleIndex").get<size_t>()).at("id"), r.at("ruleId"));
    EXPECT_THAT(std::string(r.at("level")), ::testing::AnyOf("error", "warning", "note"));
    const auto& loc = r.at("locations")[0].at("physicalLocation");
    EXPECT_EQ(loc.at("artifactLocation").at("uri"), "file://" + path);  // absolute: a file URI
    EXPECT_GE(loc.at("region").at("startLine").get<int>(), 1);
  }
  // A clean run still has a results array.
  const auto clean = nlohmann::json::parse(FormatSarif({}, "1.0"));
  EXPECT_TRUE(clean.at("runs")[0].at("results").is_array());
  EXPECT_TRUE(clean.at("runs")[0].at("results").empty());
}

TEST(Lint, ConfigDisablesAndRegradesRules) {
  const fs::path dir = fs::temp_directory_path() / ("gputwin-lint-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "lint.yaml") << "apiVersion: gputwin.io/v1alpha1\nkind: LintConfig\n"
                                      "disable: [image-not-pinned]\n"
                                      "severity: {cloud-credentials-in-env: error}\n";
  const Config c = LoadConfig((dir / "lint.yaml").string());
  const auto findings =
      Lint(LoadForLint({std::string(GPUTWIN_SOURCE_DIR) + "/tests/lint/cases/hygiene.yaml"}), c);
  for (const auto& f : findings) {
    EXPECT_NE(f.rule, "image-not-pinned");
    if (f.rule == "cloud-credentials-in-env") {
      EXPECT_EQ(f.severity, Severity::kError);
    }
  }
  std::ofstream(dir / "bad.yaml") << "disable: [no-such-rule]\n";
  try {
    LoadConfig((dir / "bad.yaml").string());
    ADD_FAILURE() << "unknown rule accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(),
                ::testing::HasSubstr("bad.yaml:1: disable: unknown rule \"no-such-rule\""));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gputwin::lint
