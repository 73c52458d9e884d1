#include "autoscaling/keda.h"

#include "autoscaling/scale_target.h"

#include "core/cron_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string_view>

namespace gputwin::autoscaling {

namespace {

constexpr uint64_t kPoll = uint64_t{1} << 56;
constexpr uint64_t kQuery = uint64_t{2} << 56;
// The HPA asks KEDA's metrics server for the External metric on every sync.
constexpr Duration kHpaRequestPeriod = Duration::Seconds(15);

// kedautil.NormalizeString: characters a metric name cannot hold become '-'.
std::string Normalize(std::string s) {
  for (auto& c : s) {
    if (std::string_view("/.:%()\" <>{}").find(c) != std::string_view::npos) c = '-';
  }
  return s;
}

std::string MetricName(const api::ScaledObjectTrigger& t, size_t index) {
  // GenerateMetricNameWithIndex: s<index>-<scaler name>; the cron scaler's name carries
  // its zone and schedules (parseCronTimeFormat: no spaces, * x, / Sl, ? Qm).
  std::string name = t.type;
  if (t.type == "cron") {
    auto format = [](std::string v) {
      std::string out;
      for (char c : v) {
        if (c == ' ') continue;
        out += c == '*' ? "x" : c == '/' ? "Sl" : c == '?' ? "Qm" : std::string(1, c);
      }
      return out;
    };
    name = Normalize("cron-" + t.metadata.at("timezone") + "-" + format(t.metadata.at("start")) +
                     "-" + format(t.metadata.at("end")));
  }
  return "s" + std::to_string(index) + "-" + name;
}

double ParseFloat(const std::string& s, const SourceRef& where, const std::string& key) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty()) {
    throw InputError(where, "metadata." + key, "\"" + s + "\" is not a number");
  }
  return v;
}

}  // namespace

api::HorizontalPodAutoscaler HpaForScaledObject(const api::ScaledObject& so) {
  api::HorizontalPodAutoscaler h;
  h.metadata.name = so.hpa_name.empty() ? "keda-hpa-" + so.metadata.name : so.hpa_name;
  h.metadata.namespace_ = so.metadata.namespace_;
  h.metadata.source = so.metadata.source;
  h.target_kind = so.target_kind;
  h.target_name = so.target_name;
  h.min_replicas = so.min_replica_count > 0 ? so.min_replica_count : 1;
  h.max_replicas = so.max_replica_count;
  h.behavior = so.behavior;
  for (size_t i = 0; i < so.triggers.size(); ++i) {
    const auto& t = so.triggers[i];
    api::MetricSpec m;
    m.source = t.source;
    std::string err;
    if (t.type == "cpu" || t.type == "memory") {
      m.type = t.metadata.count("containerName") ? "ContainerResource" : "Resource";
      m.resource = t.type;
      if (t.metadata.count("containerName")) m.container = t.metadata.at("containerName");
      m.target.type = t.metric_type;
      if (t.metric_type == "Utilization") {
        m.target.average_utilization = std::stoi(t.metadata.at("value"));
      } else {
        m.target.average_value = ParseQuantity(t.metadata.at("value"), &err);
      }
    } else if (t.type == "prometheus") {
      m.type = "External";
      m.metric_name = MetricName(t, i);
      api::LabelSelector sel;
      sel.match_labels = {{"scaledobject.keda.sh/name", so.metadata.name}};
      m.metric_selector = sel;
      m.target.type = t.metric_type;
      // GetMetricTargetMili: the threshold as a quantity with three decimals.
      const auto q =
          ParseQuantity(fmt::format("{:.3f}", std::stod(t.metadata.at("threshold"))), &err);
      if (t.metric_type == "Value") {
        m.target.value = q;
      } else {
        m.target.average_value = q;
      }
    } else if (t.type == "cron") {
      // GetMetricSpecForScaling: an External metric with an AverageValue target of 1, so the
      // HPA wants as many replicas as the value (desiredReplicas inside the window, else 1).
      m.type = "External";
      m.metric_name = MetricName(t, i);
      api::LabelSelector sel;
      sel.match_labels = {{"scaledobject.keda.sh/name", so.metadata.name}};
      m.metric_selector = sel;
      m.target.type = "AverageValue";
      m.target.average_value = ParseQuantity("1", &err);
    } else {
      continue;
    }
    h.metrics.push_back(m);
  }
  // Metrics sorted by type, as getScaledObjectMetricSpecs does.
  std::stable_sort(
      h.metrics.begin(), h.metrics.end(),
      [](const api::MetricSpec& a, const api::MetricSpec& b) { return a.type < b.type; });
  return h;
}

