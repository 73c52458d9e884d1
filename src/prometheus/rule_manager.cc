#include "prometheus/rule_manager.h"

#include <cmath>
#include <stdexcept>

#include "prometheus/alert_template.h"

namespace gputwin::prometheus {
namespace {

using telemetry::Labels;

constexpr const char* kAlertsOwner = "prometheus/alerts";
constexpr uint64_t kSampleAlerts = ~uint64_t{0};

}  // namespace

struct RuleManager::Rule {
  const api::PrometheusRuleSpec* spec;
  telemetry::PromQuery query;
  // Alerting: the active alerts by label set, as indexes into history_.
  std::map<Labels, size_t> active;
  std::map<Labels, Time> keep_firing_since;
  // The series it wrote at the last evaluation (recording: its own; alerting: ALERTS and
  // ALERTS_FOR_STATE), so the ones it no longer writes end with a staleness marker.
  std::map<Labels, telemetry::Registry::SeriesId> written;
  std::string family;
};

struct RuleManager::Group {
  const api::PrometheusRuleGroup* spec;
  Duration interval;
  std::string owner;
  std::vector<Rule> rules;
};

void ValidateRules(const api::Manifests& m) {
  for (const auto& g : m.rule_groups) {
    for (const auto& r : g.rules) {
      try {
        telemetry::PromQuery::Parse(r.expr);
      } catch (const std::invalid_argument& e) {
        throw InputError(r.source, "expr", e.what());
      }
      for (const auto* map : {&r.labels, &r.annotations}) {
        for (const auto& [k, v] : *map) {
          try {
            RenderTemplate(v, {}, 0);
          } catch (const std::invalid_argument& e) {
            throw InputError(r.source, (map == &r.labels ? "labels." : "annotations.") + k,
                             e.what());
          }
        }
      }
    }
  }
}

RuleManager::RuleManager(EventQueue* queue, const std::vector<api::PrometheusRuleGroup>& groups,
                         Duration evaluation_interval, telemetry::Registry* metrics, Time start,
                         Time end)
    : queue_(*queue), metrics_(metrics), start_(start), end_(end) {
  telemetry::MetricDesc alerts;
  alerts.name = "ALERTS";
  alerts.help = "Alerts and their state (pending or firing), as Prometheus writes them.";
  metrics->Declare(kAlertsOwner, alerts);
  telemetry::MetricDesc for_state;
  for_state.name = "ALERTS_FOR_STATE";
  for_state.help = "When each pending or firing alert became active (Unix seconds).";
  metrics->Declare(kAlertsOwner, for_state);
  metrics->SetRetention(kAlertsOwner, Duration::Hours(1));
  for (size_t i = 0; i < groups.size(); ++i) {
    auto g = std::make_unique<Group>();
    g->spec = &groups[i];
    g->interval = groups[i].interval.value_or(evaluation_interval);
    g->owner = "prometheus/" + std::to_string(i);
    metrics->SetRetention(g->owner, Duration::Hours(1));
    for (const auto& r : groups[i].rules) {
      Rule rule{&r, telemetry::PromQuery::Parse(r.expr), {}, {}, {}, {}};
      if (!r.record.empty()) {
        rule.family = r.record;
        if (!metrics->Lookup(r.record)) {
          telemetry::MetricDesc d;
          d.name = r.record;
          d.help = "Recording rule " + r.record + " (" + groups[i].name + ")";
          metrics->Declare(g->owner, d);
        }
      }
      g->rules.push_back(std::move(rule));
    }
    groups_.push_back(std::move(g));
  }
}

RuleManager::~RuleManager() = default;

void RuleManager::Start() {
  // Rules read the exporters' series: they run from now on.
  metrics_->WantExporters();
  // Each group at multiples of its interval from the start, after every scrape of the
  // same instant (an observer of what was scraped).
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (start_ + groups_[i]->interval <= end_) {
      queue_.ScheduleLast(start_ + groups_[i]->interval, this, i);
    }
  }
}

void RuleManager::OnEvent(Time now, uint64_t index) {
  if (index == kSampleAlerts) {
    metrics_->Sample(kAlertsOwner, now, true);
    return;
  }
  auto& g = *groups_[index];
  Evaluate(g, now);
  // ALERTS once per instant, after every group evaluated then.
  if (alerts_sampled_at_ != now) {
    alerts_sampled_at_ = now;
    queue_.ScheduleLast(now, this, kSampleAlerts);
  }
  if (now + g.interval <= end_) queue_.ScheduleLast(now + g.interval, this, index);
}

