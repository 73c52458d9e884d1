// Strange and hostile input: every document here must give an InputError or warnings,
// never a crash, hang or sanitizer report.
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "sim/simulation.h"

namespace gputwin::api {
namespace {

const char* const kDocs[] = {
    "",
    "---\n---\n",
    "just a string",
    "- a\n- b\n",
    "apiVersion: v1\nkind: [Pod]\n",
    "apiVersion: v1\nkind: Pod\n",
    "apiVersion: v1\nkind: Pod\nmetadata: []\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: []\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {}}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [1, 2]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: [x]}\nspec: {containers: [{name: "
    "c}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: {b: c}}}\nspec: {containers: "
    "[{name: c}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: "
    "{limits: {cpu: [1]}}}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: "
    "{limits: {cpu: 1e999999}}}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: "
    "{limits: {memory: 99999999999Ei}}}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {priority: 99999999999, containers: "
    "[{name: c}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {tolerations: [{key: a, operator: "
    "Sometimes}], containers: [{name: c}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {affinity: {nodeAffinity: "
    "{requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}}}, containers: "
    "[{name: c}]}\n",
    "apiVersion: v1\nkind: List\nitems: 7\n",
    "apiVersion: v1\nkind: List\nitems: [7]\n",
    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\n",
    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {taints: [{key: a, effect: "
    "Sometimes}]}\nstatus: {capacity: {cpu: '1'}}\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: -1}\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {selector: {matchLabels: "
    "{a: b}}, template: {metadata: {labels: {a: c}}, spec: {containers: [{name: c}]}}}\n",
    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {completionMode: Indexed, "
    "template: {spec: {restartPolicy: Never, containers: [{name: c}]}}}\n",
    "apiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {duration: -5m}\n",
    "apiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {actions: [{at: "
    "1h, action: explode, target: x}]}\n",
    "apiVersion: gputwin.io/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {workloads: "
    "[{name: w, arrival: {type: poisson, ratePerHour: 0}, template: {kind: Pod}}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {gputwin.io/run-time: "
    "forever}}\nspec: {containers: [{name: c}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {gputwin.io/exit-code: "
    "'300'}}\nspec: {containers: [{name: c}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {gputwin.io/gpu-utilization: "
    "'1.5'}}\nspec: {containers: [{name: c}]}\n",
    "{{{{",
    "apiVersion: v1\nkind: Pod\nmetadata: &a {name: p}\nspec: *a\n",
    "apiVersion: v1\n\tkind: Pod\n",
};

TEST(HostileInput, NeverCrashes) {
  int errors = 0, accepted = 0;
  for (const char* doc : kDocs) {
    Manifests m;
    try {
      DecodeYaml(doc, "hostile.yaml", &m);
      // What decodes must also survive a short run.
      api::Scenario s;
      s.duration = Duration::Hours(1);
      if (!m.scenarios.empty()) s = m.scenarios.front();
      m.scenarios.clear();
      sim::Simulation run(std::move(m), s);
      run.Run();
      ++accepted;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("hostile.yaml"), std::string::npos) << e.what();
      ++errors;
    }
  }
  // Only the two empty inputs are valid; everything else is a clear error.
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(errors, static_cast<int>(std::size(kDocs)) - 2);
}

}  // namespace
}  // namespace gputwin::api
