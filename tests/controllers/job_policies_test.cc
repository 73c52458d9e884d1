// The Job controller's policies, with cases from upstream's own tests
// (pkg/controller/job/pod_failure_policy_test.go, success_policy_test.go,
// indexed_job_utils_test.go) and API validation (pkg/apis/batch/validation).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/manifests.h"
#include "controllers/job.h"
#include "controllers/job_policies.h"
#include "core/index_list.h"

namespace gputwin::controllers {
namespace {

using ::testing::HasSubstr;

cluster::PodRecord FailedPod(int32_t exit_code, std::string disruption = "") {
  static auto tmpl = [] {
    auto t = std::make_shared<cluster::PodTemplateInfo>();
    api::Container main, sidecar;
    main.name = "main-container";
    sidecar.name = "a-sidecar";
    api::PodSpec spec;
    spec.containers = {main, sidecar};
    t->spec = std::make_shared<const api::PodSpec>(std::move(spec));
    return t;
  }();
  cluster::PodRecord p;
  p.namespace_ = "default";
  p.name = "mypod";
  p.tmpl = tmpl;
  p.phase = cluster::PodPhase::kFailed;
  p.exit_code = exit_code;
  p.disruption_target = std::move(disruption);
  return p;
}

api::PodFailurePolicyRule OnExitCodes(std::string action, std::string op,
                                      std::vector<int32_t> values,
                                      std::optional<std::string> container = std::nullopt) {
  api::PodFailurePolicyRule r;
  r.action = std::move(action);
  r.on_exit_codes = true;
  r.exit_code_operator = std::move(op);
  r.exit_code_values = std::move(values);
  r.container_name = std::move(container);
  return r;
}

api::PodFailurePolicyRule OnCondition(std::string action, std::string type,
                                      std::string status = "True") {
  api::PodFailurePolicyRule r;
  r.action = std::move(action);
  r.on_pod_conditions = {{std::move(type), std::move(status)}};
  return r;
}

TEST(PodFailurePolicy, FailJobOnAnExitCodeNamesContainerPodCodeAndRule) {
  // "fail job with multiple pod failure policy rules": the second rule matches exit 5.
  auto m = MatchPodFailurePolicy(
      {OnExitCodes("Ignore", "In", {1, 2, 3}), OnExitCodes("FailJob", "In", {5, 6, 7})},
      FailedPod(5));
  EXPECT_EQ(m.action, "FailJob");
  EXPECT_TRUE(m.count_failed);
  EXPECT_EQ(m.fail_job_message,
            "Container main-container for pod default/mypod failed with exit code 5 matching "
            "FailJob rule at index 1");
}

TEST(PodFailurePolicy, IgnoreIsNotCountedAndTheFirstMatchingRuleWins) {
  auto m = MatchPodFailurePolicy(
      {OnExitCodes("Ignore", "In", {1, 2, 3}), OnExitCodes("FailJob", "In", {1, 2, 3})},
      FailedPod(2));
  EXPECT_EQ(m.action, "Ignore");
  EXPECT_FALSE(m.count_failed);
  EXPECT_TRUE(m.fail_job_message.empty());
}

TEST(PodFailurePolicy, NotInMatchesAnyOtherNonZeroCodeAndNoRuleCountsAsUsual) {
  EXPECT_EQ(MatchPodFailurePolicy({OnExitCodes("Count", "NotIn", {1, 2})}, FailedPod(3)).action,
            "Count");
  // No rule matched: counted, no action ("no policy rule matched").
  auto none = MatchPodFailurePolicy({OnExitCodes("FailJob", "NotIn", {1, 2})}, FailedPod(2));
  EXPECT_EQ(none.action, "");
  EXPECT_TRUE(none.count_failed);
}

TEST(PodFailurePolicy, ExitCodeRulesSkipContainersWithoutATerminatedState) {
  // A pod whose node vanished has no terminated container: only condition rules apply.
  auto lost = FailedPod(-1, "DeletionByPodGC");
  EXPECT_EQ(MatchPodFailurePolicy({OnExitCodes("FailJob", "NotIn", {0})}, lost).action, "");
  auto m = MatchPodFailurePolicy(
      {OnExitCodes("FailJob", "NotIn", {0}), OnCondition("Ignore", "DisruptionTarget")}, lost);
  EXPECT_EQ(m.action, "Ignore");
}

TEST(PodFailurePolicy, ContainerNameRestrictsTheExitCodeCheck) {
  // The workload's own exit is the first container's; a rule for the sidecar does not match.
  EXPECT_EQ(
      MatchPodFailurePolicy({OnExitCodes("FailJob", "In", {5}, "a-sidecar")}, FailedPod(5)).action,
      "");
  // An evicted pod's containers all die of SIGTERM: the sidecar's 143 matches.
  auto evicted = FailedPod(143, "EvictionByEvictionAPI");
  evicted.exit_all_containers = true;
  auto m = MatchPodFailurePolicy({OnExitCodes("FailJob", "In", {143}, "a-sidecar")}, evicted);
  EXPECT_THAT(m.fail_job_message, HasSubstr("Container a-sidecar for pod default/mypod"));
}

TEST(PodFailurePolicy, ConditionRulesMatchTypeAndStatus) {
  auto evicted = FailedPod(143, "PreemptionByScheduler");
  EXPECT_EQ(
      MatchPodFailurePolicy({OnCondition("FailJob", "DisruptionTarget", "False")}, evicted).action,
      "");
  auto m = MatchPodFailurePolicy({OnCondition("FailJob", "DisruptionTarget")}, evicted);
  EXPECT_EQ(m.fail_job_message,
            "Pod default/mypod has condition DisruptionTarget matching FailJob rule at index 0");
  // A pod that failed on its own has no DisruptionTarget condition.
  EXPECT_EQ(MatchPodFailurePolicy({OnCondition("Ignore", "DisruptionTarget")}, FailedPod(1)).action,
            "");
}

std::vector<bool> Indexes(const std::string& text, int32_t n) {
  std::vector<bool> out;
  EXPECT_FALSE(ParseIndexList(text, n, &out).has_value()) << text;
  return out;
}

TEST(SuccessPolicy, RulesAsUpstreamMatchesThem) {
  api::SuccessPolicyRule listed{"0-2", std::nullopt};
  api::SuccessPolicyRule listed_count{"0,2-3", 1};
  api::SuccessPolicyRule count_only{std::nullopt, 3};
  // Every listed index must succeed without succeededCount.
  EXPECT_FALSE(MatchSuccessPolicy({listed}, Indexes("0,1", 10)));
  EXPECT_EQ(MatchSuccessPolicy({listed}, Indexes("0-3", 10)), "Matched rules at index 0");
  // succeededCount of the listed ones (the docs' job-success-policy example: index 2 alone).
  EXPECT_EQ(MatchSuccessPolicy({listed, listed_count}, Indexes("2", 10)),
            "Matched rules at index 1");
  EXPECT_FALSE(MatchSuccessPolicy({listed_count}, Indexes("1,4-9", 10)));
  EXPECT_FALSE(MatchSuccessPolicy({count_only}, Indexes("7,9", 10)));
  EXPECT_EQ(MatchSuccessPolicy({count_only}, Indexes("1,7,9", 10)), "Matched rules at index 0");
  // No succeeded index: never met.
  EXPECT_FALSE(MatchSuccessPolicy({api::SuccessPolicyRule{std::nullopt, 0}}, Indexes("", 3)));
}

TEST(IndexList, WrittenAsStatusCompletedIndexes) {
  // indexed_job_utils_test.go: "1,3-5,7"; two neighbours stay a list.
  EXPECT_EQ(FormatIndexList(Indexes("1,3-5,7", 10)), "1,3-5,7");
  EXPECT_EQ(FormatIndexList(Indexes("0-1,4", 10)), "0,1,4");
  EXPECT_EQ(FormatIndexList(Indexes("", 10)), "");
  std::vector<bool> out;
  EXPECT_THAT(*ParseIndexList("3,1", 10, &out), HasSubstr("not ordered"));
  EXPECT_THAT(*ParseIndexList("0-10", 10, &out), HasSubstr("index 10 is not below 10"));
  EXPECT_THAT(*ParseIndexList("1-a", 10, &out), HasSubstr("\"1-a\""));
}

// gputwin.io/exit-code-by-index keeps its entries' intervals (a "0-1048575" entry is one
// interval, not a million map entries made for every pod); a later entry naming an index
// overrides an earlier one, as in docs/annotations.md's "0,2,4-8=1;1=42".
TEST(IndexList, ExitCodeByIndexKeepsIntervalsLaterEntryWins) {
  cluster::PodBehavior b;
  b.exit_code = 7;
  std::vector<IndexInterval> all, three;
  ASSERT_FALSE(ParseIndexIntervals("0-1048575", 1 << 20, &all).has_value());
  ASSERT_FALSE(ParseIndexIntervals("3", 1 << 20, &three).has_value());
  ASSERT_EQ(all.size(), 1u);
  for (const auto& in : all) b.exit_code_by_index.push_back({in, 1});
  for (const auto& in : three) b.exit_code_by_index.push_back({in, 42});
  EXPECT_EQ(b.ExitCode(3), 42);
  EXPECT_EQ(b.ExitCode(4), 1);
  EXPECT_EQ(b.ExitCode(1048575), 1);
  EXPECT_EQ(b.ExitCode(1048576), 7);
}

std::string ErrorOf(const std::string& yaml) {
  try {
    api::Manifests m;
    api::DecodeYaml(yaml, "job.yaml", &m);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

const char* kJobHead = R"(apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]
)";

TEST(JobValidation, PolicyFieldsAreValidatedAsTheApiServerDoes) {
  EXPECT_THAT(ErrorOf(std::string(kJobHead) + R"(  podFailurePolicy:
    rules: [{action: FailIndex, onExitCodes: {operator: In, values: [1]}}]
)"),
              HasSubstr("job.yaml:10: spec.podFailurePolicy.rules[0].action: Invalid value: "
                        "\"FailIndex\": requires the backoffLimitPerIndex to be set"));
  EXPECT_THAT(ErrorOf(std::string(kJobHead) + R"(  podFailurePolicy:
    rules: [{action: FailJob, onExitCodes: {operator: In, values: [0, 1]}}]
)"),
              HasSubstr("must not be 0 for the In operator"));
  EXPECT_THAT(ErrorOf(std::string(kJobHead) + R"(  podFailurePolicy:
    rules: [{action: FailJob, onExitCodes: {operator: In, values: [3, 1]}}]
)"),
              HasSubstr("must be ordered"));
  EXPECT_THAT(ErrorOf(std::string(kJobHead) + R"(  podFailurePolicy:
    rules: [{action: FailJob, onExitCodes: {containerName: other, operator: In, values: [1]}}]
)"),
              HasSubstr("must be one of the container or initContainer names"));
  EXPECT_THAT(ErrorOf(std::string(kJobHead) + "  backoffLimitPerIndex: 1\n"),
              HasSubstr("spec.backoffLimitPerIndex: Invalid value: 1: requires indexed "
                        "completion mode"));
  EXPECT_THAT(ErrorOf(std::string(kJobHead) + R"(  completionMode: Indexed
  completions: 4
  successPolicy:
    rules: [{succeededIndexes: "0-4"}]
)"),
              HasSubstr("spec.successPolicy.rules[0].succeededIndexes: Invalid value: \"0-4\""));
  // The docs' FailIndex example with restartPolicy OnFailure.
  std::string on_failure = kJobHead;
  on_failure.replace(on_failure.find("Never"), 5, "OnFailure");
  EXPECT_THAT(ErrorOf(on_failure + R"(  podFailurePolicy:
    rules: [{action: Ignore, onPodConditions: [{type: DisruptionTarget}]}]
)"),
              HasSubstr("only \"Never\" is supported when podFailurePolicy is specified"));
}

// validateIndexesFormat counts interval by interval (y - x + 1 each), so a rule naming
// every index of a Job of 2^31-1 completions is checked without expanding them: the fuzzer
// found the expanding check taking 15 s under ASan.
TEST(JobValidation, SucceededIndexesAreCountedByInterval) {
  int64_t count = -1;
  EXPECT_FALSE(CountIndexList("0-2147483646", INT32_MAX, &count).has_value());
  EXPECT_EQ(count, 2147483647);
  EXPECT_FALSE(CountIndexList("1,3-5,7", 10, &count).has_value());
  EXPECT_EQ(count, 5);
  EXPECT_THAT(*CountIndexList("3,1", 10, &count), HasSubstr("not ordered"));
  const std::string huge = std::string(kJobHead) + R"(  completionMode: Indexed
  completions: 2147483647
  successPolicy:
    rules: [{succeededIndexes: "0,2-2147483646", succeededCount: COUNT}]
)";
  auto with_count = [&](const std::string& n) {
    std::string y = huge;
    y.replace(y.find("COUNT"), 5, n);
    return y;
  };
  // 1 + 2147483645 indexes listed: the count may be that many, not one more.
  EXPECT_EQ(ErrorOf(with_count("2147483646")), "no error");
  EXPECT_THAT(ErrorOf(with_count("2147483647")),
              HasSubstr("spec.successPolicy.rules[0].succeededCount: Invalid value: 2147483647: "
                        "must be less than or equal to 2147483646"));
}

TEST(JobValidation, BackoffLimitDefaultsToMaxInt32WithBackoffLimitPerIndex) {
  api::Manifests m;
  api::DecodeYaml(std::string(kJobHead) +
                      "  completionMode: Indexed\n  completions: 3\n"
                      "  backoffLimitPerIndex: 2\n",
                  "job.yaml", &m);
  ASSERT_EQ(m.jobs.size(), 1u);
  EXPECT_EQ(m.jobs[0].backoff_limit, INT32_MAX);
  EXPECT_EQ(m.jobs[0].backoff_limit_per_index, 2);
}

// The success policy ends an Indexed Job once its rule is met; the pods still running are
// deleted and the Job is Complete with reason SuccessPolicy (docs: "Job success policy").
TEST(JobController, SuccessPolicyCompletesTheJobAndDeletesTheRest) {
  cluster::Store store;
  EventQueue queue;
  JobController jobs(&store, &queue);
  store.AddNamespace("default");
  api::Job j;
  j.metadata.name = "leader-worker";
  j.metadata.namespace_ = "default";
  j.parallelism = 4;
  j.completions = 4;
  j.completion_mode = "Indexed";
  j.success_policy = {api::SuccessPolicyRule{"0", std::nullopt}};
  j.template_->spec.restart_policy = "Never";
  api::Container c;
  c.name = "c";
  j.template_->spec.containers.push_back(c);
  const uint32_t id = store.AddJob(j);
  auto run = [&] {
    while (!queue.empty() && queue.top().at <= Time{0}) {
      Event e = queue.Pop();
      e.handler->OnEvent(e.at, e.arg);
    }
  };
  run();
  ASSERT_EQ(store.pod_count(), 4u);
  for (cluster::PodId p = 0; p < 4; ++p) store.SetPodPhase(p, cluster::PodPhase::kRunning);
  // Index 3 succeeding is not enough; the leader (index 0) is.
  for (cluster::PodId p = 0; p < 4; ++p) {
    if (store.pod(p).completion_index == 3) store.SetPodPhase(p, cluster::PodPhase::kSucceeded);
  }
  run();
  EXPECT_EQ(store.jobs()[id].condition, "");
  for (cluster::PodId p = 0; p < 4; ++p) {
    if (store.pod(p).completion_index == 0) store.SetPodPhase(p, cluster::PodPhase::kSucceeded);
  }
  run();
  EXPECT_EQ(store.jobs()[id].condition, "Complete");
  EXPECT_EQ(store.jobs()[id].condition_reason, "SuccessPolicy");
  EXPECT_EQ(store.jobs()[id].condition_message, "Matched rules at index 0");
  int deleted = 0;
  for (cluster::PodId p = 0; p < 4; ++p) deleted += store.pod(p).deleted ? 1 : 0;
  EXPECT_EQ(deleted, 2);  // indexes 1 and 2
}

}  // namespace
}  // namespace gputwin::controllers
