// The PromQL subset against results worked out by hand from Prometheus's semantics
// (promql/functions.go extrapolatedRate, quantile.go bucketQuantile, 5 m lookback).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "telemetry/promql.h"
#include "telemetry/promql_ast.h"

namespace gputwin::telemetry {
namespace {

const Time kT0{1767225600LL * 1'000'000'000};
Time At(int s) {
  return kT0 + Duration::Seconds(s);
}

class PromQLTest : public ::testing::Test {
 protected:
  PromQLTest() {
    MetricDesc g;
    g.name = "vllm:num_requests_waiting";
    g.label_names = {"pod"};
    reg_.Declare("x", g);
    MetricDesc c;
    c.name = "vllm:generation_tokens_total";
    c.type = MetricType::kCounter;
    c.label_names = {"pod"};
    reg_.Declare("x", c);
    MetricDesc h;
    h.name = "vllm:time_to_first_token_seconds";
    h.type = MetricType::kHistogram;
    h.label_names = {"pod"};
    h.buckets = {0.1, 0.5};
    reg_.Declare("x", h);
    const auto gw = reg_.Find("vllm:num_requests_waiting");
    const auto ct = reg_.Find("vllm:generation_tokens_total");
    const auto ht = reg_.At(reg_.Find("vllm:time_to_first_token_seconds"), {{"pod", "a"}});
    // Scrapes at 0, 30, 60, 90 s: a waits 3, b 5; a's counter grows 30 per scrape.
    for (int t = 0; t <= 90; t += 30) {
      reg_.Set(reg_.At(gw, {{"pod", "a"}}), 3);
      reg_.Set(reg_.At(gw, {{"pod", "b"}}), 5);
      reg_.Set(reg_.At(ct, {{"pod", "a"}}), t);
      if (t == 90) {
        // 2 answers under 0.1 s, 4 more under 0.5 s, 4 slower.
        for (double v : {0.05, 0.05, 0.3, 0.3, 0.3, 0.3, 1.0, 1.0, 1.0, 1.0}) reg_.Observe(ht, v);
      }
      reg_.Sample("x", At(t));
    }
  }
  double One(const std::string& q, int t = 90) {
    auto r = PromQuery::Parse(q).Evaluate(reg_, At(t));
    EXPECT_EQ(r.samples.size(), 1u) << q;
    return r.samples.empty() ? -1 : r.samples[0].value;
  }
  Registry reg_;
};

TEST_F(PromQLTest, AggregatesInstantVectors) {
  EXPECT_EQ(One("sum(vllm:num_requests_waiting)"), 8);
  EXPECT_EQ(One("avg(vllm:num_requests_waiting)"), 4);
  EXPECT_EQ(One("max(vllm:num_requests_waiting{pod=~\"a|b\"})"), 5);
  EXPECT_EQ(One("count(vllm:num_requests_waiting{pod!=\"a\"})"), 1);
  EXPECT_EQ(One("sum(vllm:num_requests_waiting) / 2 + 1"), 5);
  auto by = PromQuery::Parse("sum by (pod) (vllm:num_requests_waiting)").Evaluate(reg_, At(90));
  ASSERT_EQ(by.samples.size(), 2u);
  EXPECT_EQ(by.samples[0].labels.at("pod"), "a");
  // Comparison filters; with bool it gives 0 or 1.
  EXPECT_EQ(PromQuery::Parse("vllm:num_requests_waiting > 4").Evaluate(reg_, At(90)).samples.size(),
            1u);
  EXPECT_EQ(One("sum(vllm:num_requests_waiting > bool 4)"), 1);
  // Past the 5-minute lookback the series are gone.
  EXPECT_TRUE(
      PromQuery::Parse("vllm:num_requests_waiting").Evaluate(reg_, At(391)).samples.empty());
}

// rate(x[1m]) at 90 s sees the points at 60 and 90 (30 apart): delta 30 over 30 s,
// extrapolated 30 s back to the window's start (under 1.1 x the average interval) and
// not past zero (60 s away): 30 x 60/30 / 60 = 1 per second.
TEST_F(PromQLTest, RateExtrapolatesAsPrometheusDoes) {
  EXPECT_DOUBLE_EQ(One("rate(vllm:generation_tokens_total[1m])"), 1.0);
  EXPECT_DOUBLE_EQ(One("increase(vllm:generation_tokens_total[1m])"), 60.0);
  EXPECT_DOUBLE_EQ(One("avg_over_time(vllm:num_requests_waiting{pod=\"a\"}[2m])"), 3.0);
}

// Buckets le=0.1: 2, 0.5: 6, +Inf: 10. The median's rank 5 falls in (0.1, 0.5] holding 4:
// 0.1 + 0.4 x (5 - 2) / 4 = 0.4. The 0.9 quantile falls in +Inf: the highest finite bound.
TEST_F(PromQLTest, HistogramQuantileInterpolatesInTheBucket) {
  EXPECT_NEAR(One("histogram_quantile(0.5, vllm:time_to_first_token_seconds_bucket)"), 0.4, 1e-12);
  EXPECT_NEAR(One("histogram_quantile(0.9, sum by (le) (vllm:time_to_first_token_seconds_bucket))"),
              0.5, 1e-12);
  EXPECT_EQ(One("sum(vllm:time_to_first_token_seconds_count)"), 10);
}

TEST_F(PromQLTest, UnsupportedQueriesAreErrorsNotZeros) {
  EXPECT_THROW(PromQuery::Parse("topk(1, vllm:num_requests_waiting)"), std::invalid_argument);
  EXPECT_THROW(PromQuery::Parse("vllm:num_requests_waiting @ 1767225600"), std::invalid_argument);
  EXPECT_THROW(PromQuery::Parse("sum(vllm:num_requests_waiting"), std::invalid_argument);
  EXPECT_THROW(PromQuery::Parse("a and"), std::invalid_argument);
  EXPECT_THROW(PromQuery::Parse("predict_linear(a[5m], 60)"), std::invalid_argument);
  try {
    PromQuery::Parse("sum(rate(x[5q]))");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("character"));
  }
}

}  // namespace
}  // namespace gputwin::telemetry

