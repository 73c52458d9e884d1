// The GPU model table belongs to one run: a model a scenario defines (spec.gpuModels)
// is unknown to the next simulation in the same process.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

TEST(GpuModelsPerRun, ScenarioModelDoesNotLeakIntoTheNextRun) {
  const std::string root = GPUTWIN_SOURCE_DIR;
  auto first = sim::LoadScenario(root + "/tests/scenarios/gpu_operator_custom_model.yaml",
                                 std::nullopt, std::nullopt);
  first->Run();
  ASSERT_TRUE(first->expectations_passed());
  try {
    sim::LoadScenario(root + "/tests/sim/data/uses_g2_without_defining_it.yaml", std::nullopt,
                      std::nullopt);
    FAIL() << "G2 was remembered from the previous run";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown GPU model \"G2\""), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace gputwin
