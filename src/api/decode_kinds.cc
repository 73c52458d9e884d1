#include "api/decode_kinds.h"

#include <algorithm>

#include "api/decode_core.h"
#include "api/not_modelled.h"
#include "core/cron_schedule.h"
#include "core/index_list.h"

namespace gputwin::api {
namespace {

PodTemplateSpec RequiredTemplate(YamlReader& spec) {
  auto t = spec.Object("template");
  if (!t) spec.Fail("template", "Required value");
  return DecodePodTemplate(*t);
}

LabelSelector SelectorOrTemplateLabels(YamlReader& spec, const PodTemplateSpec& tmpl,
                                       bool required) {
  auto sel = spec.Object("selector");
  if (!sel) {
    if (required) spec.Fail("selector", "Required value");
    LabelSelector s;
    s.match_labels = tmpl.metadata.labels;
    return s;
  }
  LabelSelector s = DecodeLabelSelector(*sel);
  if (s.Empty()) spec.Fail("selector", "Invalid value: empty selector is invalid for deployment");
  if (!s.Matches(tmpl.metadata.labels)) {
    spec.Fail("template.metadata.labels",
              "Invalid value: `selector` does not match template `labels`");
  }
  return s;
}

}  // namespace

void DecodeNode(YamlReader& r, Manifests* out) {
  Node n;
  n.metadata = DecodeMeta(r, false);
  if (auto spec = r.Object("spec")) {
    n.unschedulable = spec->Bool("unschedulable").value_or(false);
    n.taints = DecodeTaints(*spec, "taints");
    n.provider_id = spec->String("providerID");
    spec->Ignore({"podCIDR", "podCIDRs", "configSource", "externalID"});
    spec->Finish();
  }
  if (auto status = r.Object("status")) {
    n.capacity = status->Resources("capacity");
    n.allocatable = status->Resources("allocatable");
    // ValidateNode: every quantity non-negative. Device resources bounded by what a machine
    // can hold (the largest have 16 GPUs; MIG or time-slicing replicas multiply them), so that
    // a typo such as "9e15" cannot ask for a quadrillion device records.
    constexpr int64_t kMaxDevicesPerNode = 4096;
    for (const char* field : {"capacity", "allocatable"}) {
      const auto& list = std::string(field) == "capacity" ? n.capacity : n.allocatable;
      for (const auto& [name, q] : list) {
        const std::string at = status->FieldPath(field) + "[" + name + "]";
        const YAML::Node where = status->Raw(field)[name];
        if (q.milli < 0) {
          status->FailAt(
              where, at,
              "Invalid value: \"" + FormatQuantity(q) + "\": must be greater than or equal to 0");
        }
        if (name.starts_with("nvidia.com/") && q.milli / 1000 > kMaxDevicesPerNode) {
          status->FailAt(where, at,
                         "Invalid value: \"" + FormatQuantity(q) + "\": more than " +
                             std::to_string(kMaxDevicesPerNode) +
                             " devices on one node, more than any machine (GPUs x MIG instances or "
                             "time-slicing replicas) advertises");
        }
      }
    }
    for (auto& img : status->ObjectList("images")) {
      ContainerImage ci;
      ci.names = img.StringList("names");
      ci.size_bytes = img.Int("sizeBytes", 0).value_or(0);
      img.Finish();
      if (!ci.names.empty()) n.images.push_back(std::move(ci));
    }
    status->Ignore({"conditions", "addresses", "daemonEndpoints", "nodeInfo", "volumesInUse",
                    "volumesAttached", "config", "phase", "runtimeHandlers", "features"});
    status->Finish();
  }
  if (n.allocatable.empty()) n.allocatable = n.capacity;
  if (n.allocatable.empty()) {
    r.Fail("status.allocatable",
           "Required value: a node needs status.capacity or status.allocatable");
  }
  // The kubelet's default --max-pods.
  n.allocatable.emplace("pods", Quantity{110'000});
  r.Finish();
  out->nodes.push_back(std::move(n));
}

Pod DecodePodObject(YamlReader& r, bool require_name) {
  Pod p;
  p.metadata = DecodeMeta(r, true, require_name);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  p.spec = DecodePodSpec(*spec);
  if (auto status = r.Object("status")) {
    // A snapshot's pod: its phase (a finished pod holds nothing); the rest is the kubelet's.
    p.status_phase = status->String("phase");
  }
  r.Finish();
  return p;
}

void DecodePod(YamlReader& r, Manifests* out) {
  out->pods.push_back(DecodePodObject(r));
}

void DecodeDeployment(YamlReader& r, Manifests* out) {
  Deployment d;
  d.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  d.replicas = static_cast<int32_t>(spec->Int("replicas", 0, INT32_MAX).value_or(1));
  d.template_ = RequiredTemplate(*spec);
  d.selector = SelectorOrTemplateLabels(*spec, d.template_, true);
  if (d.template_.spec.restart_policy != "Always") {
    spec->Fail("template.spec.restartPolicy", "Unsupported value: \"" +
                                                  d.template_.spec.restart_policy +
                                                  "\": supported values: \"Always\"");
  }
  if (auto strategy = spec->Object("strategy")) {
    d.strategy = strategy->String("type", "RollingUpdate");
    strategy->Ignore({"rollingUpdate"});
    strategy->Finish();
  }
  spec->Ignore({"minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds", "paused"});
  spec->Finish();
  r.Finish();
  out->deployments.push_back(std::move(d));
}

void DecodeReplicaSet(YamlReader& r, Manifests* out) {
  ReplicaSet rs;
  rs.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  rs.replicas = static_cast<int32_t>(spec->Int("replicas", 0, INT32_MAX).value_or(1));
  rs.template_ = RequiredTemplate(*spec);
  rs.selector = SelectorOrTemplateLabels(*spec, rs.template_, true);
  spec->Ignore({"minReadySeconds"});
  spec->Finish();
  r.Finish();
  out->replica_sets.push_back(std::move(rs));
}

namespace {

// spec.podFailurePolicy, validated as pkg/apis/batch/validation validatePodFailurePolicy.
std::vector<PodFailurePolicyRule> DecodePodFailurePolicy(YamlReader& policy, const Job& j) {
  std::vector<PodFailurePolicyRule> rules;
  auto list = policy.ObjectList("rules");
  if (list.size() > 20)
    policy.Fail("rules",
                "Too many: " + std::to_string(list.size()) + ": must have at most 20 items");
  for (auto& rr : list) {
    PodFailurePolicyRule rule;
    rule.action = rr.RequiredString("action");
    if (rule.action != "FailJob" && rule.action != "FailIndex" && rule.action != "Ignore" &&
        rule.action != "Count") {
      rr.Fail("action",
              "Unsupported value: \"" + rule.action +
                  "\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"");
    }
    if (rule.action == "FailIndex" && !j.backoff_limit_per_index) {
      rr.Fail("action",
              "Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set");
    }
    const bool codes = rr.Has("onExitCodes"), conds = rr.Has("onPodConditions");
    if (codes && conds) {
      rr.Fail("onExitCodes",
              "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported");
    }
    if (!codes && !conds) {
      rr.Fail("action",
              "Invalid value: specifying one of OnExitCodes and OnPodConditions is required");
    }
    if (auto ec = rr.Object("onExitCodes")) {
      rule.on_exit_codes = true;
      rule.container_name = ec->OptString("containerName");
      if (rule.container_name) {
        bool found = false;
        for (const auto* cs : {&j.template_->spec.containers, &j.template_->spec.init_containers}) {
          for (const auto& c : *cs) found = found || c.name == *rule.container_name;
        }
        if (!found) {
          ec->Fail(
              "containerName",
              "Invalid value: \"" + *rule.container_name +
                  "\": must be one of the container or initContainer names in the pod template");
        }
      }
      rule.exit_code_operator = ec->RequiredString("operator");
      if (rule.exit_code_operator != "In" && rule.exit_code_operator != "NotIn") {
        ec->Fail("operator", "Unsupported value: \"" + rule.exit_code_operator +
                                 "\": supported values: \"In\", \"NotIn\"");
      }
      YAML::Node values = ec->Raw("values");
      if (!values || !values.IsSequence() || values.size() == 0) {
        ec->Fail("values", "Required value: at least one value is required");
      }
      if (values.size() > 255) ec->Fail("values", "Too many: must have at most 255 items");
      for (const auto& v : values) {
        int32_t code = 0;
        try {
          code = v.as<int32_t>();
        } catch (const YAML::Exception&) {
          ec->FailAt(v, "values", "Invalid value: \"" + v.Scalar() + "\": must be an integer");
        }
        if (!rule.exit_code_values.empty() && code == rule.exit_code_values.back()) {
          ec->FailAt(v, "values", "Duplicate value: " + std::to_string(code));
        }
        if (!rule.exit_code_values.empty() && code < rule.exit_code_values.back()) {
          ec->FailAt(v, "values", "Invalid value: " + std::to_string(code) + ": must be ordered");
        }
        if (code == 0 && rule.exit_code_operator == "In") {
          ec->FailAt(v, "values", "Invalid value: 0: must not be 0 for the In operator");
        }
        rule.exit_code_values.push_back(code);
      }
      ec->Ignore({"values"});
      ec->Finish();
    }
    auto patterns = rr.ObjectList("onPodConditions");
    if (conds && patterns.empty())
      rr.Fail("onPodConditions", "Required value: at least one pattern is required");
    if (patterns.size() > 20) rr.Fail("onPodConditions", "Too many: must have at most 20 items");
    for (auto& pc : patterns) {
      std::string type = pc.RequiredString("type");
      std::string status = pc.String("status", "True");
      if (status != "True" && status != "False" && status != "Unknown") {
        pc.Fail("status", "Unsupported value: \"" + status +
                              "\": supported values: \"False\", \"True\", \"Unknown\"");
      }
      rule.on_pod_conditions.emplace_back(std::move(type), std::move(status));
      pc.Finish();
    }
    rr.Finish();
    rules.push_back(std::move(rule));
  }
  policy.Finish();
  return rules;
}

}  // namespace

Job DecodeJobObject(YamlReader& r, bool require_name, bool jobset_defaults) {
  Job j;
  j.metadata = DecodeMeta(r, true, require_name);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  // A JobSet's webhook defaults its Job templates before the Jobs exist: completionMode
  // Indexed and the pods' restartPolicy OnFailure (jobset_webhook.go Default).
  bool default_restart_policy = false;
  if (jobset_defaults) {
    // (Only maps are indexed: yaml-cpp throws on a scalar; the template's own decode below
    // refuses one with its line.)
    auto t = spec->Raw("template");
    default_restart_policy =
        !(t && t.IsMap() && t["spec"] && t["spec"].IsMap() && t["spec"]["restartPolicy"]);
  }
  if (auto p = spec->Int("parallelism", 0, INT32_MAX)) j.parallelism = static_cast<int32_t>(*p);
  if (auto c = spec->Int("completions", 0, INT32_MAX)) j.completions = static_cast<int32_t>(*c);
  if (auto b = spec->Int("backoffLimitPerIndex", 0, INT32_MAX)) {
    j.backoff_limit_per_index = static_cast<int32_t>(*b);
  }
  if (auto m = spec->Int("maxFailedIndexes", 0, INT32_MAX)) {
    j.max_failed_indexes = static_cast<int32_t>(*m);
  }
  // With backoffLimitPerIndex the API server defaults backoffLimit to MaxInt32.
  j.backoff_limit = static_cast<int32_t>(
      spec->Int("backoffLimit", 0, INT32_MAX).value_or(j.backoff_limit_per_index ? INT32_MAX : 6));
  j.active_deadline_seconds = spec->Int("activeDeadlineSeconds", 1);
  j.ttl_seconds_after_finished = spec->Int("ttlSecondsAfterFinished", 0);
  j.suspend = spec->Bool("suspend").value_or(false);
  j.completion_mode = spec->String("completionMode", jobset_defaults ? "Indexed" : "NonIndexed");
  // The Job's own defaulting: with neither given, one pod to one completion.
  if (jobset_defaults && !j.parallelism && !j.completions) j.completions = 1;
  if (j.completion_mode != "NonIndexed" && j.completion_mode != "Indexed") {
    spec->Fail("completionMode", "Unsupported value: \"" + j.completion_mode +
                                     "\": supported values: \"NonIndexed\", \"Indexed\"");
  }
  j.template_ = RequiredTemplate(*spec);
  if (default_restart_policy) j.template_->spec.restart_policy = "OnFailure";
  if (j.template_->spec.restart_policy == "Always") {
    spec->Fail("template.spec.restartPolicy",
               "Required value: valid values: \"OnFailure\", \"Never\"");
  }
  if (j.completion_mode == "Indexed" && !j.completions) {
    spec->Fail("completions", std::string("Required value: when completion mode is Indexed") +
                                  (jobset_defaults ? " (a JobSet's Jobs default to Indexed)" : ""));
  }
  const bool indexed = j.completion_mode == "Indexed";
  if (j.backoff_limit_per_index && !indexed) {
    spec->Fail("backoffLimitPerIndex",
               "Invalid value: " + std::to_string(*j.backoff_limit_per_index) +
                   ": requires indexed completion mode");
  }
  if (j.max_failed_indexes) {
    if (!j.backoff_limit_per_index) {
      spec->Fail("maxFailedIndexes",
                 "Invalid value: requires backoffLimitPerIndex (Required value: when "
                 "maxFailedIndexes is specified)");
    }
    if (*j.max_failed_indexes > *j.completions) {
      spec->Fail("maxFailedIndexes", "Invalid value: " + std::to_string(*j.max_failed_indexes) +
                                         ": must be less than or equal to completions");
    }
  }
  if (auto policy = spec->Object("podFailurePolicy")) {
    if (j.template_->spec.restart_policy != "Never") {
      spec->Fail("template.spec.restartPolicy",
                 "Invalid value: \"" + j.template_->spec.restart_policy +
                     "\": only \"Never\" is supported when podFailurePolicy is specified");
    }
    j.pod_failure_policy = DecodePodFailurePolicy(*policy, j);
  }
  if (auto sp = spec->Object("successPolicy")) {
    if (!indexed) {
      spec->Fail("successPolicy", "Invalid value: requires indexed completion mode");
    }
    auto rules = sp->ObjectList("rules");
    if (rules.empty())
      sp->Fail("rules",
               "Required value: at least one rules must be specified when the successPolicy is "
               "specified");
    if (rules.size() > 20) sp->Fail("rules", "Too many: must have at most 20 items");
    for (auto& rr : rules) {
      SuccessPolicyRule rule;
      rule.succeeded_indexes = rr.OptString("succeededIndexes");
      if (auto c = rr.Int("succeededCount", 0, INT32_MAX))
        rule.succeeded_count = static_cast<int32_t>(*c);
      if (!rule.succeeded_indexes && !rule.succeeded_count) {
        rr.Fail(
            "succeededCount",
            "Required value: at least one of succeededCount or succeededIndexes must be specified");
      }
      int64_t listed = *j.completions;
      if (rule.succeeded_indexes) {
        auto err = CountIndexList(*rule.succeeded_indexes, *j.completions, &listed);
        if (err) {
          rr.Fail("succeededIndexes", "Invalid value: \"" + *rule.succeeded_indexes +
                                          "\": error parsing succeededIndexes: " + *err);
        }
      }
      if (rule.succeeded_count && *rule.succeeded_count > listed) {
        rr.Fail("succeededCount",
                "Invalid value: " + std::to_string(*rule.succeeded_count) +
                    ": must be less than or equal to " + std::to_string(listed) +
                    (rule.succeeded_indexes ? " (the number of indexes in succeededIndexes)"
                                            : " (the number of completions)"));
      }
      rr.Finish();
      j.success_policy.push_back(std::move(rule));
    }
    sp->Finish();
  }
  WarnNotModelled(*spec, "Job", "spec");
  spec->Ignore({"selector", "manualSelector"});
  spec->Finish();
  r.Finish();
  return j;
}

void DecodeJob(YamlReader& r, Manifests* out) {
  out->jobs.push_back(DecodeJobObject(r));
}

// batch/v1 CronJob, validated as pkg/apis/batch/validation ValidateCronJobSpec.
void DecodeCronJob(YamlReader& r, Manifests* out) {
  CronJob cj;
  cj.metadata = DecodeMeta(r, true);
  // The Jobs are named <name>-<minutes>, within the 63 characters of a label value.
  if (cj.metadata.name.size() > 52) {
    r.Fail("metadata.name",
           "Invalid value: \"" + cj.metadata.name + "\": must be no more than 52 characters");
  }
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  cj.schedule = spec->RequiredString("schedule");
  if (cj.schedule.starts_with("TZ=") || cj.schedule.starts_with("CRON_TZ=")) {
    spec->Fail("schedule", "Invalid value: \"" + cj.schedule +
                               "\": cannot use TZ or CRON_TZ in schedule, use timeZone field "
                               "instead");
  }
  try {
    CronSchedule::Parse(cj.schedule);
  } catch (const std::invalid_argument& e) {
    spec->Fail("schedule", "Invalid value: \"" + cj.schedule + "\": " + e.what());
  }
  cj.time_zone = spec->OptString("timeZone");
  if (cj.time_zone && !CronSchedule::ValidZone(*cj.time_zone)) {
    spec->Fail("timeZone",
               "Invalid value: \"" + *cj.time_zone + "\": unknown time zone " + *cj.time_zone);
  }
  cj.starting_deadline_seconds = spec->Int("startingDeadlineSeconds", 0);
  cj.concurrency_policy = spec->String("concurrencyPolicy", "Allow");
  CheckOneOf(*spec, "concurrencyPolicy", cj.concurrency_policy, {"Allow", "Forbid", "Replace"});
  cj.suspend = spec->Bool("suspend").value_or(false);
  cj.successful_jobs_history_limit =
      static_cast<int32_t>(spec->Int("successfulJobsHistoryLimit", 0, INT32_MAX).value_or(3));
  cj.failed_jobs_history_limit =
      static_cast<int32_t>(spec->Int("failedJobsHistoryLimit", 0, INT32_MAX).value_or(1));
  auto tmpl = spec->Object("jobTemplate");
  if (!tmpl) spec->Fail("jobTemplate", "Required value");
  cj.job_template = DecodeJobObject(*tmpl, /*require_name=*/false);
  cj.job_template.metadata.namespace_ = cj.metadata.namespace_;
  spec->Finish();
  r.Finish();
  out->cron_jobs.push_back(std::move(cj));
}

void DecodeDaemonSet(YamlReader& r, Manifests* out) {
  DaemonSet ds;
  ds.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  ds.template_ = RequiredTemplate(*spec);
  ds.selector = SelectorOrTemplateLabels(*spec, ds.template_, true);
  spec->Ignore({"updateStrategy", "minReadySeconds", "revisionHistoryLimit"});
  spec->Finish();
  r.Finish();
  out->daemon_sets.push_back(std::move(ds));
}

// apps/v1 StatefulSet (pkg/apis/apps/validation ValidateStatefulSetSpec).
void DecodeStatefulSet(YamlReader& r, Manifests* out) {
  StatefulSet ss;
  ss.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  ss.replicas = static_cast<int32_t>(spec->Int("replicas", 0, INT32_MAX).value_or(1));
  ss.template_ = RequiredTemplate(*spec);
  if (ss.template_.spec.restart_policy != "Always") {
    spec->Fail("template.spec.restartPolicy", "Unsupported value: \"" +
                                                  ss.template_.spec.restart_policy +
                                                  "\": supported values: \"Always\"");
  }
  if (!spec->Has("selector")) spec->Fail("selector", "Required value");
  ss.selector = SelectorOrTemplateLabels(*spec, ss.template_, true);
  ss.service_name = spec->String("serviceName");
  ss.pod_management_policy = spec->String("podManagementPolicy", "OrderedReady");
  CheckOneOf(*spec, "podManagementPolicy", ss.pod_management_policy, {"OrderedReady", "Parallel"});
  ss.min_ready_seconds =
      static_cast<int32_t>(spec->Int("minReadySeconds", 0, INT32_MAX).value_or(0));
  if (auto o = spec->Object("ordinals")) {
    ss.ordinals_start = static_cast<int32_t>(o->Int("start", 0, INT32_MAX).value_or(0));
    o->Finish();
  }
  if (spec->Has("volumeClaimTemplates") && r.diagnostics()) {
    r.diagnostics()->Warn(spec->Where(spec->Raw("volumeClaimTemplates")),
                          spec->FieldPath("volumeClaimTemplates"),
                          "not modelled: upstream each pod gets its own PersistentVolumeClaim and "
                          "waits for it to bind, then stays in the volume's zone; the twin: pods "
                          "schedule as if their volumes were bound everywhere");
  }
  spec->Ignore({"volumeClaimTemplates", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy"});
  spec->Finish();
  r.Finish();
  out->stateful_sets.push_back(std::move(ss));
}

void DecodePriorityClass(YamlReader& r, Manifests* out) {
  PriorityClass pc;
  pc.metadata = DecodeMeta(r, false);
  auto v = r.Int("value", -2147483648LL, 1'000'000'000);
  if (!v) r.Fail("value", "Required value");
  pc.value = static_cast<int32_t>(*v);
  pc.global_default = r.Bool("globalDefault").value_or(false);
  pc.preemption_policy = r.String("preemptionPolicy", "PreemptLowerPriority");
  if (pc.preemption_policy != "PreemptLowerPriority" && pc.preemption_policy != "Never") {
    r.Fail("preemptionPolicy", "Unsupported value: \"" + pc.preemption_policy +
                                   "\": supported values: \"Never\", \"PreemptLowerPriority\"");
  }
  r.Ignore({"description"});
  r.Finish();
  out->priority_classes.push_back(std::move(pc));
}

void DecodeNamespace(YamlReader& r, Manifests* out) {
  Namespace ns;
  ns.metadata = DecodeMeta(r, false);
  r.Ignore({"spec"});
  r.Finish();
  out->namespaces.push_back(std::move(ns));
}

void DecodeConfigMap(YamlReader& r, Manifests* out) {
  ConfigMap cm;
  cm.metadata = DecodeMeta(r, true);
  cm.data = r.StringMap("data");
  // Where each value's text starts, so errors inside embedded configs name the real line
  // (a block scalar's text starts on the line after its '|').
  if (r.Has("data")) {
    YAML::Node data = r.Raw("data");
    for (const auto& kv : data) {
      int line = kv.second.Mark().line + 1;
      const std::string& v = kv.second.Scalar();
      if (v.find('\n') != std::string::npos) ++line;
      cm.data_lines[kv.first.Scalar()] = line;
    }
  }
  r.Ignore({"binaryData", "immutable"});
  r.Finish();
  out->config_maps.push_back(std::move(cm));
}

void DecodeResourceQuota(YamlReader& r, Manifests* out) {
  ResourceQuota q;
  q.metadata = DecodeMeta(r, true);
  if (auto spec = r.Object("spec")) {
    q.hard = spec->Resources("hard");
    for (const auto& [name, qty] : q.hard) {
      // Quota on extended resources is only allowed as requests.<name> (ValidateResourceQuota).
      if (name.find('/') != std::string::npos && !name.starts_with("requests.") &&
          !name.starts_with("count/") && !name.starts_with("kubernetes.io/")) {
        spec->Fail("hard." + name, "Invalid value: \"" + name +
                                       "\": must be a standard resource for quota; use "
                                       "requests." +
                                       name);
      }
    }
    spec->Ignore({"scopes", "scopeSelector"});
    spec->Finish();
  }
  r.Finish();
  out->resource_quotas.push_back(std::move(q));
}

void DecodeService(YamlReader& r, Manifests* out) {
  Service svc;
  svc.metadata = DecodeMeta(r, true);
  if (auto spec = r.Object("spec")) {
    svc.type = spec->String("type", "ClusterIP");
    CheckOneOf(*spec, "type", svc.type, {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"});
    svc.selector = spec->StringMap("selector");
    svc.session_affinity = spec->String("sessionAffinity", "None");
    svc.publish_not_ready_addresses = spec->Bool("publishNotReadyAddresses").value_or(false);
    CheckOneOf(*spec, "sessionAffinity", svc.session_affinity, {"None", "ClientIP"});
    for (auto& p : spec->ObjectList("ports")) {
      ServicePort port;
      port.name = p.String("name");
      port.protocol = p.String("protocol", "TCP");
      auto n = p.Int("port", 1, 65535);
      if (!n) p.Fail("port", "Required value");
      port.port = static_cast<int32_t>(*n);
      if (p.Has("targetPort")) port.target_port = p.String("targetPort");
      p.Ignore({"nodePort", "appProtocol"});
      p.Finish();
      svc.ports.push_back(port);
    }
    spec->Ignore({"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                  "internalTrafficPolicy", "externalTrafficPolicy", "externalName", "externalIPs",
                  "loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass",
                  "allocateLoadBalancerNodePorts", "healthCheckNodePort", "sessionAffinityConfig",
                  "trafficDistribution"});
    spec->Finish();
  }
  r.Finish();
  out->services.push_back(std::move(svc));
}

namespace {
IngressBackend DecodeIngressBackend(YamlReader& b) {
  IngressBackend out;
  auto svc = b.Object("service");
  if (!svc)
    b.Fail("service",
           "Required value: the twin routes to Services (resource backends are not modelled)");
  out.service = svc->RequiredString("name");
  if (auto port = svc->Object("port")) {
    out.port = port->Has("number") ? std::to_string(port->Int("number", 1, 65535).value_or(0))
                                   : port->String("name");
    port->Finish();
  }
  svc->Finish();
  b.Ignore({"resource"});
  b.Finish();
  return out;
}
}  // namespace

void DecodeIngress(YamlReader& r, Manifests* out) {
  Ingress ing;
  ing.metadata = DecodeMeta(r, true);
  if (auto spec = r.Object("spec")) {
    ing.ingress_class = spec->String("ingressClassName");
    if (auto d = spec->Object("defaultBackend")) ing.default_backend = DecodeIngressBackend(*d);
    for (auto& rule : spec->ObjectList("rules")) {
      const std::string host = rule.String("host");
      if (auto http = rule.Object("http")) {
        for (auto& p : http->ObjectList("paths")) {
          auto b = p.Object("backend");
          if (!b) p.Fail("backend", "Required value");
          IngressBackend be = DecodeIngressBackend(*b);
          be.host = host;
          be.path = p.String("path", "/");
          p.Ignore({"pathType"});
          p.Finish();
          ing.backends.push_back(be);
        }
        http->Finish();
      }
      rule.Finish();
    }
    spec->Ignore({"tls"});
    spec->Finish();
  }
  r.Finish();
  out->ingresses.push_back(std::move(ing));
}

void DecodePodDisruptionBudget(YamlReader& r, Manifests* out) {
  PodDisruptionBudget pdb;
  pdb.metadata = DecodeMeta(r, true);
  if (auto spec = r.Object("spec")) {
    // ValidatePodDisruptionBudgetSpec: one of the two, each a non-negative int or a
    // percentage of at most 100%.
    for (const char* field : {"minAvailable", "maxUnavailable"}) {
      std::optional<std::string> v = spec->OptString(field);
      if (!v) continue;
      bool percent = v->ends_with("%");
      std::string digits = percent ? v->substr(0, v->size() - 1) : *v;
      bool ok =
          !digits.empty() && digits.size() < 10 &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!ok) {
        spec->Fail(field,
                   "Invalid value: \"" + *v + "\": must be a non-negative integer or a percentage");
      }
      if (percent && std::stoll(digits) > 100) {
        spec->Fail(field, "Invalid value: \"" + *v + "\": must not be greater than 100%");
      }
      (std::string(field) == "minAvailable" ? pdb.min_available : pdb.max_unavailable) = *v;
    }
    if (pdb.min_available && pdb.max_unavailable) {
      spec->Fail("maxUnavailable",
                 "Invalid value: minAvailable and maxUnavailable cannot be both set");
    }
    if (auto sel = spec->Object("selector")) pdb.selector = DecodeLabelSelector(*sel);
    spec->Ignore({"unhealthyPodEvictionPolicy"});
    spec->Finish();
  }
  r.Ignore({"status"});
  r.Finish();
  out->pod_disruption_budgets.push_back(std::move(pdb));
}

void DecodeLimitRange(YamlReader& r, Manifests* out) {
  LimitRange lr;
  lr.metadata = DecodeMeta(r, true);
  if (auto spec = r.Object("spec")) {
    for (auto& item : spec->ObjectList("limits")) {
      LimitRangeItem li;
      li.type = item.RequiredString("type");
      li.max = item.Resources("max");
      li.min = item.Resources("min");
      li.default_limits = item.Resources("default");
      li.default_requests = item.Resources("defaultRequest");
      item.Ignore({"maxLimitRequestRatio"});
      item.Finish();
      lr.limits.push_back(std::move(li));
    }
    spec->Finish();
  }
  r.Finish();
  out->limit_ranges.push_back(std::move(lr));
}

void DecodeClusterPolicy(YamlReader& r, Manifests* out) {
  ClusterPolicy cp;
  cp.metadata = DecodeMeta(r, false);
  // The CRD has dozens of component sections; only these change what the twin does.
  if (auto spec = r.Object("spec")) {
    if (auto dp = spec->Object("devicePlugin")) {
      if (auto cfg = dp->Object("config")) {
        cp.device_plugin_config_name = cfg->String("name");
        cp.device_plugin_default_config = cfg->String("default");
      }
    }
    if (auto mig = spec->Object("mig")) cp.mig_strategy = mig->String("strategy", "single");
    if (auto mm = spec->Object("migManager")) {
      cp.mig_manager_enabled = mm->Bool("enabled").value_or(true);
      if (auto cfg = mm->Object("config")) {
        cp.mig_manager_config_name = cfg->String("name");
        cp.mig_manager_default_config = cfg->String("default");
      }
    }
    // driver.enabled: false when the node image ships the driver (EKS accelerated AMIs,
    // Bottlerocket NVIDIA): no driver container to install on a new node.
    if (auto drv = spec->Object("driver")) {
      cp.driver_enabled = drv->Bool("enabled").value_or(true);
      cp.driver_version = drv->String("version");  // read for lint (CUDA compatibility)
    }
    if (auto dcgm = spec->Object("dcgmExporter")) {
      cp.dcgm_exporter_enabled = dcgm->Bool("enabled").value_or(true);
      cp.dcgm_exporter_args = dcgm->StringList("args");
      for (auto& e : dcgm->ObjectList("env")) {
        const std::string name = e.RequiredString("name");
        if (auto v = e.OptString("value")) cp.dcgm_exporter_env.emplace_back(name, *v);
      }
    }
  }
  out->gpu_operator = cp;
}

}  // namespace gputwin::api
