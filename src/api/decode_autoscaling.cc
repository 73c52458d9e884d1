// autoscaling/v2 HorizontalPodAutoscaler, with the API server's validation
// (pkg/apis/autoscaling/validation) and defaulting (pkg/apis/autoscaling/v2/defaults.go).
#include "api/decode_core.h"
#include "api/decode_kinds.h"

namespace gputwin::api {
namespace {

MetricTarget DecodeTarget(YamlReader& t, bool resource) {
  MetricTarget out;
  out.type = t.RequiredString("type");
  CheckOneOf(t, "type", out.type, {"Utilization", "Value", "AverageValue"});
  if (out.type == "Utilization") {
    if (!resource) t.Fail("type", "Invalid value: \"Utilization\": only for Resource metrics");
    auto u = t.Int("averageUtilization", 1, 1 << 30);
    if (!u) t.Fail("averageUtilization", "Required value: must be set when type is Utilization");
    out.average_utilization = static_cast<int32_t>(*u);
  } else if (out.type == "Value") {
    out.value = t.OptQuantity("value");
    if (!out.value || out.value->milli <= 0) {
      t.Fail("value", "Required value: must be positive when type is Value");
    }
  } else {
    out.average_value = t.OptQuantity("averageValue");
    if (!out.average_value || out.average_value->milli <= 0) {
      t.Fail("averageValue", "Required value: must be positive when type is AverageValue");
    }
  }
  t.Finish();
  return out;
}

void DecodeMetricIdentifier(YamlReader& parent, MetricSpec* m) {
  auto id = parent.Object("metric");
  if (!id) parent.Fail("metric", "Required value");
  m->metric_name = id->RequiredString("name");
  if (auto sel = id->Object("selector")) m->metric_selector = DecodeLabelSelector(*sel);
  id->Finish();
}

HPAScalingRules DecodeRules(YamlReader& r) {
  HPAScalingRules out;
  if (auto w = r.Int("stabilizationWindowSeconds", 0, 3600)) {
    out.stabilization_window_seconds = static_cast<int32_t>(*w);
  }
  if (auto sp = r.OptString("selectPolicy")) {
    CheckOneOf(r, "selectPolicy", *sp, {"Max", "Min", "Disabled"});
    out.select_policy = *sp;
  }
  if (r.Has("policies")) {
    std::vector<HPAScalingPolicy> policies;
    for (auto& p : r.ObjectList("policies")) {
      HPAScalingPolicy pol;
      pol.type = p.RequiredString("type");
      CheckOneOf(p, "type", pol.type, {"Pods", "Percent"});
      auto v = p.Int("value", 1, 1 << 30);
      if (!v) p.Fail("value", "Required value: must be greater than zero");
      pol.value = static_cast<int32_t>(*v);
      auto period = p.Int("periodSeconds", 1, 1800);
      if (!period) p.Fail("periodSeconds", "Required value: between 1 and 1800");
      pol.period_seconds = static_cast<int32_t>(*period);
      p.Finish();
      policies.push_back(pol);
    }
    if (policies.empty() && out.select_policy.value_or("Max") != "Disabled") {
      r.Fail("policies", "Required value: must specify at least one Policy");
    }
    out.policies = policies;
  }
  r.Ignore({"tolerance"});
  r.Finish();
  return out;
}

HPABehavior DecodeBehavior(YamlReader& b) {
  HPABehavior beh;
  if (auto up = b.Object("scaleUp")) beh.scale_up = DecodeRules(*up);
  if (auto down = b.Object("scaleDown")) beh.scale_down = DecodeRules(*down);
  b.Finish();
  return beh;
}

}  // namespace

void DecodeScaledObject(YamlReader& r, Manifests* out) {
  ScaledObject so;
  so.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  auto ref = spec->Object("scaleTargetRef");
  if (!ref) spec->Fail("scaleTargetRef", "Required value");
  so.target_name = ref->RequiredString("name");
  so.target_kind = ref->String("kind", "Deployment");
  ref->Ignore({"apiVersion", "envSourceContainerName"});
  ref->Finish();
  so.polling_interval = static_cast<int32_t>(spec->Int("pollingInterval", 1, 1 << 30).value_or(30));
  so.cooldown_period = static_cast<int32_t>(spec->Int("cooldownPeriod", 0, 1 << 30).value_or(300));
  so.initial_cooldown_period =
      static_cast<int32_t>(spec->Int("initialCooldownPeriod", 0, 1 << 30).value_or(0));
  so.min_replica_count = static_cast<int32_t>(spec->Int("minReplicaCount", 0, 1 << 30).value_or(0));
  so.max_replica_count =
      static_cast<int32_t>(spec->Int("maxReplicaCount", 1, 1 << 30).value_or(100));
  if (auto idle = spec->Int("idleReplicaCount", 0, 1 << 30)) {
    so.idle_replica_count = static_cast<int32_t>(*idle);
    if (*so.idle_replica_count >= so.min_replica_count) {
      spec->Fail("idleReplicaCount", "must be less than minReplicaCount");
    }
  }
  if (so.min_replica_count > so.max_replica_count) {
    spec->Fail("minReplicaCount",
               "MinReplicaCount=" + std::to_string(so.min_replica_count) +
                   " must be less than MaxReplicaCount=" + std::to_string(so.max_replica_count));
  }
  if (auto fb = spec->Object("fallback")) {
    so.fallback_failure_threshold =
        static_cast<int32_t>(fb->Int("failureThreshold", 0, 1 << 30).value_or(0));
    so.fallback_replicas = static_cast<int32_t>(fb->Int("replicas", 0, 1 << 30).value_or(0));
    const std::string behavior = fb->String("behavior", "static");
    if (behavior != "static") {
      fb->diagnostics()->Warn(
          fb->Where(), "behavior",
          "fallback behavior \"" + behavior + "\" is not modelled; the twin uses static");
    }
    fb->Finish();
  }
  if (auto adv = spec->Object("advanced")) {
    if (auto hc = adv->Object("horizontalPodAutoscalerConfig")) {
      so.hpa_name = hc->String("name");
      if (auto b = hc->Object("behavior")) so.behavior = DecodeBehavior(*b);
      hc->Finish();
    }
    if (adv->Has("scalingModifiers")) {
      adv->diagnostics()->Warn(adv->Where(), "scalingModifiers",
                               "scaling modifiers (composite metrics) are not modelled; the "
                               "twin scales on each trigger");
    }
    adv->Ignore({"restoreToOriginalReplicaCount", "scalingModifiers"});
    adv->Finish();
  }
  for (auto& t : spec->ObjectList("triggers")) {
    ScaledObjectTrigger tr;
    tr.source = t.Where();
    tr.type = t.RequiredString("type");
    tr.name = t.String("name");
    tr.metadata = t.StringMap("metadata");
    tr.use_cached_metrics = t.Bool("useCachedMetrics").value_or(false);
    tr.metric_type =
        t.String("metricType", tr.type == "cpu" || tr.type == "memory" ? "" : "AverageValue");
    if (tr.type == "prometheus") {
      for (const char* key : {"serverAddress", "query", "threshold"}) {
        if (!tr.metadata.count(key)) t.Fail("metadata", std::string("Required value: ") + key);
      }
      CheckOneOf(t, "metricType", tr.metric_type, {"AverageValue", "Value"});
    } else if (tr.type == "cpu" || tr.type == "memory") {
      if (tr.metric_type.empty()) {
        t.Fail("metricType",
               "Required value: Utilization or AverageValue for " + tr.type + " triggers");
      }
      CheckOneOf(t, "metricType", tr.metric_type, {"Utilization", "AverageValue"});
      if (!tr.metadata.count("value")) t.Fail("metadata", "Required value: value");
    } else if (tr.type == "cron") {
      // parseCronMetadata: all four required; start and end must differ.
      for (const char* key : {"timezone", "start", "end", "desiredReplicas"}) {
        if (!tr.metadata.count(key) || tr.metadata.at(key).empty()) {
          t.Fail("metadata", std::string("Required value: ") + key);
        }
      }
      if (tr.metadata.at("start") == tr.metadata.at("end")) {
        t.Fail("metadata.end", "error parsing cron metadata: start and end should not be the same");
      }
      tr.metric_type = "AverageValue";
    } else {
      t.diagnostics()->Warn(t.Where(), "type",
                            "KEDA trigger \"" + tr.type +
                                "\" is not modelled: it never activates and reports no metric");
    }
    t.Ignore({"authenticationRef"});
    t.Finish();
    so.triggers.push_back(std::move(tr));
  }
  if (so.triggers.empty()) spec->Fail("triggers", "Required value: at least one trigger");
  spec->Finish();
  r.Finish();
  out->scaled_objects.push_back(std::move(so));
}

void DecodeHorizontalPodAutoscaler(YamlReader& r, Manifests* out) {
  HorizontalPodAutoscaler h;
  h.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  auto ref = spec->Object("scaleTargetRef");
  if (!ref) spec->Fail("scaleTargetRef", "Required value");
  h.target_kind = ref->RequiredString("kind");
  h.target_name = ref->RequiredString("name");
  h.target_api_version = ref->String("apiVersion", "apps/v1");
  ref->Finish();
  h.min_replicas = static_cast<int32_t>(spec->Int("minReplicas", 0, 1 << 30).value_or(1));
  auto max = spec->Int("maxReplicas", 1, 1 << 30);
  if (!max) spec->Fail("maxReplicas", "Required value: must be greater than 0");
  h.max_replicas = static_cast<int32_t>(*max);
  if (h.min_replicas == 0) {
    spec->Fail("minReplicas",
               "Invalid value: 0: must be greater than or equal to 1 (HPAScaleToZero is alpha)");
  }
  if (h.max_replicas < h.min_replicas) {
    spec->Fail("maxReplicas", "Invalid value: " + std::to_string(h.max_replicas) +
                                  ": must be greater than or equal to `minReplicas`");
  }
  for (auto& m : spec->ObjectList("metrics")) {
    MetricSpec ms;
    ms.source = m.Where();
    ms.type = m.RequiredString("type");
    CheckOneOf(m, "type", ms.type, {"Resource", "ContainerResource", "Pods", "Object", "External"});
    if (ms.type == "Resource" || ms.type == "ContainerResource") {
      auto res = m.Object(ms.type == "Resource" ? "resource" : "containerResource");
      if (!res) m.Fail(ms.type == "Resource" ? "resource" : "containerResource", "Required value");
      ms.resource = res->RequiredString("name");
      CheckOneOf(*res, "name", ms.resource, {"cpu", "memory"});
      if (ms.type == "ContainerResource") ms.container = res->RequiredString("container");
      auto t = res->Object("target");
      if (!t) res->Fail("target", "Required value");
      ms.target = DecodeTarget(*t, true);
      if (ms.target.type == "Value") {
        t->Fail("type", "Invalid value: \"Value\": must be Utilization or AverageValue");
      }
      res->Finish();
    } else if (ms.type == "Pods") {
      auto p = m.Object("pods");
      if (!p) m.Fail("pods", "Required value");
      DecodeMetricIdentifier(*p, &ms);
      auto t = p->Object("target");
      if (!t) p->Fail("target", "Required value");
      ms.target = DecodeTarget(*t, false);
      if (ms.target.type != "AverageValue") {
        t->Fail("type", "Invalid value: must be AverageValue for Pods metrics");
      }
      p->Finish();
    } else if (ms.type == "Object") {
      auto o = m.Object("object");
      if (!o) m.Fail("object", "Required value");
      DecodeMetricIdentifier(*o, &ms);
      auto d = o->Object("describedObject");
      if (!d) o->Fail("describedObject", "Required value");
      ms.object_kind = d->RequiredString("kind");
      ms.object_name = d->RequiredString("name");
      ms.object_api_version = d->String("apiVersion");
      d->Finish();
      auto t = o->Object("target");
      if (!t) o->Fail("target", "Required value");
      ms.target = DecodeTarget(*t, false);
      o->Finish();
    } else {
      auto e = m.Object("external");
      if (!e) m.Fail("external", "Required value");
      DecodeMetricIdentifier(*e, &ms);
      auto t = e->Object("target");
      if (!t) e->Fail("target", "Required value");
      ms.target = DecodeTarget(*t, false);
      e->Finish();
    }
    m.Finish();
    h.metrics.push_back(std::move(ms));
  }
  if (h.metrics.empty()) {
    // SetDefaults_HorizontalPodAutoscaler: CPU at 80 % of requests.
    MetricSpec cpu;
    cpu.source = h.metadata.source;
    cpu.type = "Resource";
    cpu.resource = "cpu";
    cpu.target.type = "Utilization";
    cpu.target.average_utilization = 80;
    h.metrics.push_back(cpu);
  }
  if (auto b = spec->Object("behavior")) h.behavior = DecodeBehavior(*b);
  spec->Finish();
  r.Finish();
  out->horizontal_pod_autoscalers.push_back(std::move(h));
}

}  // namespace gputwin::api
