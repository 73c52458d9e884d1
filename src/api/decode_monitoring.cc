// The Prometheus Operator's kinds (monitoring.coreos.com/v1): PrometheusRule and a plain
// rule file's `groups:`, ServiceMonitor and PodMonitor.
#include <algorithm>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/not_modelled.h"

namespace gputwin::api {
namespace {

// A Prometheus duration (model.ParseDuration): 30s, 5m, 1h30m, 1d, 1w, 1y, 100ms.
std::optional<Duration> PromDuration(const YamlReader& r, const std::string& key,
                                     const std::string& text) {
  size_t pos = 0;
  auto d = ParsePrometheusDuration(text, &pos);
  if (!d || pos != text.size()) r.Fail(key, "not a valid duration string: \"" + text + "\"");
  return d;
}

}  // namespace

void DecodeRuleGroups(YamlReader& r, const std::string& file, Manifests* out) {
  for (auto& g : r.ObjectList("groups")) {
    PrometheusRuleGroup group;
    group.source = g.Where();
    group.name = g.RequiredString("name");
    group.file = file;
    if (auto iv = g.OptString("interval")) group.interval = PromDuration(g, "interval", *iv);
    for (auto& x : g.ObjectList("rules")) {
      PrometheusRuleSpec rule;
      rule.source = x.Where();
      rule.alert = x.String("alert");
      rule.record = x.String("record");
      if (rule.alert.empty() == rule.record.empty()) {
        x.Fail("alert", "one of 'record' or 'alert' must be set");
      }
      rule.expr = x.RequiredString("expr");
      if (auto f = x.OptString("for")) rule.for_ = *PromDuration(x, "for", *f);
      if (auto k = x.OptString("keep_firing_for")) {
        rule.keep_firing_for = *PromDuration(x, "keep_firing_for", *k);
      }
      if (!rule.record.empty() && (x.Has("for") || x.Has("annotations"))) {
        x.Fail("for", "invalid field 'for' or 'annotations' in recording rule");
      }
      rule.labels = x.StringMap("labels");
      rule.annotations = x.StringMap("annotations");
      x.Finish();
      group.rules.push_back(std::move(rule));
    }
    g.Ignore({"limit", "query_offset"});
    g.Finish();
    out->rule_groups.push_back(std::move(group));
  }
}

void DecodePrometheusRule(YamlReader& r, Manifests* out) {
  const ObjectMeta meta = DecodeMeta(r, true);
  if (auto spec = r.Object("spec")) {
    DecodeRuleGroups(
        *spec, (meta.namespace_.empty() ? "default" : meta.namespace_) + "/" + meta.name, out);
    spec->Finish();
  }
  r.Finish();
}

// ServiceMonitor and PodMonitor (monitoring.coreos.com/v1) say what Prometheus scrapes and
// how. The twin scrapes every target it runs at spec.serving.scrapeInterval and keeps the
// exporters' own labels (honor_labels), so an endpoint asking otherwise is warned about.
void DecodeScrapeMonitor(YamlReader& r, Manifests* out, const char* endpoints_key) {
  DecodeMeta(r, true);
  if (auto spec = r.Object("spec")) {
    spec->Ignore({"selector",
                  "namespaceSelector",
                  "jobLabel",
                  "targetLabels",
                  "podTargetLabels",
                  "sampleLimit",
                  "targetLimit",
                  "labelLimit",
                  "labelNameLengthLimit",
                  "labelValueLengthLimit",
                  "attachMetadata",
                  "scrapeProtocols",
                  "fallbackScrapeProtocol",
                  "keepDroppedTargets",
                  "scrapeClass",
                  "bodySizeLimit",
                  "selectorMechanism",
                  "nativeHistogramBucketLimit",
                  "nativeHistogramMinBucketFactor",
                  "scrapeClassicHistograms",
                  "convertClassicHistogramsToNHCB"});
    for (auto& ep : spec->ObjectList(endpoints_key)) {
      if (auto interval = ep.OptString("interval")) {
        size_t pos = 0;
        if (!ParsePrometheusDuration(*interval, &pos) || pos != interval->size()) {
          ep.Fail("interval", "not a Prometheus duration: \"" + *interval + "\"");
        }
        out->diagnostics.Warn(ep.Where(), ep.FieldPath("interval"),
                              "interval " + *interval +
                                  ": the twin scrapes every target every "
                                  "spec.serving.scrapeInterval (30s unless set), not per "
                                  "endpoint; set that to this interval to match");
      }
      const auto honor = ep.Bool("honorLabels");
      if (!honor.value_or(false)) {
        out->diagnostics.Warn(ep.Where(), ep.FieldPath("honorLabels"),
                              "honorLabels is false: Prometheus would rename an exporter's "
                              "labels that clash with the target's (pod -> exported_pod); the "
                              "twin keeps the exporters' own labels, as honorLabels: true");
      }
      for (const char* k : {"relabelings", "metricRelabelings"}) {
        if (ep.Has(k)) {
          ep.ObjectList(k);
          out->diagnostics.Warn(ep.Where(), ep.FieldPath(k),
                                std::string(k) +
                                    " are not applied: series keep the exporters' names and "
                                    "labels");
        }
      }
      ep.Ignore({"port",
                 "portNumber",
                 "targetPort",
                 "path",
                 "scheme",
                 "params",
                 "scrapeTimeout",
                 "honorTimestamps",
                 "trackTimestampsStaleness",
                 "tlsConfig",
                 "bearerTokenFile",
                 "bearerTokenSecret",
                 "authorization",
                 "basicAuth",
                 "oauth2",
                 "proxyUrl",
                 "followRedirects",
                 "enableHttp2",
                 "filterRunning",
                 "noProxy",
                 "proxyFromEnvironment",
                 "proxyConnectHeader"});
      ep.Finish();
    }
    spec->Finish();
  }
  r.Finish();
}

void DecodeServiceMonitor(YamlReader& r, Manifests* out) {
  DecodeScrapeMonitor(r, out, "endpoints");
}
void DecodePodMonitor(YamlReader& r, Manifests* out) {
  DecodeScrapeMonitor(r, out, "podMetricsEndpoints");
}

}  // namespace gputwin::api
