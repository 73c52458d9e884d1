// The multi-node kinds: JobSet (kubernetes-sigs/jobset), PyTorchJob
// (kubeflow/training-operator) and LeaderWorkerSet (kubernetes-sigs/lws), defaulted and
// validated as their webhooks do.
#include <algorithm>
#include <cctype>
#include <set>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/not_modelled.h"
#include "core/go_regexp.h"

namespace gputwin::api {

// A JobSet's spec (jobset.x-k8s.io/v1alpha2 JobSetSpec) with the webhook's defaults and
// validation, into `js` (whose metadata is set): a JobSet's, or the template of a Kubeflow
// Trainer runtime, which has no name yet (the TrainJob's becomes the JobSet's).
void DecodeJobSetSpec(YamlReader& spec, JobSet* js) {
  std::set<std::string> names;
  auto rjobs = spec.ObjectList("replicatedJobs");
  if (rjobs.empty()) spec.Fail("replicatedJobs", "Required value: at least one replicatedJob");
  for (auto& rj : rjobs) {
    ReplicatedJob x;
    x.source = rj.Where();
    x.name = rj.RequiredString("name");
    if (!names.insert(x.name).second) {
      rj.Fail("name", "Duplicate value: \"" + x.name + "\"");
    }
    // Job names <jobset>-<replicatedJob>-<index> must stay valid DNS labels (a runtime's
    // template has no JobSet name yet).
    const size_t job_name = js->metadata.name.size() + 1 + x.name.size() + 2;
    if (!js->metadata.name.empty() && job_name > 63) {
      rj.Fail("name", "Invalid value: \"" + x.name +
                          "\": JobSet name and replicatedJob name together make Job names "
                          "longer than 63 characters");
    }
    x.group_name = rj.String("groupName", "default");
    x.replicas = static_cast<int32_t>(rj.Int("replicas", 0, INT32_MAX).value_or(1));
    auto tmpl = rj.Object("template");
    if (!tmpl) rj.Fail("template", "Required value");
    x.template_ = DecodeJobObject(*tmpl, /*require_name=*/false, /*jobset_defaults=*/true);
    x.template_.metadata.namespace_ = js->metadata.namespace_;
    if (auto it =
            x.template_.metadata.annotations.find("alpha.jobset.sigs.k8s.io/exclusive-topology");
        it != x.template_.metadata.annotations.end() && js->exclusive_topology.empty()) {
      js->exclusive_topology = it->second;
    }
    // dependsOn: MaxItems 5 (v0.12's CRD; the controller waits for each of them).
    auto deps = rj.ObjectList("dependsOn");
    if (deps.size() > 5) {
      rj.Fail("dependsOn",
              "Too many: " + std::to_string(deps.size()) + ": must have at most 5 items");
    }
    for (auto& d : deps) {
      const std::string dep = d.RequiredString("name");
      const std::string status = d.RequiredString("status");
      CheckOneOf(d, "status", status, {"Ready", "Complete"});
      if (js->replicated_jobs.empty() ||
          std::none_of(js->replicated_jobs.begin(), js->replicated_jobs.end(),
                       [&](const ReplicatedJob& p) { return p.name == dep; })) {
        d.Fail("name", "Invalid value: \"" + dep +
                           "\": dependsOn must name a replicatedJob listed before this one");
      }
      for (const auto& other : x.depends_on) {
        if (other.first == dep) d.Fail("name", "Duplicate value: \"" + dep + "\"");
      }
      x.depends_on.emplace_back(dep, status);
      d.Finish();
    }
    rj.Finish();
    js->replicated_jobs.push_back(std::move(x));
  }
  auto known = [&](YamlReader& at, const char* key, const std::vector<std::string>& targets) {
    for (const auto& t : targets) {
      if (!names.count(t)) {
        at.Fail(key, "Invalid value: \"" + t + "\": no replicatedJob of that name");
      }
    }
  };
  if (auto sp = spec.Object("successPolicy")) {
    js->success_operator = sp->String("operator", "All");
    CheckOneOf(*sp, "operator", js->success_operator, {"All", "Any"});
    js->success_target_replicated_jobs = sp->StringList("targetReplicatedJobs");
    known(*sp, "targetReplicatedJobs", js->success_target_replicated_jobs);
    sp->Finish();
  }
  if (auto fp = spec.Object("failurePolicy")) {
    js->failure_policy = true;
    js->max_restarts = static_cast<int32_t>(fp->Int("maxRestarts", 0, INT32_MAX).value_or(0));
    js->restart_strategy = fp->String("restartStrategy", "Recreate");
    CheckOneOf(*fp, "restartStrategy", js->restart_strategy,
               {"Recreate", "BlockingRecreate", "InPlaceRestart"});
    if (js->restart_strategy == "InPlaceRestart") {
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
          core::GoRegexp re(pattern);
        } catch (const std::invalid_argument& e) {
          rr.Fail("onJobFailureMessagePatterns", "Invalid value: \"" + pattern + "\": " + e.what());
        }
      }
      rule.target_replicated_jobs = rr.StringList("targetReplicatedJobs");
      known(rr, "targetReplicatedJobs", rule.target_replicated_jobs);
      rr.Finish();
      js->failure_rules.push_back(std::move(rule));
    }
    fp->Finish();
  }
  if (auto st = spec.Object("startupPolicy")) {
    js->startup_policy_order = st->RequiredString("startupPolicyOrder");
    CheckOneOf(*st, "startupPolicyOrder", js->startup_policy_order, {"AnyOrder", "InOrder"});
    st->Finish();
  }
  if (js->startup_policy_order == "InOrder" &&
      std::any_of(js->replicated_jobs.begin(), js->replicated_jobs.end(),
                  [](const ReplicatedJob& x) { return !x.depends_on.empty(); })) {
    spec.Fail("startupPolicy",
              "Invalid value: StartupPolicy and DependsOn APIs are mutually exclusive");
  }
  js->suspend = spec.Bool("suspend").value_or(false);
  if (auto ttl = spec.Int("ttlSecondsAfterFinished", 0, INT32_MAX)) {
    js->ttl_seconds_after_finished = static_cast<int32_t>(*ttl);
  }
  js->managed_by = spec.OptString("managedBy");
  if (js->managed_by && *js->managed_by != "jobset.sigs.k8s.io/jobset-controller") {
    spec.diagnostics()->Warn(spec.Where(), spec.FieldPath("managedBy"),
                             "\"" + *js->managed_by +
                                 "\": the JobSet controller leaves this JobSet to that "
                                 "controller; no Jobs are created");
  }
  if (auto net = spec.Object("network")) {
    js->enable_dns_hostnames = net->Bool("enableDNSHostnames").value_or(true);
    js->subdomain = net->String("subdomain", js->metadata.name);
    // DNS records for pod discovery: nothing the twin's scheduling or timing reads.
    net->Ignore({"publishNotReadyAddresses"});
    net->Finish();
  } else {
    js->subdomain = js->metadata.name;
  }
  // The coordinator only adds an annotation naming one pod's endpoint.
  spec.Ignore({"coordinator"});
  WarnNotModelled(spec, "JobSet", "spec");
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
  DecodeJobSetSpec(*spec, &js);
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

}  // namespace gputwin::api

