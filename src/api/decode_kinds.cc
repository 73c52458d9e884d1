#include "api/decode_kinds.h"

#include <algorithm>
#include <regex>
#include <set>

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
        for (const auto* cs : {&j.template_.spec.containers, &j.template_.spec.init_containers}) {
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
    auto t = spec->Raw("template");
    default_restart_policy = !(t && t["spec"] && t["spec"]["restartPolicy"]);
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
  if (default_restart_policy) j.template_.spec.restart_policy = "OnFailure";
  if (j.template_.spec.restart_policy == "Always") {
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
    if (j.template_.spec.restart_policy != "Never") {
      spec->Fail("template.spec.restartPolicy",
                 "Invalid value: \"" + j.template_.spec.restart_policy +
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
      int32_t listed = *j.completions;
      if (rule.succeeded_indexes) {
        std::vector<bool> set;
        auto err = ParseIndexList(*rule.succeeded_indexes, *j.completions, &set);
        listed = static_cast<int32_t>(std::count(set.begin(), set.end(), true));
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

// jobset.x-k8s.io/v1alpha2 JobSet, defaulted and validated as its webhook does
// (pkg/webhooks/jobset_webhook.go) and its CRD's CEL rules.
void DecodeJobSet(YamlReader& r, Manifests* out) {
  JobSet js;
  js.metadata = DecodeMeta(r, true);
  if (auto it = js.metadata.annotations.find("alpha.jobset.sigs.k8s.io/exclusive-topology");
      it != js.metadata.annotations.end()) {
    js.exclusive_topology = it->second;
  }
  if (js.metadata.annotations.count("alpha.jobset.sigs.k8s.io/node-selector")) {
    r.diagnostics()->Warn(r.Where(), "metadata.annotations",
                          "alpha.jobset.sigs.k8s.io/node-selector is not modelled: exclusive "
                          "placement uses pod affinity, as without it");
  }
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  std::set<std::string> names;
  auto rjobs = spec->ObjectList("replicatedJobs");
  if (rjobs.empty()) spec->Fail("replicatedJobs", "Required value: at least one replicatedJob");
  for (auto& rj : rjobs) {
    ReplicatedJob x;
    x.source = rj.Where();
    x.name = rj.RequiredString("name");
    if (!names.insert(x.name).second) {
      rj.Fail("name", "Duplicate value: \"" + x.name + "\"");
    }
    // Job names <jobset>-<replicatedJob>-<index> must stay valid DNS labels.
    const size_t job_name = js.metadata.name.size() + 1 + x.name.size() + 2;
    if (job_name > 63) {
      rj.Fail("name", "Invalid value: \"" + x.name +
                          "\": JobSet name and replicatedJob name together make Job names "
                          "longer than 63 characters");
    }
    x.group_name = rj.String("groupName", "default");
    x.replicas = static_cast<int32_t>(rj.Int("replicas", 0, INT32_MAX).value_or(1));
    auto tmpl = rj.Object("template");
    if (!tmpl) rj.Fail("template", "Required value");
    x.template_ = DecodeJobObject(*tmpl, /*require_name=*/false, /*jobset_defaults=*/true);
    x.template_.metadata.namespace_ = js.metadata.namespace_;
    if (auto it =
            x.template_.metadata.annotations.find("alpha.jobset.sigs.k8s.io/exclusive-topology");
        it != x.template_.metadata.annotations.end() && js.exclusive_topology.empty()) {
      js.exclusive_topology = it->second;
    }
    auto deps = rj.ObjectList("dependsOn");
    if (deps.size() > 1) rj.Fail("dependsOn", "Too many: must have at most 1 item");
    for (auto& d : deps) {
      x.depends_on = d.RequiredString("name");
      x.depends_on_status = d.RequiredString("status");
      CheckOneOf(d, "status", x.depends_on_status, {"Ready", "Complete"});
      if (js.replicated_jobs.empty() ||
          std::none_of(js.replicated_jobs.begin(), js.replicated_jobs.end(),
                       [&](const ReplicatedJob& p) { return p.name == x.depends_on; })) {
        d.Fail("name", "Invalid value: \"" + x.depends_on +
                           "\": dependsOn must name a replicatedJob listed before this one");
      }
      d.Finish();
    }
    rj.Finish();
    js.replicated_jobs.push_back(std::move(x));
  }
  auto known = [&](YamlReader& at, const char* key, const std::vector<std::string>& targets) {
    for (const auto& t : targets) {
      if (!names.count(t)) {
        at.Fail(key, "Invalid value: \"" + t + "\": no replicatedJob of that name");
      }
    }
  };
  if (auto sp = spec->Object("successPolicy")) {
    js.success_operator = sp->String("operator", "All");
    CheckOneOf(*sp, "operator", js.success_operator, {"All", "Any"});
    js.success_target_replicated_jobs = sp->StringList("targetReplicatedJobs");
    known(*sp, "targetReplicatedJobs", js.success_target_replicated_jobs);
    sp->Finish();
  }
  if (auto fp = spec->Object("failurePolicy")) {
    js.failure_policy = true;
    js.max_restarts = static_cast<int32_t>(fp->Int("maxRestarts", 0, INT32_MAX).value_or(0));
    js.restart_strategy = fp->String("restartStrategy", "Recreate");
    CheckOneOf(*fp, "restartStrategy", js.restart_strategy,
               {"Recreate", "BlockingRecreate", "InPlaceRestart"});
    if (js.restart_strategy == "InPlaceRestart") {
      fp->diagnostics()->Warn(fp->Where(), fp->FieldPath("restartStrategy"),
                              "InPlaceRestart is not modelled: the Jobs are recreated (Recreate)");
    }
    std::set<std::string> rule_names;
    auto rules = fp->ObjectList("rules");
    for (size_t i = 0; i < rules.size(); ++i) {
      auto& rr = rules[i];
      JobSetFailurePolicyRule rule;
      rule.name = rr.String("name", "failurePolicyRule" + std::to_string(i));
      if (!rule_names.insert(rule.name).second) {
        rr.Fail("name", "Duplicate value: \"" + rule.name + "\"");
      }
      rule.action = rr.RequiredString("action");
      CheckOneOf(rr, "action", rule.action,
                 {"FailJobSet", "RestartJobSet", "RestartJobSetAndIgnoreMaxRestarts", "RestartJob",
                  "RestartJobAndIgnoreMaxRestarts"});
      if (rule.action == "RestartJob" || rule.action == "RestartJobAndIgnoreMaxRestarts") {
        rr.diagnostics()->Warn(rr.Where(), rr.FieldPath("action"),
                               rule.action +
                                   " needs JobSet's alpha RestartJob feature gate (off by "
                                   "default); the twin restarts the whole JobSet instead");
      }
      rule.on_job_failure_reasons = rr.StringList("onJobFailureReasons");
      for (const auto& reason : rule.on_job_failure_reasons) {
        static const std::set<std::string> kReasons = {"BackoffLimitExceeded", "DeadlineExceeded",
                                                       "PodFailurePolicy",
                                                       "MaxFailedIndexesExceeded", "FailedIndexes"};
        if (!kReasons.count(reason)) {
          rr.Fail("onJobFailureReasons",
                  "Unsupported value: \"" + reason +
                      "\": supported values: \"BackoffLimitExceeded\", \"DeadlineExceeded\", "
                      "\"FailedIndexes\", \"MaxFailedIndexesExceeded\", \"PodFailurePolicy\"");
        }
      }
      rule.on_job_failure_message_patterns = rr.StringList("onJobFailureMessagePatterns");
      for (const auto& pattern : rule.on_job_failure_message_patterns) {
        try {
          std::regex re(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          rr.Fail("onJobFailureMessagePatterns",
                  "Invalid value: \"" + pattern + "\": not a regular expression");
        }
      }
      rule.target_replicated_jobs = rr.StringList("targetReplicatedJobs");
      known(rr, "targetReplicatedJobs", rule.target_replicated_jobs);
      rr.Finish();
      js.failure_rules.push_back(std::move(rule));
    }
    fp->Finish();
  }
  if (auto st = spec->Object("startupPolicy")) {
    js.startup_policy_order = st->RequiredString("startupPolicyOrder");
    CheckOneOf(*st, "startupPolicyOrder", js.startup_policy_order, {"AnyOrder", "InOrder"});
    st->Finish();
  }
  if (js.startup_policy_order == "InOrder" &&
      std::any_of(js.replicated_jobs.begin(), js.replicated_jobs.end(),
                  [](const ReplicatedJob& x) { return !x.depends_on.empty(); })) {
    spec->Fail("startupPolicy",
               "Invalid value: StartupPolicy and DependsOn APIs are mutually exclusive");
  }
  js.suspend = spec->Bool("suspend").value_or(false);
  if (auto ttl = spec->Int("ttlSecondsAfterFinished", 0, INT32_MAX)) {
    js.ttl_seconds_after_finished = static_cast<int32_t>(*ttl);
  }
  js.managed_by = spec->OptString("managedBy");
  if (js.managed_by && *js.managed_by != "jobset.sigs.k8s.io/jobset-controller") {
    spec->diagnostics()->Warn(spec->Where(), spec->FieldPath("managedBy"),
                              "\"" + *js.managed_by +
                                  "\": the JobSet controller leaves this JobSet to that "
                                  "controller; no Jobs are created");
  }
  if (auto net = spec->Object("network")) {
    js.enable_dns_hostnames = net->Bool("enableDNSHostnames").value_or(true);
    js.subdomain = net->String("subdomain", js.metadata.name);
    // DNS records for pod discovery: nothing the twin's scheduling or timing reads.
    net->Ignore({"publishNotReadyAddresses"});
    net->Finish();
  } else {
    js.subdomain = js.metadata.name;
  }
  // The coordinator only adds an annotation naming one pod's endpoint.
  spec->Ignore({"coordinator"});
  WarnNotModelled(*spec, "JobSet", "spec");
  spec->Finish();
  r.Finish();
  out->job_sets.push_back(std::move(js));
}

// kubeflow.org/v1 PyTorchJob, validated as the training operator's webhook does
// (pkg/webhooks/pytorch/pytorchjob_webhook.go) and defaulted as its controller does in
// memory (SetDefaults_PyTorchJob: replicas 1, restartPolicy OnFailure, cleanPodPolicy None).
void DecodePyTorchJob(YamlReader& r, Manifests* out) {
  PyTorchJob job;
  job.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  if (auto run = spec->Object("runPolicy")) {
    job.clean_pod_policy = run->String("cleanPodPolicy", "None");
    CheckOneOf(*run, "cleanPodPolicy", job.clean_pod_policy, {"All", "Running", "None"});
    if (auto t = run->Int("ttlSecondsAfterFinished", 0, INT32_MAX)) {
      job.ttl_seconds_after_finished = static_cast<int32_t>(*t);
    }
    job.active_deadline_seconds = run->Int("activeDeadlineSeconds", 0);
    if (auto b = run->Int("backoffLimit", 0, INT32_MAX))
      job.backoff_limit = static_cast<int32_t>(*b);
    job.suspend = run->Bool("suspend").value_or(false);
    job.managed_by = run->OptString("managedBy");
    if (job.managed_by && *job.managed_by != "kubeflow.org/training-operator" &&
        *job.managed_by != "kueue.x-k8s.io/multikueue") {
      run->Fail("managedBy", "Unsupported value: \"" + *job.managed_by +
                                 "\": supported values: \"kubeflow.org/training-operator\", "
                                 "\"kueue.x-k8s.io/multikueue\"");
    }
    if (auto sp = run->Object("schedulingPolicy")) {
      job.priority_class = sp->String("priorityClass");
      // Gang scheduling through Volcano or scheduler-plugins is off by default.
      for (const char* key : {"minAvailable", "queue", "minResources", "scheduleTimeoutSeconds"}) {
        if (sp->Has(key)) {
          sp->diagnostics()->Warn(sp->Where(), sp->FieldPath(key),
                                  "used only with the operator's gang scheduling (Volcano or "
                                  "scheduler-plugins), which the twin does not model");
        }
      }
      sp->Ignore({"minAvailable", "queue", "minResources", "scheduleTimeoutSeconds"});
      sp->Finish();
    }
    run->Finish();
  }
  auto replicas = spec->Object("pytorchReplicaSpecs");
  if (!replicas) spec->Fail("pytorchReplicaSpecs", "Required value: must be required");
  for (const char* type : {"Master", "Worker"}) {
    auto rs = replicas->Object(type);
    if (!rs) continue;
    PyTorchReplicaSpec x;
    x.type = type;
    x.source = rs->Where();
    auto n = rs->Int("replicas", 0, INT32_MAX);
    if (std::string(type) == "Master" && (!n || *n != 1)) {
      rs->Fail("replicas", "Forbidden: must be 1");
    }
    x.replicas = static_cast<int32_t>(n.value_or(1));
    x.restart_policy = rs->String("restartPolicy", "OnFailure");
    CheckOneOf(*rs, "restartPolicy", x.restart_policy,
               {"Always", "OnFailure", "Never", "ExitCode"});
    auto tmpl = rs->Object("template");
    if (!tmpl) rs->Fail("template", "Required value");
    x.template_ = DecodePodTemplate(*tmpl);
    if (x.template_.spec.containers.empty()) {
      tmpl->Fail("spec.containers", "Required value: must be specified");
    }
    bool named = false;
    for (size_t i = 0; i < x.template_.spec.containers.size(); ++i) {
      named = named || x.template_.spec.containers[i].name == "pytorch";
    }
    if (!named) {
      tmpl->Fail("spec.containers",
                 "Required value: must have at least one container with name pytorch");
    }
    // The replica spec's policy is the pods' (ExitCode: Never, the operator decides).
    x.template_.spec.restart_policy = x.restart_policy == "ExitCode" ? "Never" : x.restart_policy;
    rs->Finish();
    job.replica_specs.push_back(std::move(x));
  }
  // The webhook accepts only these two keys, case and all (the defaulter that would rename
  // "worker" runs after admission).
  for (const auto& kv : spec->Raw("pytorchReplicaSpecs")) {
    const std::string key = kv.first.as<std::string>("");
    if (key != "Master" && key != "Worker") {
      replicas->FailAt(
          kv.first, "pytorchReplicaSpecs",
          "Unsupported value: \"" + key + "\": supported values: \"Master\", \"Worker\"");
    }
  }
  replicas->Finish();
  if (job.replica_specs.empty()) {
    spec->Fail("pytorchReplicaSpecs", "Required value: must be required");
  }
  if (auto el = spec->Object("elasticPolicy")) {
    job.elastic = true;
    if (auto v = el->Int("minReplicas", 1, INT32_MAX))
      job.elastic_min_replicas = static_cast<int32_t>(*v);
    if (auto v = el->Int("maxReplicas", 1, INT32_MAX))
      job.elastic_max_replicas = static_cast<int32_t>(*v);
    // Rendezvous settings reach the workers' environment only.
    el->Ignore({"rdzvBackend", "rdzvPort", "rdzvHost", "rdzvId", "rdzvConf", "standalone",
                "nProcPerNode", "maxRestarts"});
    if (el->Has("metrics")) {
      el->diagnostics()->Warn(el->Where(), el->FieldPath("metrics"),
                              "not modelled: upstream creates an HPA scaling the Workers between "
                              "minReplicas and maxReplicas; the twin keeps the Worker replicas");
    }
    el->Ignore({"metrics"});
    el->Finish();
    if (!std::any_of(job.replica_specs.begin(), job.replica_specs.end(),
                     [](const PyTorchReplicaSpec& x) { return x.type == "Worker"; })) {
      spec->Fail("pytorchReplicaSpecs[Worker]",
                 "Required value: must be configured if elastic policy is used");
    }
  }
  spec->Ignore({"nprocPerNode"});  // the workers' environment (PET_NPROC_PER_NODE)
  spec->Finish();
  r.Finish();
  out->pytorch_jobs.push_back(std::move(job));
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

void DecodeKubeSchedulerConfiguration(YamlReader& r, Manifests* out) {
  KubeSchedulerConfiguration c;
  c.source = r.Where();
  c.percentage_of_nodes_to_score =
      static_cast<int32_t>(r.Int("percentageOfNodesToScore", 0, 100).value_or(0));
  c.pod_initial_backoff_seconds = r.Int("podInitialBackoffSeconds", 1).value_or(1);
  c.pod_max_backoff_seconds = r.Int("podMaxBackoffSeconds", 1).value_or(10);
  auto profiles = r.ObjectList("profiles");
  if (profiles.size() > 1) {
    out->diagnostics.Warn(r.Where(), "profiles", "only the first profile is used");
  }
  if (!profiles.empty()) {
    auto& p = profiles.front();
    std::string name = p.String("schedulerName", "default-scheduler");
    if (auto pct = p.Int("percentageOfNodesToScore", 0, 100)) {
      c.percentage_of_nodes_to_score = static_cast<int32_t>(*pct);
    }
    if (auto plugins = p.Object("plugins")) {
      for (const char* point :
           {"multiPoint", "preEnqueue", "queueSort", "preFilter", "filter", "postFilter",
            "preScore", "score", "reserve", "permit", "preBind", "bind", "postBind"}) {
        auto set = plugins->Object(point);
        if (!set) continue;
        SchedulerPluginSet& out_set = c.plugins[point];
        for (auto& e : set->ObjectList("enabled")) {
          SchedulerPlugin plugin;
          plugin.name = e.RequiredString("name");
          plugin.weight = e.Int("weight", 0);
          plugin.source = e.Where();
          e.Finish();
          out_set.enabled.push_back(std::move(plugin));
        }
        for (auto& d : set->ObjectList("disabled")) {
          out_set.disabled.push_back(d.RequiredString("name"));
          d.Ignore({"weight"});
          d.Finish();
        }
        set->Finish();
      }
      plugins->Finish();
    }
    for (auto& pc : p.ObjectList("pluginConfig")) {
      std::string pn = pc.RequiredString("name");
      auto args = pc.Object("args");
      if (pn == "NodeResourcesFit" && args) {
        if (auto ss = args->Object("scoringStrategy")) {
          c.scoring_strategy = ss->String("type", "LeastAllocated");
          if (c.scoring_strategy != "LeastAllocated" && c.scoring_strategy != "MostAllocated" &&
              c.scoring_strategy != "RequestedToCapacityRatio") {
            ss->Fail("type", "Unsupported value: \"" + c.scoring_strategy +
                                 "\": supported values: \"LeastAllocated\", \"MostAllocated\", "
                                 "\"RequestedToCapacityRatio\"");
          }
          auto res = ss->ObjectList("resources");
          if (!res.empty()) c.scoring_resources.clear();
          for (auto& rr : res) {
            c.scoring_resources.push_back(
                {rr.RequiredString("name"), rr.Int("weight", 1, 100).value_or(1)});
            rr.Finish();
          }
          if (auto rtc = ss->Object("requestedToCapacityRatio")) {
            for (auto& pt : rtc->ObjectList("shape")) {
              c.shape.push_back(
                  {pt.Int("utilization", 0, 100).value_or(0), pt.Int("score", 0, 10).value_or(0)});
              pt.Finish();
            }
            rtc->Finish();
          }
          if (c.scoring_strategy == "RequestedToCapacityRatio" && c.shape.empty()) {
            ss->Fail("requestedToCapacityRatio.shape", "Required value: at least one point");
          }
          ss->Finish();
        }
        args->Ignore({"ignoredResources", "ignoredResourceGroups", "apiVersion", "kind"});
        args->Finish();
      } else if (pn == "PodTopologySpread" && args) {
        c.spread_defaulting_type = args->String("defaultingType", "System");
        CheckOneOf(*args, "defaultingType", c.spread_defaulting_type, {"System", "List"});
        for (auto& dc : args->ObjectList("defaultConstraints")) {
          if (dc.Has("labelSelector")) {
            dc.Fail("labelSelector",
                    "Forbidden: constraint must not define a selector, as "
                    "they deduced for each pod");
          }
          c.spread_default_constraints.push_back(DecodeTopologySpreadConstraint(dc));
        }
        if (c.spread_defaulting_type == "System" && !c.spread_default_constraints.empty()) {
          args->Fail("defaultingType",
                     "Invalid value: \"System\": when .defaultConstraints "
                     "are not empty");
        }
        args->Ignore({"apiVersion", "kind"});
        args->Finish();
      } else if (pn == "InterPodAffinity" && args) {
        c.hard_pod_affinity_weight =
            static_cast<int32_t>(args->Int("hardPodAffinityWeight", 0, 100).value_or(1));
        c.ignore_preferred_terms_of_existing_pods =
            args->Bool("ignorePreferredTermsOfExistingPods").value_or(false);
        args->Ignore({"apiVersion", "kind"});
        args->Finish();
      } else if (args) {
        out->diagnostics.Warn(pc.Where(), pc.FieldPath("args"),
                              "arguments of plugin " + pn + " are not modelled; ignored");
        args->Ignore({});
      }
      pc.Finish();
    }
    (void)name;
    p.Finish();
  }
  r.Ignore({"leaderElection", "clientConnection", "parallelism", "extenders", "enableProfiling",
            "enableContentionProfiling", "podMaxInUnschedulablePodsDuration",
            "delayCacheUntilActive", "featureGates"});
  r.Finish();
  out->scheduler_config = c;
}

}  // namespace gputwin::api

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
