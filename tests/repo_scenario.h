// A scenario of this repository (examples/, tests/scenarios/) loaded as `gputwin run`
// loads it, by its path from the repository root, ready to Run.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "sim/simulation.h"

namespace gputwin::test_support {

inline std::unique_ptr<sim::Simulation> LoadRepoScenario(const std::string& relative_path) {
  return sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/" + relative_path, std::nullopt,
                           std::nullopt);
}

}  // namespace gputwin::test_support
