// Runs every scenario under tests/scenarios/ and examples/*/ and checks the expectations
// each declares. The expectations are derived by hand from upstream behaviour, cited in
// each file's comments.
#include <gtest/gtest.h>

#include <filesystem>

#include "sim/simulation.h"

namespace gputwin {
namespace {

std::vector<std::string> ScenarioFiles() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  fs::path root(GPUTWIN_SOURCE_DIR);
  for (const auto& e : fs::directory_iterator(root / "tests" / "scenarios")) {
    if (e.path().extension() == ".yaml") out.push_back(e.path().string());
  }
  for (const auto& e : fs::directory_iterator(root / "examples")) {
    if (!e.is_directory()) continue;
    // scenario.yaml and its variants (scenario-without-kueue.yaml, ...).
    for (const auto& f : fs::directory_iterator(e.path())) {
      const std::string name = f.path().filename().string();
      if (name.starts_with("scenario") && f.path().extension() == ".yaml") {
        out.push_back(f.path().string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, ExpectationsHold) {
  auto sim = sim::LoadScenario(GetParam(), std::nullopt, std::nullopt);
  sim->CheckInvariants();  // a broken one throws: the test fails with its message
  sim->Run();
  EXPECT_GT(sim->invariant_checks(), 0u);
  ASSERT_FALSE(sim->expectation_results().empty()) << "a scenario test must expect something";
  for (const auto& r : sim->expectation_results()) {
    EXPECT_TRUE(r.passed) << r.source.Describe() << ": " << r.description << ": " << r.detail;
  }
  for (const auto& w : sim->warnings()) ADD_FAILURE() << "unexpected warning: " << w;
}

std::string Name(const ::testing::TestParamInfo<std::string>& info) {
  std::filesystem::path p(info.param);
  // An example's variants carry its folder's name (two examples may both have a
  // scenario-without-kueue.yaml).
  const bool example = p.parent_path().parent_path().filename() == "examples";
  std::string name = p.stem() == "scenario" ? p.parent_path().filename().string()
                     : example ? p.parent_path().filename().string() + "_" + p.stem().string()
                               : p.stem().string();
  for (auto& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()), Name);

}  // namespace
}  // namespace gputwin