namespace gputwin::telemetry {
namespace {

// A target that went away (its pod deleted) leaves a staleness marker: an instant
// selector no longer sees the series, while rate() over a window holding its earlier
// samples still counts them (Prometheus drops stale markers from range vectors). Counter
// at 0, 30, 60, 90 s (+30 per scrape), marker at 100 s; at 120 s over [2m]: samples at 30,
// 60, 90 (60..90 s stretch), delta 60 over 60 s sampled; to the window's start (0 s) is
// 30 s, within 1.1 x the 30 s spacing, and so is the end (30 s): extrapolated to 120 s,
// 120 / 120 s = 1 per second.
TEST(PromQLStaleness, RetiredSeriesLeaveInstantVectorsButCountInRanges) {
  Registry reg;
  MetricDesc c;
  c.name = "tokens_total";
  c.type = MetricType::kCounter;
  c.label_names = {"pod"};
  reg.Declare("x", c);
  const auto s = reg.At(reg.Find("tokens_total"), {{"pod", "a"}});
  for (int t = 0; t <= 90; t += 30) {
    reg.Set(s, 30 + t);
    reg.Sample("x", kT0 + Duration::Seconds(t));
  }
  reg.Retire(s, kT0 + Duration::Seconds(100));
  const Time at = kT0 + Duration::Seconds(120);
  EXPECT_TRUE(PromQuery::Parse("tokens_total").Evaluate(reg, at).samples.empty());
  const auto r = PromQuery::Parse("rate(tokens_total[2m])").Evaluate(reg, at);
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(r.samples[0].value, 1.0);
}

}  // namespace
}  // namespace gputwin::telemetry