void ValidateScaledObjects(const api::Manifests& m) {
  for (const auto& so : m.scaled_objects) {
    auto named = [&](const auto& list) {
      return std::any_of(list.begin(), list.end(), [&](const auto& d) {
        return d.metadata.name == so.target_name && d.metadata.namespace_ == so.metadata.namespace_;
      });
    };
    const bool found = (so.target_kind == "Deployment" && named(m.deployments)) ||
                       (so.target_kind == "StatefulSet" && named(m.stateful_sets));
    if (!found) {
      throw InputError(so.metadata.source, "spec.scaleTargetRef",
                       so.target_kind + " \"" + so.target_name + "\" is not in the manifests" +
                           (ScaleTarget::Scalable(so.target_kind)
                                ? ""
                                : " (the twin scales Deployments and StatefulSets)"));
    }
    bool only_resource = true;
    for (const auto& t : so.triggers) {
      only_resource = only_resource && (t.type == "cpu" || t.type == "memory");
      if (t.type == "prometheus") {
        try {
          telemetry::PromQuery::Parse(t.metadata.at("query"));
        } catch (const std::invalid_argument& e) {
          throw InputError(t.source, "metadata.query", e.what());
        }
        ParseFloat(t.metadata.at("threshold"), t.source, "threshold");
        if (t.metadata.count("activationThreshold")) {
          ParseFloat(t.metadata.at("activationThreshold"), t.source, "activationThreshold");
        }
      }
      if (t.type == "cron") {
        if (!CronSchedule::ValidZone(t.metadata.at("timezone"))) {
          throw InputError(
              t.source, "metadata.timezone",
              "error parsing cron metadata: unknown time zone " + t.metadata.at("timezone"));
        }
        for (const char* key : {"start", "end"}) {
          try {
            CronSchedule::Parse(t.metadata.at(key));
          } catch (const std::invalid_argument& e) {
            throw InputError(t.source, std::string("metadata.") + key,
                             std::string("error parsing ") + key + " schedule: " + e.what());
          }
        }
        ParseFloat(t.metadata.at("desiredReplicas"), t.source, "desiredReplicas");
      }
      if ((t.type == "cpu" || t.type == "memory")) {
        std::string err;
        if (t.metric_type == "Utilization") {
          ParseFloat(t.metadata.at("value"), t.source, "value");
        } else if (!ParseQuantity(t.metadata.at("value"), &err)) {
          throw InputError(t.source, "metadata.value", err);
        }
      }
    }
    // verifyCPUMemoryScalers: scale to zero needs a trigger that can tell it is idle.
    if (only_resource && so.min_replica_count == 0) {
      throw InputError(so.metadata.source, "spec.minReplicaCount",
                       "scaledobject.keda.sh: minReplicaCount=0 is not supported with only cpu "
                       "or memory triggers");
    }
  }
}

