// Reading a run's inputs: a Scenario file and the manifests it names, or plain manifests
// with a default scenario.
#include "api/manifests.h"
#include "sim/simulation.h"

namespace gputwin::sim {

std::unique_ptr<Simulation> LoadScenario(const std::string& path, std::optional<uint64_t> seed,
                                         std::optional<Duration> until) {
  api::Manifests manifests;
  api::LoadPath(path, &manifests);
  if (manifests.scenarios.size() != 1) {
    throw InputError(path +
                     ": expected exactly one object of kind Scenario (apiVersion "
                     "gputwin.io/v1alpha1), found " +
                     std::to_string(manifests.scenarios.size()) +
                     "; to run plain manifests use `gputwin run -f FILE_OR_DIR --duration 6h`");
  }
  api::Scenario scenario = manifests.scenarios.front();
  manifests.scenarios.clear();
  // Manifests in the scenario file itself count too; then those it names.
  for (const auto& m : scenario.manifests) api::LoadPath(m, &manifests);
  for (const auto& f : scenario.rule_files) api::LoadRuleFile(f, &manifests);
  if (!manifests.scenarios.empty()) {
    throw InputError(scenario.metadata.source, "spec.manifests",
                     "a listed manifest holds another Scenario");
  }
  if (seed) scenario.seed = *seed;
  if (until) scenario.duration = *until;
  return std::make_unique<Simulation>(std::move(manifests), std::move(scenario));
}

std::unique_ptr<Simulation> LoadManifests(const std::vector<std::string>& paths, Duration duration,
                                          std::optional<uint64_t> seed) {
  api::Manifests manifests;
  for (const auto& p : paths) api::LoadPath(p, &manifests);
  api::Scenario scenario;
  if (!manifests.scenarios.empty()) {
    scenario = manifests.scenarios.front();
    manifests.scenarios.clear();
  } else {
    scenario.metadata.name = "manifests";
  }
  scenario.duration = duration;
  if (seed) scenario.seed = *seed;
  return std::make_unique<Simulation>(std::move(manifests), std::move(scenario));
}

}  // namespace gputwin::sim
