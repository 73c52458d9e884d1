// Hostile inputs of the classes issue 17 lists, each an input file of this folder: every one
// is refused with an InputError naming the file, the line and the field (exit 2 from the
// CLI), in bounded time and memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "core/errors.h"
#include "sim/simulation.h"

namespace gputwin {
namespace {

using ::testing::HasSubstr;

std::string Refusal(const std::string& name) {
  api::Manifests m;
  try {
    api::LoadPath(std::string(GPUTWIN_SOURCE_DIR) + "/tests/hostile/" + name, &m);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Hostile, ADuplicateKeyNamesBothLines) {
  EXPECT_THAT(Refusal("duplicate_key.yaml"),
              HasSubstr("duplicate_key.yaml:13: spec.containers[0].resources.limits: duplicate "
                        "key \"limits\" (first at line 12)"));
}

// Pod-level resources default their requests to the containers' sum (KEP-2837); a sum
// past int64 milli-units saturates (upstream's Quantity.Add cannot overflow) and is then
// refused against the pod's 4Gi limit (found by the yaml fuzz target). Upstream prints the
// limit as written ("4Gi"); the twin prints its bytes.
TEST(Hostile, PodLevelRequestsSumSaturates) {
  EXPECT_THAT(Refusal("pod_level_resources_sum_overflow.yaml"),
              HasSubstr("pod_level_resources_sum_overflow.yaml:6: spec.resources.requests: "
                        "Invalid value: \"9223372036854775807m\": must be less than or equal "
                        "to memory limit of"));
}

TEST(Hostile, DeepNestingSaysSo) {
  EXPECT_THAT(Refusal("deep_nesting.yaml"),
              HasSubstr("deep_nesting.yaml:5: malformed YAML: nested deeper than the reader "
                        "allows"));
}

TEST(Hostile, AMissingManifestNamesTheScenarioLine) {
  EXPECT_THAT(Refusal("missing_manifest.yaml"),
              HasSubstr("missing_manifest.yaml:8: spec.manifests[0]: Not found: "));
}

TEST(Hostile, NodeQuantitiesAreBounded) {
  EXPECT_THAT(Refusal("negative_allocatable.yaml"),
              HasSubstr("negative_allocatable.yaml:5: status.allocatable[cpu]: Invalid value: "
                        "\"-4\": must be greater than or equal to 0"));
  EXPECT_THAT(Refusal("gpu_count_typo.yaml"),
              HasSubstr("gpu_count_typo.yaml:5: status.allocatable[nvidia.com/gpu]: Invalid "
                        "value: \"9000000000000000\": more than 4096 devices on one node"));
}

TEST(Hostile, WorkPastTheInt64RangeOfNanosecondsNeverEnds) {
  // No refusal: the run goes on, the pod runs to the end of the hour (the expectation says
  // Running), and the invariant checker sees the clock never go back.
  auto sim =
      sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/hostile/checkpoint_every_ns.yaml",
                        std::nullopt, std::nullopt);
  sim->CheckInvariants();
  sim->Run();
  EXPECT_TRUE(sim->expectations_passed());
}

TEST(Hostile, ANodeNearTheInt64RangeIsScoredWithoutOverflow) {
  // LeastAllocated's free x 100 left int64 for this node (scored 0 after wrapping, so the
  // pod went to the small node); by hand the huge node scores 97 and the small one 85.
  auto sim = sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/hostile/huge_node.yaml",
                               std::nullopt, std::nullopt);
  sim->CheckInvariants();
  sim->Run();
  EXPECT_TRUE(sim->expectations_passed());
}

TEST(Hostile, AComplexKeyIsRefused) {
  EXPECT_THAT(Refusal("complex_key.yaml"),
              HasSubstr("complex_key.yaml:7: metadata.labels: a mapping key must be a string, "
                        "not a mapping"));
}

TEST(Hostile, AliasesExpandingAFileAreRefused) {
  // go-yaml's guard has the same words.
  EXPECT_THAT(Refusal("alias_bomb.yaml"),
              HasSubstr("alias_bomb.yaml:6: yaml: document contains excessive aliasing"));
}

TEST(Hostile, NamesAreDnsSubdomainsAndBadBytesAreEscapedInMessages) {
  // ValidateObjectMeta refuses them; the message shows the bytes as Go's %q would, never raw.
  EXPECT_THAT(Refusal("nul_in_name.yaml"),
              HasSubstr("nul_in_name.yaml:4: metadata.name: Invalid value: \"train\\x00er\": a "
                        "lowercase RFC 1123 subdomain must consist of"));
  EXPECT_THAT(Refusal("invalid_utf8_name.yaml"),
              HasSubstr("invalid_utf8_name.yaml:4: metadata.name: Invalid value: "
                        "\"ab\\xff\\xfe\": a lowercase RFC 1123 subdomain"));
}

std::string RunRefusal(const std::string& name) {
  try {
    auto sim = sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/tests/hostile/" + name,
                                 std::nullopt, std::nullopt);
    sim->Run();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Hostile, WorkPastThePodLimitIsRefusedBeforeTheClock) {
  EXPECT_THAT(RunRefusal("replicas_past_limit.yaml"),
              HasSubstr("replicas_past_limit.yaml:13: spec.replicas: Deployment d (2147483647 "
                        "pods) takes the run past its limit of 5000000 pods (spec.maxPods"));
  // 1e300 an hour for an hour, capped in the message.
  EXPECT_THAT(RunRefusal("poisson_past_limit.yaml"),
              HasSubstr("poisson_past_limit.yaml:8: arrival: workload w's arrivals over the run"));
}

TEST(Hostile, TracePodNamesAreNeitherEmptyNorRepeated) {
  EXPECT_THAT(RunRefusal("trace_dup_pods.yaml"),
              HasSubstr("data/dup_pods.csv:4: name: Duplicate value: pod \"p0\" is listed twice "
                        "(first at line 2)"));
  EXPECT_THAT(RunRefusal("trace_unnamed_pod.yaml"),
              HasSubstr("data/unnamed_pod.csv:2: name: Required value: a pod needs a name"));
}

TEST(Hostile, ARunThatReachesThePodLimitStops) {
  // One pod a minute: pods 1-5 are created at 0, 1m, 2m, 3m, 4m; the sixth, at 5m, is refused.
  EXPECT_THAT(RunRefusal("runtime_pod_limit.yaml"),
              HasSubstr("spec.maxPods: the run has created 5 pods, its limit"));
}

// Found by the fuzz targets (fuzz/README.md): each class with its smallest input.

TEST(Hostile, AStrayCommaIsMalformedYaml) {
  // go-yaml's words for the same file (kubectl apply -f); yaml-cpp 0.7 looped forever.
  EXPECT_THAT(Refusal("yaml_stray_comma.yaml"),
              HasSubstr("yaml_stray_comma.yaml:8: malformed YAML: did not find expected node "
                        "content"));
}

TEST(Hostile, AStartTimePastTheInt64RangeIsRefused) {
  // docs/scenario.md: startTime between 1677-09-21T00:12:43.145224192Z and
  // 2262-04-11T23:47:16.854775807Z, the int64 nanoseconds the clock counts.
  EXPECT_THAT(Refusal("start_time_past_2262.yaml"),
              HasSubstr("start_time_past_2262.yaml:8: spec.startTime: \"9999-12-31T23:59:59Z\" "
                        "is outside the times the twin can hold"));
}

TEST(Hostile, APrometheusDurationPastTheInt64RangeIsRefused) {
  // model.ParseDuration refuses it ("out of range"); the twin's word for a duration it
  // cannot read is Prometheus's "not a valid duration string".
  EXPECT_THAT(Refusal("rule_for_past_int64.yaml"),
              HasSubstr("rule_for_past_int64.yaml:12: spec.groups[0].rules[0].for: not a valid "
                        "duration string: \"300y\""));
}

// Go's fmt refuses a width or precision past 10^6 (fmt/print.go tooLarge); C's printf
// tried to allocate 1.2 GB of digits.
TEST(Hostile, AnAlertTemplatePrecisionIsBounded) {
  EXPECT_THAT(RunRefusal("alert_printf_precision.yaml"),
              HasSubstr("alert_printf_precision.yaml:11: annotations.summary: printf width or "
                        "precision past 1000000 in \"{{printf \"%.1205548752f\" $value}}\""));
}

// A pod spec that is a string inside a JobSet's Job template: the webhook's defaulting
// indexed it as a map (found by the yaml fuzz target); the decode refuses it at its line.
TEST(Hostile, AScalarPodSpecInAJobSetIsRefusedAtItsLine) {
  EXPECT_THAT(Refusal("jobset_scalar_pod_spec.yaml"),
              HasSubstr("jobset_scalar_pod_spec.yaml:12: "
                        "spec.replicatedJobs[0].template.spec.template.spec: expected a mapping"));
}

// validateIndexesFormat: one index listed, so succeededCount may be at most 1; counted
// without a flag per completion (found by the yaml fuzz target: 60 s under ASan).
TEST(Hostile, SucceededIndexesOfTwoBillionCompletionsAreCountedByInterval) {
  EXPECT_THAT(Refusal("success_policy_all_completions.yaml"),
              HasSubstr("success_policy_all_completions.yaml:16: "
                        "spec.successPolicy.rules[0].succeededCount: Invalid value: 2: must be "
                        "less than or equal to 1 (the number of indexes in succeededIndexes)"));
}

TEST(Hostile, CatalogNumbersAreBoundedAndNamesParsed) {
  EXPECT_THAT(RunRefusal("catalog_huge_vcpu.yaml"),
              HasSubstr("data/huge_vcpu.csv:2: vcpu: \"1e308\" is out of range [0, 2147483647]"));
  EXPECT_THAT(RunRefusal("catalog_huge_generation.yaml"),
              HasSubstr("data/huge_generation.csv:2: Invalid value: \"p99999999999.xlarge\": "
                        "instance generation 99999999999 is out of range"));
}

TEST(Hostile, TraceMemoryFitsMilliBytes) {
  // 8,796,093,022 MiB is the most an int64 of milli-bytes holds.
  EXPECT_THAT(RunRefusal("trace_huge_memory.yaml"),
              HasSubstr("data/huge_memory_nodes.csv:2: memory_mib: 9000000000 is out of range "
                        "[0, 8796093022]"));
}

TEST(Hostile, PromQLRefusesWhatPrometheusRefuses) {
  // Go's regexp/syntax: "invalid escape sequence" (no backreferences).
  const std::string backreference = RunRefusal("promql_backreference.yaml");
  EXPECT_THAT(backreference, HasSubstr("promql_backreference.yaml:16: expr: PromQL at character"));
  EXPECT_THAT(backreference, HasSubstr("error parsing regexp: invalid escape sequence: `\\2`"));
  // Prometheus's parser checks a call's arguments (round(v, to_nearest=1)).
  EXPECT_THAT(RunRefusal("promql_round_no_argument.yaml"),
              HasSubstr("promql_round_no_argument.yaml:15: expr: PromQL at character 1: expected "
                        "at least 1 argument(s) in call to \"round\", got 0"));
}

TEST(Hostile, PromQLNestedPastTheParsersDepthIsRefused) {
  const std::string deep = RunRefusal("promql_deep_nesting.yaml");
  EXPECT_THAT(deep, HasSubstr("promql_deep_nesting.yaml:16: expr: PromQL at character"));
  EXPECT_THAT(deep, HasSubstr("nested deeper than 256 levels"));
}

TEST(Hostile, AnEbsVolumeIsAtMost64Ti) {
  // io2 Block Express, the largest EBS volume type, goes to 64 TiB.
  EXPECT_THAT(Refusal("ec2nodeclass_volume_past_int64.yaml"),
              HasSubstr("ec2nodeclass_volume_past_int64.yaml:14: "
                        "spec.blockDeviceMappings[0].ebs.volumeSize: Invalid value: "
                        "\"9223372036854775807m\": at most 64Ti (the largest EBS volume)"));
}

// A serving model's config.json (found by fuzz/model_config_fuzzer.cc): a number past
// double's range is refused at its line; sizes that pass one by one (each at most 10^9) but
// multiply past int64 parameters are refused, and so are more heads than hidden units. By hand: 8
// heads of 1.25e8 give q = kv = 1e9, so a layer is 1e9 × (2e9 + 2e9) + 3 × 1e9 × 1e9 = 7e18, and
// 1,000 layers about 7e21.
TEST(Hostile, AModelConfigIsReadOrRefusedAtItsLine) {
  EXPECT_THAT(RunRefusal("model_number_overflow.yaml"),
              HasSubstr("data/number_overflow_config.json:9: not valid JSON: "
                        "[json.exception.out_of_range.406] number overflow parsing '1e309'"));
  EXPECT_THAT(RunRefusal("model_implausible.yaml"),
              HasSubstr("data/implausible_config.json:4: hidden_size: with these sizes the model "
                        "would have about 7e+21 parameters: implausibly large (at most 10^15)"));
  // 8,192 heads over 2,048 hidden units: hidden_size // num_attention_heads is 0.
  EXPECT_THAT(RunRefusal("model_heads_past_hidden.yaml"),
              HasSubstr("data/heads_past_hidden_config.json:5: num_attention_heads: exceeds "
                        "hidden_size (2048): the head dimension would be 0 (state head_dim)"));
}

}  // namespace
}  // namespace gputwin
