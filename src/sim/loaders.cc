// Reading a run's inputs: a Scenario file and the manifests it names, or plain manifests
// with a default scenario.
#include "api/manifests.h"
#include "sim/simulation.h"

namespace gputwin::sim {

namespace {

// The files of `apply` actions are read before the clock starts, so a bad one is an
// input error (exit 2) and not a surprise an hour into the run.
void LoadAppliedFiles(api::Scenario* scenario, api::Manifests* manifests) {
  for (size_t i = 0; i < scenario->actions.size(); ++i) {
    auto& a = scenario->actions[i];
    if (a.action != "apply") continue;
    auto m = std::make_shared<api::Manifests>();
    m->patches = manifests->patches;  // a Sweep's patches reach applied objects too
    api::LoadPath(a.apply_file, m.get());
    m->patches = nullptr;
    const size_t applicable = m->nodes.size() + m->pods.size() + m->jobs.size() +
                              m->deployments.size() + m->stateful_sets.size();
    if (applicable == 0 || applicable != m->ObjectCount()) {
      throw InputError(a.source, "spec.actions[" + std::to_string(i) + "].apply",
                       a.apply_file +
                           ": only Node, Pod, Job, Deployment and StatefulSet objects can be "
                           "applied during a run (other kinds are read at the start: list them "
                           "in spec.manifests)");
    }
    for (auto& w : m->diagnostics.warnings) manifests->diagnostics.warnings.push_back(w);
    m->diagnostics.warnings.clear();
    a.applied = std::move(m);
  }
}

}  // namespace

void LoadReferencedInputs(api::Scenario* scenario, api::Manifests* manifests) {
  for (const auto& m : scenario->manifests) api::LoadPath(m, manifests);
  for (const auto& f : scenario->rule_files) api::LoadRuleFile(f, manifests);
  if (!manifests->scenarios.empty()) {
    throw InputError(scenario->metadata.source, "spec.manifests",
                     "a listed manifest holds another Scenario");
  }
  LoadAppliedFiles(scenario, manifests);
}

std::unique_ptr<Simulation> LoadScenario(const std::string& path, std::optional<uint64_t> seed,
                                         std::optional<Duration> until, api::PatchSet* patches) {
  api::Manifests manifests;
  manifests.patches = patches;
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
  LoadReferencedInputs(&scenario, &manifests);
  if (patches != nullptr) patches->CheckAllMatched();
  manifests.patches = nullptr;
  if (seed) scenario.seed = *seed;
  if (until) scenario.duration = *until;
  return std::make_unique<Simulation>(std::move(manifests), std::move(scenario));
}

std::unique_ptr<Simulation> LoadManifests(const std::vector<std::string>& paths, Duration duration,
                                          std::optional<uint64_t> seed) {
  api::Manifests manifests;
  for (const auto& p : paths) api::LoadPath(p, &manifests);
  if (manifests.documents == 0 && !paths.empty()) {
    throw InputError(paths.front() + ": no objects passed (the input holds no Kubernetes object)");
  }
  api::Scenario scenario;
  if (!manifests.scenarios.empty()) {
    scenario = manifests.scenarios.front();
    manifests.scenarios.clear();
  } else {
    scenario.metadata.name = "manifests";
  }
  LoadAppliedFiles(&scenario, &manifests);
  scenario.duration = duration;
  if (seed) scenario.seed = *seed;
  return std::make_unique<Simulation>(std::move(manifests), std::move(scenario));
}

}  // namespace gputwin::sim