KedaOperator::KedaOperator(cluster::Store* store, EventQueue* queue,
                           std::vector<api::ScaledObject> objects, telemetry::Registry* metrics)
    : Controller("keda-operator", store, queue, 0), metrics_(metrics) {
  telemetry::MetricDesc d;
  d.name = "keda_scaler_metrics_value";
  d.help =
      "The current value for each scaler's metric that would be used by the HPA in "
      "computing the target average.";
  d.label_names = {"namespace", "metric", "scaledObject", "scaler", "triggerIndex", "type"};
  metrics_->Declare("keda", d);
  telemetry::MetricDesc e;
  e.name = "keda_scaled_object_errors";
  e.help = "Number of scaled object errors";
  e.type = telemetry::MetricType::kCounter;
  e.label_names = {"namespace", "scaledObject"};
  metrics_->Declare("keda", e);
  for (auto& so : objects) {
    State st;
    st.spec = std::move(so);
    st.created = store_.now();
    for (size_t i = 0; i < st.spec.triggers.size(); ++i) {
      const auto& t = st.spec.triggers[i];
      Trigger tr;
      if (t.type == "prometheus") {
        tr.query = telemetry::PromQuery::Parse(t.metadata.at("query"));
        tr.threshold = std::stod(t.metadata.at("threshold"));
        if (t.metadata.count("activationThreshold")) {
          tr.activation = std::stod(t.metadata.at("activationThreshold"));
        }
        if (t.metadata.count("ignoreNullValues")) {
          tr.ignore_null = t.metadata.at("ignoreNullValues") != "false";
        }
        tr.series = metrics_->At(metrics_->Find("keda_scaler_metrics_value"),
                                 {{"namespace", st.spec.metadata.namespace_},
                                  {"metric", MetricName(t, i)},
                                  {"scaledObject", st.spec.metadata.name},
                                  {"scaler", "prometheusScaler"},
                                  {"triggerIndex", std::to_string(i)},
                                  {"type", "ScaledObject"}});
      }
      if (t.type == "cron") {
        tr.cron_start = CronSchedule::Parse(t.metadata.at("start"));
        tr.cron_end = CronSchedule::Parse(t.metadata.at("end"));
        tr.cron_zone = t.metadata.at("timezone");
        tr.threshold = 1;
        tr.activation = 1;  // active when the value exceeds defaultDesiredReplicas (1)
        tr.cron_desired = std::stod(t.metadata.at("desiredReplicas"));
        tr.series = metrics_->At(metrics_->Find("keda_scaler_metrics_value"),
                                 {{"namespace", st.spec.metadata.namespace_},
                                  {"metric", MetricName(t, i)},
                                  {"scaledObject", st.spec.metadata.name},
                                  {"scaler", "cronScaler"},
                                  {"triggerIndex", std::to_string(i)},
                                  {"type", "ScaledObject"}});
      }
      st.triggers.push_back(std::move(tr));
    }
    ScaledObjectStatus s;
    s.namespace_ = st.spec.metadata.namespace_;
    s.name = st.spec.metadata.name;
    s.hpa = HpaForScaledObject(st.spec).metadata.name;
    states_.push_back(std::move(st));
    status_.push_back(std::move(s));
  }
}

KedaOperator::~KedaOperator() = default;

void KedaOperator::Start() {
  for (uint32_t i = 0; i < states_.size(); ++i) {
    At(store_.now(), kPoll | i);
    At(store_.now(), kQuery | i);
  }
}

bool KedaOperator::Evaluate(State& st, Time now, bool* errors) {
  bool active = false, only_resource = true;
  *errors = false;
  for (size_t i = 0; i < st.triggers.size(); ++i) {
    const auto& spec = st.spec.triggers[i];
    auto& t = st.triggers[i];
    if (spec.type == "cpu" || spec.type == "memory") {
      active = true;  // always active (GetMetricsAndActivity)
      continue;
    }
    only_resource = false;
    if (t.cron_start) {
      // GetMetricsAndActivity: inside the window (the next end comes before the next
      // start) the value is desiredReplicas, else 1; active when above 1.
      const Time next_start = t.cron_start->Next(now, t.cron_zone);
      const Time next_end = t.cron_end->Next(now, t.cron_zone);
      const bool inside = !(next_start < next_end && now < next_start) && now <= next_end;
      const double v = inside ? t.cron_desired : 1.0;
      metrics_->Set(t.series, v);
      if (v > t.activation) active = true;
      continue;
    }
    if (!t.query) continue;
    const auto r = t.query->Evaluate(*metrics_, now);
    double v = 0;
    bool failed = false;
    if (r.samples.size() > 1) {
      // "prometheus query %s returned multiple elements": the metric fails.
      failed = true;
    } else if (r.samples.empty()) {
      failed = !t.ignore_null;
    } else {
      v = r.samples[0].value;
      if (std::isnan(v) || std::isinf(v)) {
        failed = !t.ignore_null;
        v = 0;
      }
    }
    if (failed) {
      ++status_[static_cast<size_t>(&st - states_.data())].query_errors;
      metrics_->Add(metrics_->At(metrics_->Find("keda_scaled_object_errors"),
                                 {{"namespace", st.spec.metadata.namespace_},
                                  {"scaledObject", st.spec.metadata.name}}),
                    1);
      ++t.failures;
      // Fallback (pkg/fallback): past failureThreshold the HPA is given
      // threshold x fallback.replicas, so it settles on fallback.replicas; the trigger then
      // counts as active. Below it the error reaches the HPA (its value stays stale).
      if (st.spec.fallback_replicas && *st.spec.fallback_replicas > 0 &&
          t.failures > st.spec.fallback_failure_threshold.value_or(0)) {
        metrics_->Set(t.series, t.threshold * *st.spec.fallback_replicas);
        active = true;
        continue;
      }
      *errors = true;
      continue;
    }
    t.failures = 0;
    metrics_->Set(t.series, std::max(0.0, v));
    if (v > t.activation) active = true;
  }
  metrics_->Up("keda", "keda-operator", "keda-operator:8080");
  metrics_->Sample("keda", now, true);
  return active || (only_resource && !*errors);
}

