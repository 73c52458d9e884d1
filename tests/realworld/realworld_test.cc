// Real manifests from upstream repositories (cases.yaml names each file's repository,
// path and commit): `gputwin validate` must accept, warn about or refuse each one as
// derived from what the upstream system does with it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace {

struct Case {
  std::string file, why, error;
  std::string gap;  // a known difference from upstream, still to mend: the case is skipped
  std::vector<std::string> with, warn;
  int exit = 0;
  int warnings = -1;  // exact count; -1: not checked
  std::string name;   // test name
};

std::vector<Case> LoadCases() {
  std::vector<Case> out;
  const std::string dir = std::string(GPUTWIN_SOURCE_DIR) + "/tests/realworld/";
  YAML::Node root = YAML::LoadFile(dir + "cases.yaml");
  for (const auto& c : root["cases"]) {
    Case k;
    k.file = c["file"].as<std::string>();
    k.why = c["why"].as<std::string>();
    k.exit = c["exit"].as<int>();
    if (c["warnings"]) k.warnings = c["warnings"].as<int>();
    if (c["error"]) k.error = c["error"].as<std::string>();
    if (c["gap"]) k.gap = c["gap"].as<std::string>();
    if (c["warn"]) k.warn = c["warn"].as<std::vector<std::string>>();
    if (c["with"]) k.with = c["with"].as<std::vector<std::string>>();
    // A test name from the path: kueue/sample-job.yaml -> kueue_sample_job (+ _with_N).
    for (char ch : k.file.substr(0, k.file.size() - 5)) {
      k.name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    }
    if (!k.with.empty()) k.name += "_with_" + std::to_string(k.with.size());
    for (const auto& o : out) {
      if (o.name == k.name) k.name += "_" + std::to_string(out.size());
    }
    out.push_back(std::move(k));
  }
  return out;
}

struct ValidateResult {
  int code;
  std::string out;
};

ValidateResult Validate(const Case& c) {
  // Run from the suite's folder so messages name files as cases.yaml does.
  std::string cmd = "cd '" + std::string(GPUTWIN_SOURCE_DIR) + "/tests/realworld' && " +
                    std::string(GPUTWIN_BINARY) + " validate " + c.file;
  for (const auto& w : c.with) cmd += " " + w;
  cmd += " 2>&1 </dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

class RealWorld : public ::testing::TestWithParam<Case> {};

TEST_P(RealWorld, ValidateSaysWhatUpstreamWould) {
  const Case& c = GetParam();
  if (!c.gap.empty()) GTEST_SKIP() << c.file << ": known gap: " << c.gap;
  SCOPED_TRACE(c.file + ": " + c.why);
  ValidateResult r = Validate(c);
  EXPECT_EQ(r.code, c.exit) << r.out;
  if (!c.error.empty()) {
    EXPECT_THAT(r.out, ::testing::HasSubstr(c.error));
  }
  for (const auto& w : c.warn) EXPECT_THAT(r.out, ::testing::HasSubstr(w));
  if (c.warnings >= 0) {
    int n = 0;
    for (size_t at = r.out.find("warning: "); at != std::string::npos;
         at = r.out.find("warning: ", at + 1)) {
      ++n;
    }
    EXPECT_EQ(n, c.warnings) << r.out;
  }
  // Nothing passes silently as an unknown kind: every kind is read, modelled or warned.
  EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr("unknown kind"))) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Upstream, RealWorld, ::testing::ValuesIn(LoadCases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// Small runs of upstream files (runs/*.yaml name them in spec.manifests): every expectation,
// derived in the file's comment, must pass.
TEST(RealWorldSuite, RunsOfUpstreamFilesMeetTheirExpectations) {
  const std::string dir = std::string(GPUTWIN_SOURCE_DIR) + "/tests/realworld/runs";
  int runs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    ++runs;
    std::string cmd =
        std::string(GPUTWIN_BINARY) + " run '" + e.path().string() + "' 2>&1 </dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf;
    while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    EXPECT_EQ(WEXITSTATUS(pclose(p)), 0) << e.path() << "\n" << out;
    EXPECT_THAT(out, ::testing::HasSubstr("PASS")) << e.path();
  }
  EXPECT_GE(runs, 2);
}

TEST(RealWorldSuite, HasAtLeastSixtyUpstreamFiles) {
  std::set<std::string> files;
  for (const auto& c : LoadCases()) files.insert(c.file);
  EXPECT_GE(files.size(), 60u);
}

}  // namespace
