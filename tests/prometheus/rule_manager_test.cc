// Prometheus rule evaluation (rules/alerting.go) against timelines worked out by hand.
#include <gtest/gtest.h>

#include <set>

#include "prometheus/alert_template.h"
#include "prometheus/rule_manager.h"
#include "sim/simulation.h"
#include "telemetry/promql.h"

namespace gputwin::prometheus {
namespace {

// The idle-GPU example (examples/idle-gpu-alert/scenario.yaml explains the derivation):
// both notebooks' GPUs go pending at the 1-minute evaluation and fire 30 minutes later, at
// 31 minutes; the recording rule averages the four held GPUs: (2 + 2 + 95 + 95) / 4.
TEST(RuleManager, IdleGpuExampleFiresAtThirtyOneMinutes) {
  auto sim =
      sim::LoadScenario(std::string(GPUTWIN_SOURCE_DIR) + "/examples/idle-gpu-alert/scenario.yaml",
                        std::nullopt, std::nullopt);
  sim->Run();
  ASSERT_NE(sim->rules(), nullptr);
  const auto& alerts = sim->rules()->alerts();
  ASSERT_EQ(alerts.size(), 2u);
  std::set<std::string> pods;
  for (const auto& a : alerts) {
    EXPECT_EQ(a.alert, "GPUUnderutilised");
    EXPECT_EQ(a.pending_at - sim->start(), Duration::Minutes(1));
    ASSERT_TRUE(a.fired);
    EXPECT_EQ(a.firing_at - sim->start(), Duration::Minutes(31));
    EXPECT_FALSE(a.resolved);
    EXPECT_EQ(a.labels.at("severity"), "warning");
    pods.insert(a.labels.at("pod"));
    EXPECT_EQ(a.annotations.at("summary"), "GPU " + a.labels.at("gpu") +
                                               " on gpu-node-1 is 2% busy while " +
                                               a.labels.at("pod") + " holds it");
  }
  EXPECT_EQ(pods, (std::set<std::string>{"notebook-ana", "notebook-ben"}));
  const auto avg =
      telemetry::PromQuery::Parse("namespace:gpu_utilisation:avg{namespace=\"research\"}")
          .Evaluate(sim->metrics(), sim->end());
  ASSERT_EQ(avg.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(avg.samples[0].value, 48.5);
  // ALERTS as Prometheus exposes it: firing for both.
  const auto firing = telemetry::PromQuery::Parse(
                          "count(ALERTS{alertname=\"GPUUnderutilised\",alertstate=\"firing\"})")
                          .Evaluate(sim->metrics(), sim->end());
  ASSERT_EQ(firing.samples.size(), 1u);
  EXPECT_EQ(firing.samples[0].value, 2);
}

// The state machine on a hand-made series, scraped every 30 s and evaluated every minute
// after the scrape: q is 5 before 10 min, 0 from 10 to 20 min, 5 again from 20 min. `q > 1`
// with for 3m and keep_firing_for 2m: pending at 1 min (the first evaluation), firing at
// 4 min (3 minutes held); the 10-minute evaluation no longer sees it, and it keeps firing
// until 2 minutes after that one (alerting.go KeepFiringSince): resolved at 12 min. At 20
// min a new alert goes pending, firing at 23 min.
TEST(RuleManager, PendingFiringKeepFiringForResolved) {
  telemetry::Registry reg;
  telemetry::MetricDesc d;
  d.name = "q";
  reg.Declare("x", d);
  const auto s = reg.At(reg.Find("q"), {});
  std::vector<api::PrometheusRuleGroup> groups(1);
  groups[0].name = "g";
  api::PrometheusRuleSpec rule;
  rule.alert = "High";
  rule.expr = "q > 1";
  rule.for_ = Duration::Minutes(3);
  rule.keep_firing_for = Duration::Minutes(2);
  groups[0].rules.push_back(rule);
  EventQueue queue;
  const Time t0{1767225600LL * 1'000'000'000};
  RuleManager rm(&queue, groups, Duration::Minutes(1), &reg, t0, t0 + Duration::Minutes(30));
  rm.Start();
  // A scraper every 30 s, ahead of the rules at the same instant.
  struct Scraper : EventHandler {
    telemetry::Registry* reg;
    telemetry::Registry::SeriesId s;
    EventQueue* q;
    Time t0;
    void OnEvent(Time now, uint64_t) override {
      const auto m = (now - t0).seconds() / 60.0;
      reg->Set(s, m < 10 || m >= 20 ? 5 : 0);
      reg->Sample("x", now);
      if (now - t0 < Duration::Minutes(30)) q->Schedule(now + Duration::Seconds(30), this, 0);
    }
  } scraper;
  scraper.reg = &reg;
  scraper.s = s;
  scraper.q = &queue;
  scraper.t0 = t0;
  queue.Schedule(t0, &scraper, 0);
  while (!queue.empty() && queue.top().at <= t0 + Duration::Minutes(30)) {
    Event e = queue.Pop();
    e.handler->OnEvent(e.at, e.arg);
  }
  const auto& a = rm.alerts();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].pending_at - t0, Duration::Minutes(1));
  EXPECT_EQ(a[0].firing_at - t0, Duration::Minutes(4));
  ASSERT_TRUE(a[0].resolved);
  EXPECT_EQ(a[0].resolved_at - t0, Duration::Minutes(12));
  EXPECT_EQ(a[1].pending_at - t0, Duration::Minutes(20));
  EXPECT_EQ(a[1].firing_at - t0, Duration::Minutes(23));
}

// printf in a template as Go's fmt prints it, however long: 70 decimals of 0.5 are "0.5"
// and 69 zeros (the twin's buffer once cut it at 63 characters); a precision past 10^6 is
// refused (Go prints %!(BADPREC) for it).
TEST(AlertTemplate, PrintfPrintsEveryDigitUpToGosLimit) {
  EXPECT_EQ(RenderTemplate("{{ printf \"%.70f\" $value }}", {}, 0.5), "0.5" + std::string(69, '0'));
  EXPECT_EQ(RenderTemplate("[{{ printf \"%8.2f\" $value }}]", {}, 3.14159), "[    3.14]");
  EXPECT_THROW(RenderTemplate("{{ printf \"%.1000001f\" $value }}", {}, 1), std::invalid_argument);
}

}  // namespace
}  // namespace gputwin::prometheus
