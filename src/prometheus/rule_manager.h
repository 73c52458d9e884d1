// Prometheus's rule manager (rules/manager.go, rules/alerting.go) on the virtual clock:
// each group of recording and alerting rules is evaluated every `interval` (the group's,
// else the global evaluation interval) over what the run's Prometheus scraped. Recording
// rules write their series; alerting rules move each label set through pending → firing
// (after `for`) → resolved (at once, or after `keep_firing_for`), expose ALERTS and
// ALERTS_FOR_STATE, and fill their labels' and annotations' templates.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/manifests.h"
#include "core/event_queue.h"
#include "telemetry/promql.h"
#include "telemetry/registry.h"

namespace gputwin::prometheus {

// One alert's life: a label set of one alerting rule.
struct AlertRecord {
  std::string alert, group;
  telemetry::Labels labels;
  std::map<std::string, std::string> annotations;  // as last rendered
  Time pending_at{0};
  Time firing_at{0}, resolved_at{0};  // Time{0}: not (yet)
  bool fired = false, resolved = false;
  double value = 0;  // the expression's value at the last evaluation where it held
};

// Parses every rule's expression and templates: an error names the rule's file:line.
void ValidateRules(const api::Manifests& m);

class RuleManager : public EventHandler {
 public:
  RuleManager(EventQueue* queue, const std::vector<api::PrometheusRuleGroup>& groups,
              Duration evaluation_interval, telemetry::Registry* metrics, Time start, Time end);
  ~RuleManager() override;
  void Start();
  void OnEvent(Time now, uint64_t group) override;
  // Every alert that went pending, in the order they did.
  const std::vector<AlertRecord>& alerts() const { return history_; }
  struct RuleSummary {
    std::string alert, group, expr;
    SourceRef source;
    int pending = 0, fired = 0;
  };
  std::vector<RuleSummary> Summaries() const;

 private:
  struct Rule;
  struct Group;
  void Evaluate(Group& g, Time now);
  // Sets a series this evaluation writes (reviving it if it had ended) and notes it.
  void Write(telemetry::Registry::MetricId family, const telemetry::Labels& labels, double v,
             std::map<telemetry::Labels, telemetry::Registry::SeriesId>* written);
  // The series written last time but not now end with a staleness marker.
  void Replace(std::map<telemetry::Labels, telemetry::Registry::SeriesId>* before,
               std::map<telemetry::Labels, telemetry::Registry::SeriesId> now_written, Time now);
  EventQueue& queue_;
  telemetry::Registry* metrics_;
  Time start_, end_;
  Time alerts_sampled_at_{-1};
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<AlertRecord> history_;
};

}  // namespace gputwin::prometheus
