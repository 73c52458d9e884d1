#include "autoscaling/horizontal.h"

#include "autoscaling/scale_target.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <unordered_map>

namespace gputwin::autoscaling {

using cluster::PodId;
using cluster::PodPhase;

namespace {

constexpr uint64_t kSync = uint64_t{1} << 56;

std::string PodKey(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

// A metric family by the name an HPA uses: Prometheus Adapter exposes vLLM's
// "vllm:num_requests_waiting" also as "vllm_num_requests_waiting".
std::optional<telemetry::Registry::MetricId> Family(const telemetry::Registry& r,
                                                    const std::string& name) {
  if (auto m = r.Lookup(name)) return m;
  std::string alt = name;
  for (auto& c : alt) c = c == ':' ? '_' : c;
  for (const auto& f : r.families()) {
    std::string n = f.desc.name;
    for (auto& c : n) c = c == ':' ? '_' : c;
    if (n == alt) return r.Lookup(f.desc.name);
  }
  return std::nullopt;
}

}  // namespace

HorizontalPodAutoscalerController::HorizontalPodAutoscalerController(
    cluster::Store* store, EventQueue* queue, std::vector<api::HorizontalPodAutoscaler> hpas,
    telemetry::Registry* metrics, const std::vector<api::Service>* services, HpaConfig config)
    : Controller("horizontal-pod-autoscaler", store, queue, 0),
      metrics_(metrics),
      config_(config),
      services_(services) {
  for (auto& h : hpas) {
    State st;
    st.spec = std::move(h);
    HpaStatus s;
    s.namespace_ = st.spec.metadata.namespace_;
    s.name = st.spec.metadata.name;
    s.target = st.spec.target_kind + "/" + st.spec.target_name;
    s.min_replicas = st.spec.min_replicas;
    s.max_replicas = st.spec.max_replicas;
    states_.push_back(std::move(st));
    status_.push_back(std::move(s));
  }
  // The HPA's status as kube-state-metrics exposes it (its owner scrapes them); the
  // controller publishes them since the twin's store holds no HPA objects.
  for (const char* name : {"kube_horizontalpodautoscaler_spec_min_replicas",
                           "kube_horizontalpodautoscaler_spec_max_replicas",
                           "kube_horizontalpodautoscaler_status_current_replicas",
                           "kube_horizontalpodautoscaler_status_desired_replicas",
                           "kube_horizontalpodautoscaler_status_condition"}) {
    telemetry::MetricDesc d;
    d.name = name;
    d.help = std::string(name).ends_with("condition") ? "The condition of this autoscaler."
             : std::string(name).find("spec_") != std::string::npos
                 ? "Lower or upper limit of the number of pods that can be set by the autoscaler."
                 : "Current or desired number of replicas of pods managed by this autoscaler.";
    d.label_names = {"namespace", "horizontalpodautoscaler"};
    if (d.help.starts_with("The condition")) {
      d.label_names.push_back("condition");
      d.label_names.push_back("status");
    }
    metrics->Declare("kube-state-metrics", d);
  }
}

HorizontalPodAutoscalerController::~HorizontalPodAutoscalerController() = default;

void HorizontalPodAutoscalerController::Start() {
  for (uint32_t i = 0; i < states_.size(); ++i) At(store_.now(), kSync | i);
}

void HorizontalPodAutoscalerController::OnTimer(Time now, uint64_t arg) {
  const uint32_t i = static_cast<uint32_t>(arg & 0xFFFFFFFF);
  Sync(i, now);
  At(now + config_.sync_period, kSync | i);
}

void HorizontalPodAutoscalerController::SetCondition(State& st, const std::string& type,
                                                     const std::string& status,
                                                     const std::string& reason,
                                                     const std::string& message) {
  auto& conds = status_[static_cast<size_t>(&st - states_.data())].conditions;
  for (auto& c : conds) {
    if (c.type == type) {
      c = {type, status, reason, message};
      return;
    }
  }
  conds.push_back({type, status, reason, message});
}

HorizontalPodAutoscalerController::Proposal HorizontalPodAutoscalerController::ForMetric(
    State& st, const api::MetricSpec& m, const std::vector<PodId>& pods, int32_t spec_replicas,
    int32_t status_replicas, Time now) {
  Proposal out;
  const double tol = config_.tolerance;
  auto within = [&](double r) { return std::fabs(1.0 - r) <= tol; };
  if (m.type == "Resource" || m.type == "ContainerResource" || m.type == "Pods") {
    const bool resource = m.type != "Pods";
    out.name = resource ? m.resource + " resource" : "pods metric " + m.metric_name;
    if (resource && m.target.type == "Utilization") {
      out.name += " utilization (percentage of request)";
    }
    const char* fail = resource ? "FailedGetResourceMetric" : "FailedGetPodsMetric";
    // Per-pod values (milli-units) with their sample time and window.
    struct Sample {
      int64_t milli;
      Time at;
      Duration window;
    };
    std::unordered_map<PodId, Sample> samples;
    auto family = resource
                      ? (m.resource == "cpu" ? metrics_->Lookup("container_cpu_usage_seconds_total")
                                             : std::nullopt)
                      : Family(*metrics_, m.metric_name);
    if (family) {
      std::unordered_map<std::string, telemetry::Registry::SeriesId> by_pod;
      for (auto sid : metrics_->family(*family).series) {
        const auto& lab = metrics_->series(sid).labels;
        auto ns = lab.find("namespace"), pod = lab.find("pod");
        if (ns == lab.end() || pod == lab.end()) continue;
        if (!m.container.empty()) {
          auto c = lab.find("container");
          if (c == lab.end() || c->second != m.container) continue;
        }
        by_pod[PodKey(ns->second, pod->second)] = sid;
      }
      for (PodId id : pods) {
        auto it = by_pod.find(store_.pod(id).Key());
        if (it == by_pod.end()) continue;
        const auto& smp = metrics_->series(it->second).samples;
        if (resource) {
          // metrics-server: the rate between the kubelet's last two samples.
          if (smp.size() < 2) continue;
          const auto& a = smp[smp.size() - 2];
          const auto& b = smp.back();
          const double dt = double((b.first - a.first).ns) / 1e9;
          if (dt <= 0) continue;
          samples[id] = {static_cast<int64_t>((b.second - a.second) / dt * 1000.0), b.first,
                         b.first - a.first};
        } else {
          if (smp.empty()) continue;
          samples[id] = {static_cast<int64_t>(smp.back().second * 1000.0), smp.back().first,
                         Duration{0}};
        }
      }
    }
    if (pods.empty()) {
      out.error = fail;
      out.reason = "unable to get metrics for resource: no pods returned by selector";
      return out;
    }
    if (samples.empty()) {
      out.error = fail;
      out.reason = resource ? "unable to get metrics for resource " + m.resource +
                                  ": no metrics returned from resource metrics API"
                            : "unable to get metric " + m.metric_name +
                                  ": no metrics returned from custom metrics API";
      return out;
    }
    // groupPods.
    int64_t ready = 0;
    std::vector<PodId> unready, missing, counted;
    for (PodId id : pods) {
      const auto& p = store_.pod(id);
      if (p.deleted || p.Terminal()) continue;  // ignored
      if (p.phase == PodPhase::kPending) {
        unready.push_back(id);
        continue;
      }
      auto it = samples.find(id);
      if (it == samples.end()) {
        missing.push_back(id);
        continue;
      }
      if (resource && m.resource == "cpu") {
        bool is_unready;
        if (p.started_at == cluster::kNever) {
          is_unready = true;
        } else if (now < p.started_at + config_.cpu_initialization_period) {
          is_unready = !p.Ready() || it->second.at < p.ReadySince() + it->second.window;
        } else {
          const Time transition = p.Ready() ? p.ReadySince() : p.started_at;
          is_unready = !p.Ready() && transition < p.started_at + config_.initial_readiness_delay;
        }
        if (is_unready) {
          unready.push_back(id);
          continue;
        }
      }
      ++ready;
      counted.push_back(id);
    }
    if (counted.empty()) {
      out.error = fail;
      out.reason = "did not receive metrics for targeted pods (pods might be unready)";
      return out;
    }
    const bool utilization = resource && m.target.type == "Utilization";
    const cluster::ResourceId rid = store_.resources().Find(m.resource);
    auto request = [&](PodId id) -> int64_t {
      return rid >= store_.resources().size() ? 0 : cluster::At(store_.pod(id).tmpl->requests, rid);
    };
    const double target =
        utilization ? double(*m.target.average_utilization) : double(m.target.average_value->milli);
    // The usage ratio over a set of (value, request) pairs: utilization uses integer
    // percent of requests (GetResourceUtilizationRatio); plain metrics the average.
    auto ratio_of = [&](const std::vector<std::pair<int64_t, int64_t>>& vals, int64_t* shown) {
      int64_t sum = 0, req = 0;
      for (auto [v, r] : vals) {
        sum += v;
        req += r;
      }
      if (utilization) {
        const int64_t util = req > 0 ? sum * 100 / req : 0;
        *shown = util;
        return double(util) / target;
      }
      const int64_t avg = vals.empty() ? 0 : sum / int64_t(vals.size());
      *shown = avg;
      return double(avg) / target;
    };
    if (utilization) {
      for (PodId id : pods) {
        if (!store_.pod(id).deleted && request(id) == 0) {
          out.error = fail;
          out.reason = "missing request for " + m.resource + " in pod " + store_.pod(id).Key();
          return out;
        }
      }
    }
    std::vector<std::pair<int64_t, int64_t>> vals;
    for (PodId id : counted) vals.push_back({samples[id].milli, request(id)});
    int64_t shown = 0;
    const double r = ratio_of(vals, &shown);
    out.shown = utilization
                    ? fmt::format("{} {}%/{}%", m.resource, shown, *m.target.average_utilization)
                    : fmt::format("{} {}/{}", resource ? m.resource : m.metric_name,
                                  double(shown) / 1000.0, target / 1000.0);
    out.valid = true;
    const bool up_with_unready = !unready.empty() && r > 1.0;
    if (!up_with_unready && missing.empty()) {
      out.replicas = within(r) ? spec_replicas : static_cast<int32_t>(std::ceil(r * double(ready)));
      return out;
    }
    for (PodId id : missing) {
      int64_t v = 0;
      if (r < 1.0) {
        v = utilization ? request(id) * std::max<int64_t>(100, *m.target.average_utilization) / 100
                        : static_cast<int64_t>(target);
      }
      vals.push_back({v, request(id)});
    }
    if (up_with_unready) {
      for (PodId id : unready) vals.push_back({0, request(id)});
    }
    int64_t ignored = 0;
    const double nr = ratio_of(vals, &ignored);
    if (within(nr) || (r < 1.0 && nr > 1.0) || (r > 1.0 && nr < 1.0)) {
      out.replicas = spec_replicas;
      return out;
    }
    const int32_t n = static_cast<int32_t>(std::ceil(nr * double(vals.size())));
    out.replicas =
        (nr < 1.0 && n > spec_replicas) || (nr > 1.0 && n < spec_replicas) ? spec_replicas : n;
    return out;
  }
  if (m.type == "External") {
    out.name = "external metric " + m.metric_name;
    // KEDA's metrics server answers for ScaledObjects (the selector names one); otherwise
    // an adapter serves the registry's series of that name.
    std::string scaled_object;
    if (m.metric_selector) {
      auto it = m.metric_selector->match_labels.find("scaledobject.keda.sh/name");
      if (it != m.metric_selector->match_labels.end()) scaled_object = it->second;
    }
    auto family = scaled_object.empty() ? Family(*metrics_, m.metric_name)
                                        : metrics_->Lookup("keda_scaler_metrics_value");
    int64_t usage = 0;
    bool found = false;
    if (family) {
      for (auto sid : metrics_->family(*family).series) {
        const auto& s = metrics_->series(sid);
        const auto last = metrics_->LastSample(sid);
        if (!last || std::isnan(last->second)) continue;
        if (!scaled_object.empty()) {
          auto so = s.labels.find("scaledObject"), name = s.labels.find("metric"),
               ns = s.labels.find("namespace");
          if (so == s.labels.end() || so->second != scaled_object || name == s.labels.end() ||
              name->second != m.metric_name || ns == s.labels.end() ||
              ns->second != st.spec.metadata.namespace_) {
            continue;
          }
        } else {
          api::Labels labels(s.labels.begin(), s.labels.end());
          if (m.metric_selector && !m.metric_selector->Matches(labels)) continue;
        }
        usage += static_cast<int64_t>(last->second * 1000.0);
        found = true;
      }
    }
    if (!found) {
      out.error = "FailedGetExternalMetric";
      out.reason = "unable to get external metric " + st.spec.metadata.namespace_ + "/" +
                   m.metric_name + ": no metrics returned from external metrics API";
      return out;
    }
    FromTotal(m, usage, pods, spec_replicas, status_replicas, &out);
    return out;
  }
  // Object: the custom metrics API's value for the described object, as prometheus-adapter
  // serves it with its default rules: the series of that name whose resource label names
  // the object (namespace, and `pod` for a Pod), summed; a Service's are its pods' (the
  // `service` label a ServiceMonitor scrape adds). Then GetObjectMetricReplicas /
  // GetObjectPerPodMetricReplicas, the same rules as External's.
  out.name = "object metric " + m.metric_name;
  const std::string kind = m.object_kind;
  std::string label = kind;  // prometheus-adapter's resource label: the kind, lowercased
  for (auto& c : label) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int64_t usage = 0;
  bool found = false;
  if (auto family = Family(*metrics_, m.metric_name)) {
    const api::Service* service = nullptr;
    if (kind == "Service" && services_) {
      for (const auto& svc : *services_) {
        if (svc.metadata.name == m.object_name &&
            svc.metadata.namespace_ == st.spec.metadata.namespace_) {
          service = &svc;
        }
      }
    }
    for (auto sid : metrics_->family(*family).series) {
      const auto& s = metrics_->series(sid);
      const auto last = metrics_->LastSample(sid);
      if (!last || std::isnan(last->second)) continue;
      auto ns = s.labels.find("namespace");
      if (kind != "Namespace" &&
          (ns == s.labels.end() || ns->second != st.spec.metadata.namespace_)) {
        continue;
      }
      bool match = false;
      if (service) {
        auto pod = s.labels.find("pod");
        if (pod != s.labels.end()) {
          const PodId id = store_.FindPod(ns->second, pod->second);
          match = id != cluster::kNone &&
                  service->Selects(ns->second, store_.pod(id).tmpl->metadata.labels);
        }
      } else if (kind == "Namespace") {
        match = ns != s.labels.end() && ns->second == m.object_name;
      } else {
        auto l = s.labels.find(label);
        match = l != s.labels.end() && l->second == m.object_name;
      }
      if (!match) continue;
      api::Labels labels(s.labels.begin(), s.labels.end());
      if (m.metric_selector && !m.metric_selector->Matches(labels)) continue;
      usage += static_cast<int64_t>(last->second * 1000.0);
      found = true;
    }
  }
  if (!found) {
    out.error = "FailedGetObjectMetric";
    out.reason = "unable to get metric " + m.metric_name + ": " + kind + " on " +
                 st.spec.metadata.namespace_ + " " + m.object_name +
                 "/unable to fetch metrics "
                 "from custom metrics API: the server could not find the metric " +
                 m.metric_name + " for " + label + " " + m.object_name;
    return out;
  }
  FromTotal(m, usage, pods, spec_replicas, status_replicas, &out);
  return out;
}

// A metric that is one total for the whole target (External, Object): AverageValue as
// Get*PerPodMetricReplicas (ceil(total / target), unless within tolerance of the current
// replicas), Value as getUsageRatioReplicaCount (the ratio times the ready pods; from zero,
// ceil(ratio)).
void HorizontalPodAutoscalerController::FromTotal(const api::MetricSpec& m, int64_t usage,
                                                  const std::vector<PodId>& pods,
                                                  int32_t spec_replicas, int32_t status_replicas,
                                                  Proposal* out) const {
  auto within = [&](double r) { return std::fabs(1.0 - r) <= config_.tolerance; };
  out->valid = true;
  if (m.target.average_value) {
    const double target = double(m.target.average_value->milli);
    const double r = double(usage) / (target * std::max(1, status_replicas));
    out->shown =
        fmt::format("{} {}/{} (avg)", m.metric_name,
                    double(usage) / 1000.0 / std::max(1, status_replicas), target / 1000.0);
    out->replicas = status_replicas > 0 && within(r)
                        ? status_replicas
                        : static_cast<int32_t>(std::ceil(double(usage) / target));
    return;
  }
  const double target = double(m.target.value->milli);
  const double r = double(usage) / target;
  out->shown = fmt::format("{} {}/{}", m.metric_name, double(usage) / 1000.0, target / 1000.0);
  if (spec_replicas == 0) {
    out->replicas = static_cast<int32_t>(std::ceil(r));
    return;
  }
  if (within(r)) {
    out->replicas = spec_replicas;
    return;
  }
  int32_t ready = 0;
  for (PodId id : pods) ready += store_.pod(id).Ready() ? 1 : 0;
  out->replicas = static_cast<int32_t>(std::ceil(r * ready));
}

int32_t HorizontalPodAutoscalerController::Normalize(State& st, int32_t current, int32_t desired,
                                                     Time now) {
  const auto& spec = st.spec;
  const int32_t min = spec.min_replicas, max = spec.max_replicas;
  int32_t stabilized = desired;
  std::string reason, message;
  if (!spec.behavior) {
    // stabilizeRecommendation: the highest recommendation of the last 5 minutes.
    const Time cutoff = now + Duration{-config_.downscale_stabilization.ns};
    bool stored = false;
    for (auto& [t, rec] : st.recommendations) {
      if (t >= cutoff) stabilized = std::max(stabilized, rec);
    }
    for (auto& r : st.recommendations) {
      if (r.first < cutoff) {
        r = {now, desired};
        stored = true;
        break;
      }
    }
    if (!stored) st.recommendations.push_back({now, desired});
    SetCondition(st, "AbleToScale", "True",
                 stabilized != desired ? "ScaleDownStabilized" : "ReadyForNewScale",
                 stabilized != desired
                     ? "recent recommendations were higher than current one, applying the "
                       "highest recent recommendation"
                     : "recommended size matches current size");
    // convertDesiredReplicasWithRules.
    const int32_t limit = std::max(2 * current, 4);
    int32_t allowed = std::min(max, limit);
    std::string over = max > limit ? "ScaleUpLimit" : "TooManyReplicas";
    int32_t out = stabilized;
    if (stabilized < min) {
      out = min;
      reason = "TooFewReplicas";
      message = "the desired replica count is less than the minimum replica count";
    } else if (stabilized > allowed) {
      out = allowed;
      reason = over;
      message = over == "ScaleUpLimit"
                    ? "the desired replica count is increasing faster than the maximum scale rate"
                    : "the desired replica count is more than the maximum replica count";
    } else {
      reason = "DesiredWithinRange";
      message = "the desired count is within the acceptable range";
    }
    SetCondition(st, "ScalingLimited", out != stabilized ? "True" : "False", reason, message);
    return out;
  }
  // With behavior: API defaults per direction.
  const auto& b = *spec.behavior;
  api::HPAScalingRules up = b.scale_up.value_or(api::HPAScalingRules{});
  api::HPAScalingRules down = b.scale_down.value_or(api::HPAScalingRules{});
  if (!up.stabilization_window_seconds) up.stabilization_window_seconds = 0;
  if (!up.select_policy) up.select_policy = "Max";
  if (!up.policies) up.policies = {{"Pods", 4, 15}, {"Percent", 100, 15}};
  if (!down.stabilization_window_seconds) {
    down.stabilization_window_seconds =
        static_cast<int32_t>(config_.downscale_stabilization.ns / 1'000'000'000);
  }
  if (!down.select_policy) down.select_policy = "Max";
  if (!down.policies) down.policies = {{"Percent", 100, 15}};
  // stabilizeRecommendationWithBehaviors.
  const Time up_cutoff = now + Duration::Seconds(-*up.stabilization_window_seconds);
  const Time down_cutoff = now + Duration::Seconds(-*down.stabilization_window_seconds);
  int32_t up_rec = desired, down_rec = desired;
  for (auto& [t, rec] : st.recommendations) {
    if (t > up_cutoff) up_rec = std::min(up_rec, rec);
    if (t > down_cutoff) down_rec = std::max(down_rec, rec);
  }
  int32_t rec = current;
  if (rec < up_rec) rec = up_rec;
  if (rec > down_rec) rec = down_rec;
  bool stored = false;
  for (auto& r : st.recommendations) {
    if (r.first < up_cutoff && r.first < down_cutoff) {
      r = {now, desired};
      stored = true;
      break;
    }
  }
  if (!stored) st.recommendations.push_back({now, desired});
  stabilized = rec;
  if (stabilized != desired) {
    SetCondition(st, "AbleToScale", "True",
                 desired >= current ? "ScaleUpStabilized" : "ScaleDownStabilized",
                 desired >= current ? "recent recommendations were lower than current one, "
                                      "applying the lowest recent recommendation"
                                    : "recent recommendations were higher than current one, "
                                      "applying the highest recent recommendation");
  } else {
    SetCondition(st, "AbleToScale", "True", "ReadyForNewScale",
                 "recommended size matches current size");
  }
  // convertDesiredReplicasWithBehaviorRate.
  auto change = [&](const std::vector<std::pair<Time, int32_t>>& events, int32_t period) {
    int32_t sum = 0;
    const Time from = now + Duration::Seconds(-period);
    for (auto [t, n] : events) {
      if (t > from) sum += n;
    }
    return sum;
  };
  int32_t out = stabilized;
  reason = "DesiredWithinRange";
  message = "the desired count is within the acceptable range";
  if (stabilized > current) {
    int32_t limit = up.select_policy == "Min" ? INT32_MAX : INT32_MIN;
    if (*up.select_policy == "Disabled") {
      limit = current;
    } else {
      for (const auto& p : *up.policies) {
        const int32_t start = current - change(st.up_events, p.period_seconds) +
                              change(st.down_events, p.period_seconds);
        const int32_t proposed =
            p.type == "Pods" ? start + p.value
                             : static_cast<int32_t>(std::ceil(start * (1.0 + p.value / 100.0)));
        limit = *up.select_policy == "Min" ? std::min(limit, proposed) : std::max(limit, proposed);
      }
    }
    if (limit < current) limit = current;
    const int32_t allowed = std::min(max, limit);
    if (stabilized > allowed) {
      out = allowed;
      reason = limit < max ? "ScaleUpLimit" : "TooManyReplicas";
      message = reason == "ScaleUpLimit"
                    ? "the desired replica count is increasing faster than the maximum scale rate"
                    : "the desired replica count is more than the maximum replica count";
    }
  } else if (stabilized < current) {
    int32_t limit = down.select_policy == "Min" ? INT32_MIN : INT32_MAX;
    if (*down.select_policy == "Disabled") {
      limit = current;
    } else {
      for (const auto& p : *down.policies) {
        const int32_t start = current + change(st.down_events, p.period_seconds) -
                              change(st.up_events, p.period_seconds);
        const int32_t proposed = p.type == "Pods"
                                     ? start - p.value
                                     : static_cast<int32_t>(start * (1.0 - p.value / 100.0));
        limit =
            *down.select_policy == "Min" ? std::max(limit, proposed) : std::min(limit, proposed);
      }
    }
    if (limit > current) limit = current;
    const int32_t allowed = std::max(min, limit);
    if (stabilized < allowed) {
      out = allowed;
      reason = limit > min ? "ScaleDownLimit" : "TooFewReplicas";
      message = reason == "ScaleDownLimit"
                    ? "the desired replica count is decreasing faster than the maximum scale rate"
                    : "the desired replica count is less than the minimum replica count";
    }
  }
  if (out > max) {
    out = max;
    reason = "TooManyReplicas";
  }
  if (out < min) {
    out = min;
    reason = "TooFewReplicas";
  }
  SetCondition(st, "ScalingLimited", out != stabilized ? "True" : "False", reason, message);
  return out;
}

void HorizontalPodAutoscalerController::Sync(uint32_t index, Time now) {
  State& st = states_[index];
  HpaStatus& status = status_[index];
  const auto& spec = st.spec;
  const ScaleTarget target =
      ScaleTarget::Find(store_, spec.target_kind, spec.metadata.namespace_, spec.target_name);
  if (!target.found()) {
    SetCondition(st, "AbleToScale", "False", "FailedGetScale",
                 "the HPA controller was unable to get the target's current scale: " +
                     spec.target_kind + " " + spec.target_name + " not found");
    return;
  }
  const int32_t current = target.Replicas(store_);
  const std::vector<PodId> pods = target.Pods(store_);
  int32_t status_replicas = 0;
  for (PodId id : pods) {
    status_replicas += !store_.pod(id).deleted && !store_.pod(id).Terminal() ? 1 : 0;
  }
  if (st.recommendations.empty()) st.recommendations.push_back({now, current});
  int32_t desired = current;
  std::string reason, shown;
  bool rescale = false;
  if (current == 0 && spec.min_replicas != 0) {
    SetCondition(st, "ScalingActive", "False", "ScalingDisabled",
                 "scaling is disabled since the replica count of the target is zero");
    desired = 0;
  } else if (current > spec.max_replicas) {
    desired = spec.max_replicas;
    reason = "Current number of replicas above Spec.MaxReplicas";
    rescale = true;
  } else if (current < spec.min_replicas) {
    desired = spec.min_replicas;
    reason = "Current number of replicas below Spec.MinReplicas";
    rescale = true;
  } else {
    // computeReplicasForMetrics: the max over valid metrics.
    int32_t best = 0;
    std::string best_name;
    const Proposal* first_invalid = nullptr;
    std::vector<Proposal> props;
    props.reserve(spec.metrics.size());
    size_t invalid = 0;
    for (const auto& m : spec.metrics) {
      props.push_back(ForMetric(st, m, pods, current, status_replicas, now));
      const Proposal& p = props.back();
      if (!p.valid) {
        ++invalid;
        if (!first_invalid) first_invalid = &p;
        continue;
      }
      shown += (shown.empty() ? "" : ", ") + p.shown;
      if (best == 0 || p.replicas > best) {
        best = p.replicas;
        best_name = p.name;
      }
    }
    // All metrics invalid, or some invalid and the rest would scale down: no scaling.
    if (invalid == spec.metrics.size() || (invalid > 0 && best < current)) {
      const Proposal& bad = first_invalid ? *first_invalid : props.front();
      SetCondition(st, "ScalingActive", "False", bad.error,
                   "the HPA was unable to compute the replica count: " + bad.reason);
      desired = current;
    } else {
      SetCondition(st, "ScalingActive", "True", "ValidMetricFound",
                   "the HPA was able to successfully calculate a replica count from " + best_name);
      const int32_t raw = best;
      desired = Normalize(st, current, raw, now);
      reason = desired > current ? best_name + " above target" : "All metrics below target";
      rescale = desired != current;
    }
  }
  if (rescale) {
    target.SetReplicas(&store_, desired);
    SetCondition(
        st, "AbleToScale", "True", "SucceededRescale",
        fmt::format("the HPA controller was able to update the target scale to {}", desired));
    store_.RecordEvent("Normal", "SuccessfulRescale", "HorizontalPodAutoscaler",
                       spec.metadata.namespace_, spec.metadata.name,
                       fmt::format("New size: {}; reason: {}", desired, reason),
                       "horizontal-pod-autoscaler");
    if (spec.behavior) {
      auto& events = desired > current ? st.up_events : st.down_events;
      events.push_back({now, std::abs(desired - current)});
    }
    ++status.rescales;
  }
  status.max_seen = std::max({status.max_seen, current, desired});
  const telemetry::Labels who = {{"namespace", spec.metadata.namespace_},
                                 {"horizontalpodautoscaler", spec.metadata.name}};
  auto set = [&](const char* family, const telemetry::Labels& l, double v) {
    metrics_->Set(metrics_->At(metrics_->Find(family), l), v);
  };
  set("kube_horizontalpodautoscaler_spec_min_replicas", who, spec.min_replicas);
  set("kube_horizontalpodautoscaler_spec_max_replicas", who, spec.max_replicas);
  set("kube_horizontalpodautoscaler_status_current_replicas", who, current);
  set("kube_horizontalpodautoscaler_status_desired_replicas", who, desired);
  for (const auto& c : status.conditions) {
    for (const char* value : {"true", "false", "unknown"}) {
      auto l = who;
      l["condition"] = c.type;
      l["status"] = value;
      std::string lower = c.status;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      set("kube_horizontalpodautoscaler_status_condition", l, lower == value ? 1 : 0);
    }
  }
  // The report keeps rescales and changes of the ScalingActive reason.
  std::string active;
  for (const auto& c : status.conditions) {
    if (c.type == "ScalingActive") active = c.reason;
  }
  if (rescale || active != st.last_reason) {
    status.history.push_back({now, current, desired, shown, rescale});
    st.last_reason = active;
  }
}

}  // namespace gputwin::autoscaling