void RuleManager::Evaluate(Group& g, Time now) {
  for (auto& rule : g.rules) {
    const auto& spec = *rule.spec;
    telemetry::PromResult res;
    try {
      res = rule.query.Evaluate(*metrics_, now);
    } catch (const std::invalid_argument&) {
      res = {};  // a failed evaluation (many-to-many matching): no samples, as a rule error
    }
    if (res.scalar) {
      const double v = res.samples.empty() ? 0 : res.samples[0].value;
      res.scalar = false;
      res.samples = {{{}, v}};
    }
    if (!spec.record.empty()) {
      std::map<Labels, telemetry::Registry::SeriesId> written;
      const auto fam = metrics_->Find(spec.record);
      for (const auto& smp : res.samples) {
        Labels l = smp.labels;
        l.erase("__name__");
        for (const auto& [k, v] : spec.labels) l[k] = v;
        Write(fam, l, smp.value, &written);
      }
      Replace(&rule.written, std::move(written), now);
      continue;
    }
    // Alerting (alerting.go Eval): each sample is an alert; its labels are the sample's
    // without the name, the rule's (templated) and alertname.
    std::map<Labels, double> seen;
    for (const auto& smp : res.samples) {
      Labels l = smp.labels;
      l.erase("__name__");
      const Labels base = l;
      for (const auto& [k, v] : spec.labels) l[k] = RenderTemplate(v, base, smp.value);
      l["alertname"] = spec.alert;
      seen[l] = smp.value;
    }
    for (const auto& [l, v] : seen) {
      auto it = rule.active.find(l);
      if (it == rule.active.end()) {
        AlertRecord a;
        a.alert = spec.alert;
        a.group = g.spec->name;
        a.labels = l;
        a.pending_at = now;
        history_.push_back(a);
        it = rule.active.emplace(l, history_.size() - 1).first;
      }
      auto& a = history_[it->second];
      a.value = v;
      Labels base = l;
      base.erase("alertname");
      for (const auto& [k, text] : spec.annotations)
        a.annotations[k] = RenderTemplate(text, base, v);
      if (!a.fired && now - a.pending_at >= spec.for_) {
        a.fired = true;
        a.firing_at = now;
      }
    }
    // Gone from the result: a pending alert is dropped, a firing one resolves (after
    // keep_firing_for since it was last seen).
    for (auto it = rule.active.begin(); it != rule.active.end();) {
      if (seen.count(it->first)) {
        rule.keep_firing_since.erase(it->first);
        ++it;
        continue;
      }
      auto& a = history_[it->second];
      // keep_firing_for counts from the first evaluation that no longer saw it.
      if (a.fired && spec.keep_firing_for.ns > 0) {
        const Time since = rule.keep_firing_since.emplace(it->first, now).first->second;
        if (now - since < spec.keep_firing_for) {
          ++it;
          continue;
        }
      }
      rule.keep_firing_since.erase(it->first);
      if (a.fired) {
        a.resolved = true;
        a.resolved_at = now;
      } else {
        a.resolved = true;  // never fired
        a.resolved_at = now;
      }
      it = rule.active.erase(it);
    }
  }
  // ALERTS and ALERTS_FOR_STATE for the active alerts of this group.
  const auto alerts = metrics_->Find("ALERTS"), for_state = metrics_->Find("ALERTS_FOR_STATE");
  for (auto& rule : g.rules) {
    if (rule.spec->alert.empty()) continue;
    std::map<Labels, telemetry::Registry::SeriesId> written;
    for (const auto& [l, idx] : rule.active) {
      const auto& a = history_[idx];
      Labels al = l;
      al["alertstate"] = a.fired ? "firing" : "pending";
      Write(alerts, al, 1, &written);
      Write(for_state, l, double(a.pending_at.ns) / 1e9, &written);
    }
    Replace(&rule.written, std::move(written), now);
  }
  metrics_->Sample(g.owner, now, true);
}

void RuleManager::Write(telemetry::Registry::MetricId family, const Labels& labels, double v,
                        std::map<Labels, telemetry::Registry::SeriesId>* written) {
  const auto sid = metrics_->At(family, labels);
  metrics_->Revive(sid);
  metrics_->Set(sid, v);
  (*written)[labels] = sid;
}

void RuleManager::Replace(std::map<Labels, telemetry::Registry::SeriesId>* before,
                          std::map<Labels, telemetry::Registry::SeriesId> now_written, Time now) {
  for (const auto& [l, sid] : *before) {
    if (!now_written.count(l)) metrics_->Retire(sid, now);
  }
  *before = std::move(now_written);
}

std::vector<RuleManager::RuleSummary> RuleManager::Summaries() const {
  std::vector<RuleSummary> out;
  for (const auto& g : groups_) {
    for (const auto& r : g->rules) {
      if (r.spec->alert.empty()) continue;
      RuleSummary s;
      s.alert = r.spec->alert;
      s.group = g->spec->name;
      s.expr = r.spec->expr;
      s.source = r.spec->source;
      for (const auto& a : history_) {
        if (a.alert != s.alert || a.group != s.group) continue;
        ++s.pending;
        s.fired += a.fired ? 1 : 0;
      }
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace gputwin::prometheus