namespace gputwin::telemetry {
namespace {

// Set operators and vector matching as engine.go does them, on a hand-made registry:
// GPU utilisation per pod (a 5 %, b 50 %, c 3 %) and pod phases (a, b Running; c Pending).
class PromQLMatchingTest : public ::testing::Test {
 protected:
  PromQLMatchingTest() {
    MetricDesc u;
    u.name = "DCGM_FI_DEV_GPU_UTIL";
    u.label_names = {"gpu", "pod"};
    reg_.Declare("x", u);
    MetricDesc p;
    p.name = "kube_pod_status_phase";
    p.label_names = {"pod", "phase"};
    reg_.Declare("x", p);
    const auto uf = reg_.Find("DCGM_FI_DEV_GPU_UTIL");
    const auto pf = reg_.Find("kube_pod_status_phase");
    for (auto [gpu, pod, v] : {std::tuple{"0", "a", 5.0}, {"1", "b", 50.0}, {"2", "c", 3.0}}) {
      reg_.Set(reg_.At(uf, {{"gpu", gpu}, {"pod", pod}}), v);
    }
    for (auto [pod, running] : {std::pair{"a", true}, {"b", true}, {"c", false}}) {
      reg_.Set(reg_.At(pf, {{"pod", pod}, {"phase", "Running"}}), running ? 1 : 0);
      reg_.Set(reg_.At(pf, {{"pod", pod}, {"phase", "Pending"}}), running ? 0 : 1);
    }
    for (int t = 0; t <= 600; t += 30) reg_.Sample("x", At(t));
  }
  std::map<std::string, double> ByPod(const std::string& q) {
    std::map<std::string, double> out;
    for (const auto& s : PromQuery::Parse(q).Evaluate(reg_, At(600)).samples) {
      out[s.labels.count("pod") ? s.labels.at("pod") : ""] = s.value;
    }
    return out;
  }
  Registry reg_;
};

// The seeds' idle-GPU rule: under 10 % and the pod Running. a (5 %, Running) only: c is
// idle but Pending, b is busy.
TEST_F(PromQLMatchingTest, TheIdleGpuRuleMatchesOnPod) {
  const auto r =
      ByPod("DCGM_FI_DEV_GPU_UTIL < 10 and on(pod) kube_pod_status_phase{phase=\"Running\"} == 1");
  EXPECT_EQ(r, (std::map<std::string, double>{{"a", 5}}));
  EXPECT_EQ(
      ByPod("DCGM_FI_DEV_GPU_UTIL < 10 unless on(pod) kube_pod_status_phase{phase=\"Running\"} "
            "== 1"),
      (std::map<std::string, double>{{"c", 3}}));
  // or: the left side, then right samples whose signature the left lacks (all of them here:
  // different label sets).
  EXPECT_EQ(PromQuery::Parse("DCGM_FI_DEV_GPU_UTIL or kube_pod_status_phase")
                .Evaluate(reg_, At(600))
                .samples.size(),
            9u);
}

// Arithmetic with on(): one-to-one keeps only the on labels; group_left keeps the many
// side's labels and copies the included ones from the one side.
TEST_F(PromQLMatchingTest, OnIgnoringAndGroupLeft) {
  const auto one =
      PromQuery::Parse("DCGM_FI_DEV_GPU_UTIL * on(pod) kube_pod_status_phase{phase=\"Running\"}")
          .Evaluate(reg_, At(600));
  ASSERT_EQ(one.samples.size(), 3u);
  for (const auto& s : one.samples) EXPECT_EQ(s.labels.size(), 1u);  // just pod
  const auto many = PromQuery::Parse(
                        "DCGM_FI_DEV_GPU_UTIL * on(pod) group_left(phase) "
                        "kube_pod_status_phase{phase=\"Running\"}")
                        .Evaluate(reg_, At(600));
  ASSERT_EQ(many.samples.size(), 3u);
  for (const auto& s : many.samples) {
    EXPECT_TRUE(s.labels.count("gpu"));
    EXPECT_EQ(s.labels.at("phase"), "Running");
  }
  // Matching on pod without group_left: two phase series per pod on the right side.
  EXPECT_THROW(PromQuery::Parse("DCGM_FI_DEV_GPU_UTIL * on(pod) kube_pod_status_phase")
                   .Evaluate(reg_, At(600)),
               std::invalid_argument);
}

// offset, absent, label_replace, changes.
TEST_F(PromQLMatchingTest, OffsetAbsentLabelReplaceChanges) {
  EXPECT_EQ(ByPod("DCGM_FI_DEV_GPU_UTIL offset 5m").at("b"), 50);
  EXPECT_EQ(ByPod("absent(DCGM_FI_DEV_GPU_UTIL{pod=\"zz\"})").at("zz"), 1);
  EXPECT_TRUE(ByPod("absent(DCGM_FI_DEV_GPU_UTIL)").empty());
  const auto r =
      PromQuery::Parse(
          "label_replace(DCGM_FI_DEV_GPU_UTIL, \"device\", \"nvidia$1\", \"gpu\", \"(.*)\")")
          .Evaluate(reg_, At(600));
  ASSERT_EQ(r.samples.size(), 3u);
  for (const auto& s : r.samples) EXPECT_EQ(s.labels.at("device"), "nvidia" + s.labels.at("gpu"));
  EXPECT_EQ(ByPod("changes(DCGM_FI_DEV_GPU_UTIL[5m])").at("a"), 0);
}

// label_replace expands as Go's ExpandString (Prometheus's functions.md: "$1", "$name"), and
// its regex is anchored at both ends: "(.)" does not match a two-letter pod name.
TEST_F(PromQLMatchingTest, LabelReplaceExpandsAsGo) {
  auto labels_of = [&](const std::string& q) {
    std::map<std::string, std::string> out;
    for (const auto& s : PromQuery::Parse(q).Evaluate(reg_, At(600)).samples) {
      out[s.labels.at("pod")] = s.labels.count("x") ? s.labels.at("x") : "(none)";
    }
    return out;
  };
  // Pods a, b, c: "(?P<first>.)" names the one letter.
  const auto named = labels_of(
      "label_replace(DCGM_FI_DEV_GPU_UTIL, \"x\", \"pod-${first}$$\", \"pod\", \"(?P<first>.)\")");
  EXPECT_EQ(named.at("a"), "pod-a$");
  EXPECT_EQ(named.at("c"), "pod-c$");
  // "$1x" is the group named "1x", which does not exist: x is set to "" and so not set.
  const auto empty =
      labels_of("label_replace(DCGM_FI_DEV_GPU_UTIL, \"x\", \"$1x\", \"pod\", \"(.)\")");
  EXPECT_EQ(empty.at("b"), "(none)");
  // Anchored: ".." does not match "a", so the sample keeps its labels.
  const auto anchored =
      labels_of("label_replace(DCGM_FI_DEV_GPU_UTIL, \"x\", \"y\", \"pod\", \"..\")");
  EXPECT_EQ(anchored.at("a"), "(none)");
  EXPECT_THROW(
      PromQuery::Parse("label_replace(DCGM_FI_DEV_GPU_UTIL, \"x\", \"y\", \"pod\", \"a**\")")
          .Evaluate(reg_, At(600)),
      std::invalid_argument);
}

// Prometheus 3 (the 3.0 migration guide, "Regular expressions match newlines") anchors a
// matcher's pattern as ^(?s:re)$: `.` matches a newline too, and the whole value must match.
TEST(PromRegexp, DotMatchesANewlineAndTheWholeValueMustMatch) {
  const auto dot = promql_ast::CompilePromRegexp("a.b");
  EXPECT_TRUE(dot.MatchString("a\nb"));
  EXPECT_FALSE(dot.MatchString("xa\nb"));  // anchored at the start
  EXPECT_FALSE(dot.MatchString("a\nbx"));  // and at the end
  EXPECT_TRUE(promql_ast::CompilePromRegexp("line.*").MatchString("line one\nline two"));
  // An alternation stays inside the anchors: "a|b" does not match "ab".
  EXPECT_FALSE(promql_ast::CompilePromRegexp("a|b").MatchString("ab"));
}

}  // namespace
}  // namespace gputwin::telemetry