namespace gputwin::api {

namespace {

// An int or a percentage (IsValidPercent) of a rolling update's maxUnavailable/maxSurge.
std::string RollingUpdateValue(YamlReader& r, const char* field, const std::string& fallback) {
  std::optional<std::string> v = r.OptString(field);
  if (!v) return fallback;
  const bool percent = v->ends_with("%");
  const std::string digits = percent ? v->substr(0, v->size() - 1) : *v;
  const bool negative = !percent && digits.starts_with("-") && digits.size() > 1;
  const std::string body = negative ? digits.substr(1) : digits;
  const bool ok =
      !body.empty() && body.size() < 10 &&
      std::all_of(body.begin(), body.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) r.Fail(field, "Invalid value: \"" + *v + "\": invalid value");
  if (negative) r.Fail(field, "Invalid value: \"" + *v + "\": must be grater than or equal to 0");
  if (percent && std::stoll(body) > 100) {
    r.Fail(field, "Invalid value: \"" + *v + "\": must not be greater than 100%");
  }
  return *v;
}

// intstr.GetScaledValueFromIntOrPercent: maxUnavailable rounds down, maxSurge up.
int64_t Scaled(const std::string& v, int64_t total, bool round_up) {
  if (!v.ends_with("%")) return std::stoll(v);
  const int64_t pct = std::stoll(v.substr(0, v.size() - 1));
  return round_up ? (pct * total + 99) / 100 : pct * total / 100;
}

}  // namespace

// kubernetes-sigs/lws v0.7: api/leaderworkerset/v1 (CRD defaults and enums) and
// pkg/webhooks/leaderworkerset_webhook.go (Default, generalValidate and its messages).
void DecodeLeaderWorkerSet(YamlReader& r, Manifests* out) {
  LeaderWorkerSet lws;
  lws.source = r.Where();
  lws.metadata = DecodeMeta(r, true);
  // The name is also its headless Service's: a DNS-1035 label.
  const std::string& name = lws.metadata.name;
  const bool dns1035 = !name.empty() && name.size() <= 63 && std::isalpha(name[0]) &&
                       std::isalnum(name.back()) &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                       });
  if (!dns1035) {
    r.Fail("metadata.name",
           "Invalid value: \"" + name +
               "\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
               "start with an alphabetic character, and end with an alphanumeric character");
  }
  if (auto it = lws.metadata.annotations.find("leaderworkerset.sigs.k8s.io/exclusive-topology");
      it != lws.metadata.annotations.end()) {
    lws.exclusive_topology = it->second;
  }
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  const int64_t replicas = spec->Int("replicas").value_or(1);
  if (replicas < 0) spec->Fail("replicas", "replicas must be equal or greater than 0");
  if (replicas > 1'000'000) {
    spec->Fail("replicas", "Invalid value: " + std::to_string(replicas) +
                               ": spec.replicas in body should be less than or equal to 1000000");
  }
  lws.replicas = static_cast<int32_t>(replicas);
  auto lwt = spec->Object("leaderWorkerTemplate");
  if (!lwt) spec->Fail("leaderWorkerTemplate", "Required value");
  const int64_t size = lwt->Int("size").value_or(1);
  if (size < 1) lwt->Fail("size", "size must be equal or greater than 1");
  if (size > INT32_MAX || replicas * size > INT32_MAX) {
    spec->Fail("replicas",
               "the product of replicas and worker replicas must not exceed 2147483647");
  }
  lws.size = static_cast<int32_t>(size);
  auto worker = lwt->Object("workerTemplate");
  if (!worker) lwt->Fail("workerTemplate", "Required value");
  lws.worker_template = DecodePodTemplate(*worker);
  if (lws.worker_template.spec.containers.empty()) {
    worker->Fail("spec.containers", "Required value");
  }
  if (auto leader = lwt->Object("leaderTemplate")) {
    lws.leader_template = DecodePodTemplate(*leader);
    if (lws.leader_template->spec.containers.empty()) {
      leader->Fail("spec.containers", "Required value");
    }
  }
  lws.restart_policy = lwt->String("restartPolicy", "RecreateGroupOnPodRestart");
  CheckOneOf(*lwt, "restartPolicy", lws.restart_policy,
             {"Default", "RecreateGroupOnPodRestart", "None"});
  if (lws.restart_policy == "Default") lws.restart_policy = "None";  // deprecated alias
  if (auto sg = lwt->Object("subGroupPolicy")) {
    lws.sub_group_policy_type = sg->String("subGroupPolicyType", "LeaderWorker");
    CheckOneOf(*sg, "subGroupPolicyType", lws.sub_group_policy_type,
               {"LeaderWorker", "LeaderExcluded"});
    if (auto n = sg->Int("subGroupSize")) {
      const std::string path = "spec.leaderWorkerTemplate.SubGroupPolicy.subGroupSize";
      if (*n < 1) sg->Fail("subGroupSize", "subGroupSize must be equal or greater than 1");
      if (*n > size) sg->Fail("subGroupSize", "subGroupSize cannot be larger than size");
      if (lws.sub_group_policy_type == "LeaderExcluded" && (size - 1) % *n != 0) {
        sg->Fail("subGroupSize",
                 "size-1 must be divisible by subGroupSize when using LeaderExcluded");
      }
      if (size % *n != 0 && (size - 1) % *n != 0) {
        sg->Fail("subGroupSize", "size or size - 1 must be divisible by subGroupSize");
      }
      lws.sub_group_size = static_cast<int32_t>(*n);
    }
    sg->Finish();
  }
  if (lws.metadata.annotations.count("leaderworkerset.sigs.k8s.io/subgroup-exclusive-topology")) {
    if (!lws.sub_group_size) {
      r.Fail("metadata.annotations",
             "cannot have subgroup-exclusive-topology without subGroupSize set");
    }
    r.diagnostics()->Warn(r.Where(), "metadata.annotations",
                          "leaderworkerset.sigs.k8s.io/subgroup-exclusive-topology is not "
                          "modelled: subgroups are placed as the rest of their group");
  }
  if (lwt->Has("volumeClaimTemplates")) {
    lwt->diagnostics()->Warn(lwt->Where(), lwt->FieldPath("volumeClaimTemplates"),
                             "not modelled: upstream each pod gets its own PersistentVolumeClaim; "
                             "the twin schedules pods as if their volumes were bound everywhere");
  }
  lwt->Ignore({"volumeClaimTemplates"});
  lwt->Finish();
  if (auto ro = spec->Object("rolloutStrategy")) {
    const std::string type = ro->String("type", "RollingUpdate");
    CheckOneOf(*ro, "type", type, {"RollingUpdate"});
    if (auto ru = ro->Object("rollingUpdateConfiguration")) {
      lws.max_unavailable = RollingUpdateValue(*ru, "maxUnavailable", "1");
      lws.max_surge = RollingUpdateValue(*ru, "maxSurge", "0");
      lws.partition = static_cast<int32_t>(ru->Int("partition", 0, INT32_MAX).value_or(0));
      if (lws.replicas != 0 && Scaled(lws.max_unavailable, lws.replicas, false) == 0 &&
          Scaled(lws.max_surge, lws.replicas, true) == 0) {
        ru->Fail("maxUnavailable", "Invalid value: \"" + lws.max_unavailable +
                                       "\": must not be 0 when `maxSurge` is 0");
      }
      ru->Finish();
    }
    ro->Finish();
  }
  lws.startup_policy = spec->String("startupPolicy", "LeaderCreated");
  CheckOneOf(*spec, "startupPolicy", lws.startup_policy, {"LeaderCreated", "LeaderReady"});
  if (auto nc = spec->Object("networkConfig")) {
    lws.subdomain_policy = nc->String("subdomainPolicy", "Shared");
    CheckOneOf(*nc, "subdomainPolicy", lws.subdomain_policy, {"Shared", "UniquePerReplica"});
    nc->Finish();
  }
  spec->Finish();
  r.Ignore({"status"});
  r.Finish();
  out->leader_worker_sets.push_back(std::move(lws));
}

}  // namespace gputwin::api