void KedaOperator::Poll(uint32_t index, Time now) {
  State& st = states_[index];
  const auto& so = st.spec;
  bool errors = false;
  const bool active = Evaluate(st, now, &errors);
  const ScaleTarget target =
      ScaleTarget::Find(store_, so.target_kind, so.metadata.namespace_, so.target_name);
  if (!target.found()) return;
  const int32_t current = target.Replicas(store_);
  const int32_t min = so.min_replica_count;
  auto scale = [&](int32_t n, const char* reason, const std::string& message) {
    target.SetReplicas(&store_, n);
    store_.RecordEvent("Normal", reason, "ScaledObject", so.metadata.namespace_, so.metadata.name,
                       message, "keda-operator");
  };
  auto& status = status_[index];
  if (active) {
    if ((so.idle_replica_count && current < min) || current == 0) {
      const int32_t to = min > 0 ? min : 1;
      scale(to, "KEDAScaleTargetActivated",
            fmt::format("Scaled {}/{} from {} to {}, triggered by {}", so.metadata.namespace_,
                        so.target_name, current, to,
                        so.triggers.empty() ? "" : so.triggers.front().type + "Scaler"));
      status.activity.push_back({now, "activated"});
    }
    if (!errors) st.last_active = now;
    return;
  }
  if (errors && so.fallback_replicas && *so.fallback_replicas != 0) return;
  if (errors) return;
  if ((so.idle_replica_count && current > *so.idle_replica_count) || (current > 0 && min == 0)) {
    const bool cooled = st.last_active
                            ? *st.last_active + Duration::Seconds(so.cooldown_period) < now
                            : st.created + Duration::Seconds(so.initial_cooldown_period) < now;
    if (cooled) {
      const int32_t to = so.idle_replica_count ? *so.idle_replica_count : min;
      scale(to, "KEDAScaleTargetDeactivated",
            fmt::format("Deactivated {}/{} from {} to {}", so.metadata.namespace_, so.target_name,
                        current, to));
      status.activity.push_back({now, "deactivated"});
    }
  } else if (!so.idle_replica_count && current < min) {
    scale(min, "KEDAScaleTargetActivated",
          fmt::format("Scaled {}/{} from {} to {}", so.metadata.namespace_, so.target_name, current,
                      min));
  }
}

void KedaOperator::OnTimer(Time now, uint64_t arg) {
  const uint32_t i = static_cast<uint32_t>(arg & 0xFFFFFFFF);
  if ((arg >> 56) == 1) {
    Poll(i, now);
    At(now + Duration::Seconds(states_[i].spec.polling_interval), kPoll | i);
  } else {
    bool errors = false;
    Evaluate(states_[i], now, &errors);
    At(now + kHpaRequestPeriod, kQuery | i);
  }
}

}  // namespace gputwin::autoscaling
