// Kubernetes YAML (fuzz_yaml) and Scenario (fuzz_scenario, GPUTWIN_FUZZ_SCENARIO) decoding
// with the API server's validation, as `gputwin validate` reads a file: every input either
// decodes or is refused with an InputError naming the file. Anything else (a crash, a
// sanitizer report, another exception, a hang, memory past the limit) is a finding.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/manifests.h"
#include "core/errors.h"
#include "extreme_mutator.h"

namespace {

#ifdef GPUTWIN_FUZZ_SCENARIO
// A folder that does not exist: spec.manifests entries relative to the scenario are then
// never found, so nothing is read from disk.
constexpr const char* kFile = "/nonexistent-gputwin-fuzz/scenario.yaml";
#else
constexpr const char* kFile = "fuzz.yaml";
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  gputwin::api::Manifests m;
  try {
    gputwin::api::DecodeYaml(text, kFile, &m);
  } catch (const gputwin::InputError& e) {
    // The user must be able to find the mistake: the message starts with the file.
    if (std::string_view(e.what()).rfind(kFile, 0) != 0) {
      std::fprintf(stderr, "InputError without the file name: %s\n", e.what());
      std::abort();
    }
    return 0;
  }
  m.ObjectCount();
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return gputwin::fuzz::MutateExtremes(data, size, max_size, seed);
}
