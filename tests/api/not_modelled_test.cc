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

TEST(NotModelled, FieldsInTheTableAreWarnedWithWhatUpstreamDoes) {
  // A Job with podReplacementPolicy and a RuntimeClass (Kata or gVisor sandboxes add
  // overhead): both change what the cluster does, neither is modelled.
  Manifests m;
  DecodeYaml(R"(apiVersion: batch/v1
kind: Job
metadata: {name: sandboxed}
spec:
  completions: 12
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      runtimeClassName: kata-qemu
      containers:
      - name: main
        image: docker.io/library/bash:5
  podReplacementPolicy: Failed
)",
             "job.yaml", &m);
  ASSERT_EQ(m.diagnostics.warnings.size(), 2u);
  EXPECT_THAT(m.diagnostics.warnings[0],
              HasSubstr("job.yaml:10: spec.template.spec.runtimeClassName: not modelled: upstream "
                        "the RuntimeClass's overhead is added"));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("job.yaml:14: spec.podReplacementPolicy: not modelled: upstream Failed: "
                        "a replacement pod is created only once the old one has fully terminated"));
  EXPECT_THAT(m.diagnostics.warnings[1],
              HasSubstr("the twin: replacement pods are created as soon as a pod fails"));
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
