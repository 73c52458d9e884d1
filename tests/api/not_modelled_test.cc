// The table of fields the twin understands but does not model: a manifest using one is
// warned with file:line and field, and docs/not-modelled.md lists every entry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/manifests.h"
#include "api/not_modelled.h"

namespace gputwin::api {
namespace {

using ::testing::HasSubstr;

TEST(NotModelled, AJobsPodFailurePolicyIsWarnedWithWhatUpstreamDoes) {
  // Kubernetes' own example (concepts/workloads/controllers/job: "Handling retriable and
  // non-retriable pod failures with Pod failure policy"), with a pod-level resources stanza.
  Manifests m;
  DecodeYaml(R"(apiVersion: batch/v1
kind: Job
metadata: {name: job-pod-failure-policy-example}
spec:
  completions: 12
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      resources: {limits: {cpu: "1"}}
      containers:
      - name: main
        image: docker.io/library/bash:5
        command: ["bash"]
        args: ["-c", "echo 'Hello world!' && sleep 5 && exit 42"]
  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: main, operator: In, values: [42]}
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
)",
             "job.yaml", &m);
  ASSERT_EQ(m.diagnostics.warnings.size(), 2u);
  EXPECT_THAT(m.diagnostics.warnings[0],
              HasSubstr("job.yaml:10: spec.template.spec.resources: not modelled: upstream "
                        "pod-level requests and limits"));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("job.yaml:18: spec.podFailurePolicy: not modelled: upstream matches "
                        "failed pods' exit codes"));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("the twin: every failed pod counts against backoffLimit"));
}

TEST(NotModelled, TheDocListsEveryField) {
  std::ifstream in(std::string(GPUTWIN_SOURCE_DIR) + "/docs/not-modelled.md");
  std::stringstream doc;
  doc << in.rdbuf();
  for (const auto& f : NotModelledFields()) {
    EXPECT_THAT(doc.str(), HasSubstr(std::string("| ") + f.kind + " | `" + f.path + "` | " +
                                     f.upstream + " | " + f.twin + " |"))
        << f.kind << " " << f.path;
  }
}

}  // namespace
}  // namespace gputwin::api
