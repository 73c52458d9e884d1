// The InputError a scenario under tests/sim/data/ gives when loaded ("" when none).
#pragma once

#include <optional>
#include <string>

#include "core/errors.h"
#include "sim/simulation.h"

namespace gputwin {

inline std::string LoadError(const std::string& file) {
  try {
    sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/sim/data/" + file, std::nullopt,
                      std::nullopt);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace gputwin
