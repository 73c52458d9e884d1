// KubeRay's kinds (ray.io/v1, ray-project/kuberay v1.7.0): RayCluster, RayJob and RayService
// as the CRD defaults them (apis/ray/v1/*_types.go) and the API server's CEL rules reject
// them. The controllers' own validation (utils/validation.go) does not reject the object:
// its error is kept (`invalid`) for the controller to report, and warned about here.
#include <algorithm>
#include <cctype>
#include <set>

#include "api/decode_core.h"
#include "api/decode_kinds.h"
#include "api/not_modelled.h"
#include "api/ray_types.h"

namespace gputwin::api {

namespace {

RayManifests& Ray(Manifests* out) {
  if (!out->ray) out->ray = std::make_shared<RayManifests>();
  return *out->ray;
}

std::map<std::string, std::string> StartParams(YamlReader& r) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : r.StringMap("rayStartParams")) out[k] = v;
  return out;
}

// utils.validateRayGroupResources: a logical resource in both places.
std::string GroupResourcesError(const std::string& group,
                                const std::map<std::string, std::string>& params,
                                const ResourceList& resources) {
  if (resources.empty()) return "";
  for (const char* k : {"num-cpus", "num-gpus", "memory", "resources"}) {
    if (params.count(k)) {
      return "resource fields should not be set in both rayStartParams and Resources for " + group +
             " group; please use only one";
    }
  }
  return "";
}

bool Dns1035(const std::string& name) {
  return !name.empty() && name.size() <= 63 && std::isalpha(static_cast<unsigned char>(name[0])) &&
         std::isalnum(static_cast<unsigned char>(name.back())) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

std::string EnvValue(const Container& c, const std::string& name, bool* found) {
  for (const auto& [k, v] : c.env) {
    if (k == name) {
      *found = true;
      return v;
    }
  }
  *found = false;
  return "";
}

// utils.ValidateRayClusterSpec (v1.7.0), in its order; "" when valid. `head_rp_set` and the
// groups' `rp_set`: whether the template set restartPolicy (the API keeps "unset").
std::string ValidateRayClusterSpec(const RayClusterSpec& s, bool head_rp_set,
                                   const std::vector<bool>& rp_set) {
  if (s.head.template_.spec.containers.empty())
    return "headGroupSpec should have at least one container";
  if (auto e = GroupResourcesError("Head", s.head.ray_start_params, s.head.resources); !e.empty()) {
    return e;
  }
  for (const auto& g : s.worker_groups) {
    if (g.template_.spec.containers.empty()) {
      return "workerGroupSpec should have at least one container";
    }
    if (g.min_replicas < 0) {
      return "worker group " + g.group_name + " has negative minReplicas " +
             std::to_string(g.min_replicas);
    }
    if (g.max_replicas < 0) {
      return "worker group " + g.group_name + " has negative maxReplicas " +
             std::to_string(g.max_replicas);
    }
    if (g.min_replicas > g.max_replicas) {
      return "worker group " + g.group_name + " has minReplicas " + std::to_string(g.min_replicas) +
             " greater than maxReplicas " + std::to_string(g.max_replicas);
    }
    if (auto e = GroupResourcesError(g.group_name, g.ray_start_params, g.resources); !e.empty()) {
      return e;
    }
  }
  const Container& head = s.head.template_.spec.containers.front();
  bool v2_env = false;
  const std::string v2 = EnvValue(head, "RAY_enable_autoscaler_v2", &v2_env);
  if (!s.enable_in_tree_autoscaling && v2_env && (v2 == "1" || v2 == "true")) {
    return "environment variable RAY_enable_autoscaler_v2 cannot be set to '" + v2 +
           "' when enableInTreeAutoscaling is false. Please set enableInTreeAutoscaling: true to "
           "use autoscaler v2";
  }
  if (s.enable_in_tree_autoscaling) {
    for (const auto& g : s.worker_groups) {
      if (g.suspend) {
        return "worker group " + g.group_name + " cannot be suspended with Autoscaler enabled";
      }
    }
    if (!s.autoscaler_version.empty() && v2_env) {
      return "both .spec.autoscalerOptions.version and head Pod env var RAY_enable_autoscaler_v2 "
             "are set, please only use the former";
    }
    const bool v2_on = s.autoscaler_version == "v2" || (v2_env && (v2 == "1" || v2 == "true"));
    if (v2_on) {
      if (head_rp_set && s.head.template_.spec.restart_policy != "Never") {
        return "restartPolicy for head Pod should be Never or unset when using autoscaler V2";
      }
      for (size_t i = 0; i < s.worker_groups.size(); ++i) {
        if (rp_set[i] && s.worker_groups[i].template_.spec.restart_policy != "Never") {
          return "restartPolicy for worker group " + s.worker_groups[i].group_name +
                 " should be Never or unset when using autoscaler V2";
        }
      }
    }
  }
  if (s.autoscaler_idle_timeout_seconds && *s.autoscaler_idle_timeout_seconds < 0) {
    return "autoscalerOptions.idleTimeoutSeconds must be non-negative, got " +
           std::to_string(*s.autoscaler_idle_timeout_seconds);
  }
  return "";
}

bool RestartPolicySet(YamlReader& tmpl) {
  YAML::Node spec = tmpl.Raw("spec");
  return spec && spec.IsMap() && spec["restartPolicy"];
}

}  // namespace

// ray.io/v1 RayClusterSpec, defaulted by the CRD. `annotations`: the object's (ray.io/ft-enabled).
RayClusterSpec DecodeRayClusterSpec(YamlReader& spec, const Labels& annotations) {
  RayClusterSpec s;
  s.source = spec.Where();
  s.ray_version = spec.String("rayVersion");
  auto head = spec.Object("headGroupSpec");
  if (!head) spec.Fail("headGroupSpec", "Required value");
  s.head.source = head->Where();
  s.head.ray_start_params = StartParams(*head);
  s.head.service_type = head->String("serviceType");
  CheckOneOf(*head, "serviceType", s.head.service_type.empty() ? "ClusterIP" : s.head.service_type,
             {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"});
  if (auto hs = head->Object("headService")) {
    if (auto m = hs->Object("metadata")) {
      s.head.head_service_name = m->String("name");
      m->Ignore({"labels", "annotations", "namespace"});
      m->Finish();
    }
    hs->Ignore({"spec"});  // its ports and type: the head Service is not routed in the twin
    hs->Finish();
  }
  s.head.resources = head->Resources("resources");
  s.head.labels = head->StringMap("labels");
  auto ht = head->Object("template");
  if (!ht) head->Fail("template", "Required value");
  const bool head_rp_set = RestartPolicySet(*ht);
  s.head.template_ = DecodePodTemplate(*ht);
  head->Ignore({"enableIngress"});  // an Ingress to the dashboard: no scheduling effect
  head->Finish();
  std::set<std::string> names;
  std::vector<bool> rp_set;
  for (auto& g : spec.ObjectList("workerGroupSpecs")) {
    RayWorkerGroupSpec w;
    w.source = g.Where();
    w.group_name = g.RequiredString("groupName");
    if (!names.insert(w.group_name).second) {
      // listType=map keyed by groupName: the API server rejects a repeated key.
      g.Fail("groupName",
             "Duplicate value: map[string]interface {}{\"groupName\":\"" + w.group_name + "\"}");
    }
    w.replicas = static_cast<int32_t>(g.Int("replicas", INT32_MIN, INT32_MAX).value_or(0));
    w.min_replicas = static_cast<int32_t>(g.Int("minReplicas", INT32_MIN, INT32_MAX).value_or(0));
    w.max_replicas =
        static_cast<int32_t>(g.Int("maxReplicas", INT32_MIN, INT32_MAX).value_or(INT32_MAX));
    w.num_of_hosts = static_cast<int32_t>(g.Int("numOfHosts", 1, INT32_MAX).value_or(1));
    w.suspend = g.Bool("suspend").value_or(false);
    w.ray_start_params = StartParams(g);
    w.resources = g.Resources("resources");
    w.labels = g.StringMap("labels");
    if (auto ss = g.Object("scaleStrategy")) {
      w.workers_to_delete = ss->StringList("workersToDelete");
      ss->Finish();
    }
    if (g.Has("idleTimeoutSeconds") || g.Has("priority")) {
      g.diagnostics()->Warn(g.Where(), g.FieldPath("idleTimeoutSeconds"),
                            "read by the Ray autoscaler only, which the twin does not run "
                            "(replicas are held as given)");
    }
    g.Ignore({"idleTimeoutSeconds", "priority"});
    auto t = g.Object("template");
    if (!t) g.Fail("template", "Required value");
    rp_set.push_back(RestartPolicySet(*t));
    w.template_ = DecodePodTemplate(*t);
    g.Finish();
    s.worker_groups.push_back(std::move(w));
  }
  s.enable_in_tree_autoscaling = spec.Bool("enableInTreeAutoscaling").value_or(false);
  if (auto ao = spec.Object("autoscalerOptions")) {
    s.autoscaler_version = ao->String("version");
    if (!s.autoscaler_version.empty())
      CheckOneOf(*ao, "version", s.autoscaler_version, {"v1", "v2"});
    if (auto res = ao->Object("resources")) {
      ResourceRequirements rr;
      rr.requests = res->Resources("requests");
      rr.limits = res->Resources("limits");
      res->Finish();
      s.autoscaler_resources = rr;
    }
    s.autoscaler_idle_timeout_seconds = ao->Int("idleTimeoutSeconds");
    if (auto m = ao->OptString("upscalingMode")) {
      CheckOneOf(*ao, "upscalingMode", *m, {"Default", "Aggressive", "Conservative"});
    }
    ao->Ignore({"image", "imagePullPolicy", "securityContext", "env", "envFrom", "volumeMounts",
                "command", "args"});
    ao->Finish();
  }
  if (s.enable_in_tree_autoscaling) {
    spec.diagnostics()->Warn(spec.Where(), spec.FieldPath("enableInTreeAutoscaling"),
                             "not modelled: upstream the Ray autoscaler scales worker groups on "
                             "the logical resource demand of Ray tasks and actors; the twin runs "
                             "no Ray tasks and holds each group's replicas as given (the "
                             "autoscaler sidecar's resources are counted)");
  }
  s.suspend = spec.Bool("suspend").value_or(false);
  s.managed_by = spec.OptString("managedBy");
  if (s.managed_by && *s.managed_by != "ray.io/kuberay-operator" &&
      *s.managed_by != "kueue.x-k8s.io/multikueue") {
    spec.Fail("managedBy", "Invalid value: \"" + *s.managed_by +
                               "\": the managedBy field value must be either "
                               "'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue'");
  }
  if (s.managed_by && *s.managed_by != "ray.io/kuberay-operator") {
    spec.diagnostics()->Warn(spec.Where(), spec.FieldPath("managedBy"),
                             "\"" + *s.managed_by +
                                 "\": KubeRay leaves this RayCluster to that controller; no pods "
                                 "are created");
  }
  auto ft = annotations.find("ray.io/ft-enabled");
  s.gcs_fault_tolerance =
      spec.Has("gcsFaultToleranceOptions") || (ft != annotations.end() && ft->second == "true");
  if (s.gcs_fault_tolerance) {
    spec.diagnostics()->Warn(spec.Where(), spec.FieldPath("gcsFaultToleranceOptions"),
                             "not modelled: upstream the GCS keeps its state in Redis and workers "
                             "survive a head restart; the twin treats a lost head as without GCS "
                             "fault tolerance (the workers rejoin the new head)");
  }
  if (spec.Has("upgradeStrategy")) {
    spec.diagnostics()->Warn(spec.Where(), spec.FieldPath("upgradeStrategy"),
                             "not modelled: upstream Recreate deletes every pod when the pod "
                             "templates change; the twin's templates do not change");
  }
  spec.Ignore({"gcsFaultToleranceOptions", "upgradeStrategy", "headServiceAnnotations",
               "authOptions", "networkPolicy", "tlsOptions", "historyServerOptions"});
  s.invalid = ValidateRayClusterSpec(s, head_rp_set, rp_set);
  return s;
}

// ray.io/v1 RayCluster.
void DecodeRayCluster(YamlReader& r, Manifests* out) {
  RayCluster c;
  c.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  c.spec = DecodeRayClusterSpec(*spec, c.metadata.annotations);
  spec->Finish();
  r.Ignore({"status"});
  r.Finish();
  // utils.ValidateRayClusterMetadata (event InvalidRayClusterMetadata).
  if (c.metadata.name.size() > 53) {
    c.invalid_metadata = "RayCluster name should be no more than 53 characters";
  } else if (!Dns1035(c.metadata.name)) {
    c.invalid_metadata =
        "RayCluster name should be a valid DNS1035 label: [a DNS-1035 label must consist of lower "
        "case alphanumeric characters or '-', start with an alphabetic character, and end with an "
        "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
        "'[a-z]([-a-z0-9]*[a-z0-9])?')]";
  }
  const std::string& bad = !c.invalid_metadata.empty() ? c.invalid_metadata : c.spec.invalid;
  if (!bad.empty()) {
    r.diagnostics()->Warn(r.Where(), "spec",
                          "KubeRay will not reconcile RayCluster " + c.metadata.name + ": " +
                              (!c.invalid_metadata.empty()
                                   ? "The RayCluster metadata is invalid " + c.metadata.namespace_ +
                                         "/" + c.metadata.name + ": "
                                   : "The RayCluster spec is invalid " + c.metadata.namespace_ +
                                         "/" + c.metadata.name + ": ") +
                              bad + " (no pods are created)");
  }
  Ray(out).clusters.push_back(std::move(c));
}

// ray.io/v1 RayJob (rayjob_types.go; CRD default submissionMode K8sJobMode).
void DecodeRayJob(YamlReader& r, Manifests* out) {
  RayJob j;
  j.source = r.Where();
  j.metadata = DecodeMeta(r, true);
  // The Ray job's behaviour (docs/annotations.md): checked now, as a pod's would be.
  for (const auto& [k, v] : j.metadata.annotations) {
    std::string err;
    if ((k == "gputwin.io/run-time" || k == "gputwin.io/checkpoint-interval" ||
         k == "gputwin.io/checkpoint-cost") &&
        !ParseDuration(v, &err)) {
      r.Fail("metadata.annotations", k + ": " + err);
    }
    if (k == "gputwin.io/exit-code") {
      const bool digits =
          !v.empty() && v.size() <= 3 &&
          std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || std::stoi(v) > 255) {
        r.Fail("metadata.annotations", k + ": \"" + v + "\": want an integer 0-255");
      }
    }
  }
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  j.entrypoint = spec->String("entrypoint");
  if (auto cs = spec->Object("rayClusterSpec")) {
    j.cluster_spec = DecodeRayClusterSpec(*cs, j.metadata.annotations);
    cs->Finish();
  }
  j.cluster_selector = spec->StringMap("clusterSelector");
  j.submission_mode = spec->String("submissionMode", "K8sJobMode");
  CheckOneOf(*spec, "submissionMode", j.submission_mode,
             {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"});
  if (j.submission_mode != "K8sJobMode") {
    spec->diagnostics()->Warn(spec->Where(), spec->FieldPath("submissionMode"),
                              j.submission_mode +
                                  " is not modelled: the twin submits the job as K8sJobMode does "
                                  "(a submitter Job <rayjob>)");
  }
  j.shutdown_after_job_finishes = spec->Bool("shutdownAfterJobFinishes").value_or(false);
  j.ttl_seconds_after_finished =
      static_cast<int32_t>(spec->Int("ttlSecondsAfterFinished", INT32_MIN, INT32_MAX).value_or(0));
  if (auto v = spec->Int("activeDeadlineSeconds", INT32_MIN, INT32_MAX)) {
    j.active_deadline_seconds = static_cast<int32_t>(*v);
  }
  if (auto v = spec->Int("preRunningDeadlineSeconds", INT32_MIN, INT32_MAX)) {
    j.pre_running_deadline_seconds = static_cast<int32_t>(*v);
  }
  j.backoff_limit = static_cast<int32_t>(spec->Int("backoffLimit", 0, INT32_MAX).value_or(0));
  j.suspend = spec->Bool("suspend").value_or(false);
  if (auto t = spec->Object("submitterPodTemplate"))
    j.submitter_pod_template = DecodePodTemplate(*t);
  if (auto sc = spec->Object("submitterConfig")) {
    if (auto b = sc->Int("backoffLimit", 0, INT32_MAX)) {
      j.submitter_backoff_limit = static_cast<int32_t>(*b);
    }
    sc->Finish();
  }
  j.job_id = spec->String("jobId");
  j.managed_by = spec->OptString("managedBy");
  if (j.managed_by && *j.managed_by != "ray.io/kuberay-operator" &&
      *j.managed_by != "kueue.x-k8s.io/multikueue") {
    spec->Fail("managedBy", "Invalid value: \"" + *j.managed_by +
                                "\": the managedBy field value must be either "
                                "'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue'");
  }
  j.deletion_strategy = spec->Has("deletionStrategy");
  if (j.deletion_strategy) {
    spec->diagnostics()->Warn(spec->Where(), spec->FieldPath("deletionStrategy"),
                              "not modelled: upstream its rules delete the cluster, the workers "
                              "or the RayJob after their TTLs; the twin keeps the cluster");
  }
  // The Ray job's runtime environment and entrypoint resources: inside Ray, not modelled.
  spec->Ignore({"deletionStrategy", "runtimeEnvYAML", "metadata", "entrypointNumCpus",
                "entrypointNumGpus", "entrypointResources"});
  spec->Finish();
  r.Ignore({"status"});
  r.Finish();
  // ValidateRayJobMetadata and ValidateRayJobSpec (v1.7.0), in their order.
  const bool selector = !j.cluster_selector.empty();
  auto invalid = [&]() -> std::string {
    if (j.metadata.name.size() > 47) {
      return "The RayJob metadata is invalid: RayJob name should be no more than 47 characters";
    }
    if (!Dns1035(j.metadata.name)) {
      return "The RayJob metadata is invalid: RayJob name should be a valid DNS1035 label";
    }
    if (j.suspend && !j.shutdown_after_job_finishes) {
      return "The RayJob spec is invalid: a RayJob with shutdownAfterJobFinishes set to false is "
             "not allowed to be suspended";
    }
    if (j.ttl_seconds_after_finished < 0) {
      return "The RayJob spec is invalid: TTLSecondsAfterFinished must be a non-negative integer";
    }
    if (!j.shutdown_after_job_finishes && j.ttl_seconds_after_finished > 0) {
      return "The RayJob spec is invalid: a RayJob with shutdownAfterJobFinishes set to false "
             "cannot have TTLSecondsAfterFinished";
    }
    if (j.suspend && selector) {
      return "The RayJob spec is invalid: the ClusterSelector mode doesn't support the suspend "
             "operation";
    }
    if (!j.cluster_spec && !selector) {
      return "The RayJob spec is invalid: one of RayClusterSpec or ClusterSelector must be set";
    }
    if (selector) {
      auto it = j.cluster_selector.find("ray.io/cluster");
      if (it == j.cluster_selector.end() || it->second.empty()) {
        return "cluster name in ClusterSelector should not be empty";
      }
      if (j.submission_mode == "SidecarMode")
        return "ClusterSelector is not supported in SidecarMode";
      if (j.backoff_limit > 0) {
        return "The RayJob spec is invalid: BackoffLimit is incompatible with ClusterSelector mode";
      }
    }
    if (j.submission_mode == "InteractiveMode" && j.backoff_limit > 0) {
      return "The RayJob spec is invalid: BackoffLimit is incompatible with InteractiveMode";
    }
    if (j.cluster_spec && !j.cluster_spec->invalid.empty()) {
      return "The RayJob spec is invalid: " + j.cluster_spec->invalid;
    }
    if (j.active_deadline_seconds && *j.active_deadline_seconds <= 0) {
      return "The RayJob spec is invalid: activeDeadlineSeconds must be a positive integer";
    }
    if (j.pre_running_deadline_seconds && *j.pre_running_deadline_seconds <= 0) {
      return "The RayJob spec is invalid: preRunningDeadlineSeconds must be a positive integer";
    }
    return "";
  };
  j.invalid = invalid();
  if (!j.invalid.empty()) {
    r.diagnostics()->Warn(r.Where(), "spec",
                          "RayJob " + j.metadata.name + " will be ValidationFailed: " + j.invalid);
  }
  Ray(out).jobs.push_back(std::move(j));
}

// ray.io/v1 RayService (v1.7.0).
void DecodeRayService(YamlReader& r, Manifests* out) {
  RayService s;
  s.source = r.Where();
  s.metadata = DecodeMeta(r, true);
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  s.serve_config_v2 = spec->String("serveConfigV2");
  // The applications' names: the multi-application config's `applications[].name`.
  if (!s.serve_config_v2.empty()) {
    YAML::Node cfg;
    try {
      cfg = YAML::Load(s.serve_config_v2);
    } catch (const YAML::Exception& e) {
      spec->Fail("serveConfigV2", std::string("Invalid value: not YAML: ") + e.what());
    }
    if (cfg.IsMap() && cfg["applications"] && cfg["applications"].IsSequence()) {
      for (const auto& app : cfg["applications"]) {
        if (app.IsMap() && app["name"]) s.applications.push_back(app["name"].as<std::string>(""));
      }
    }
  }
  auto cs = spec->Object("rayClusterConfig");
  if (!cs) spec->Fail("rayClusterConfig", "Required value");
  s.cluster_spec = DecodeRayClusterSpec(*cs, s.metadata.annotations);
  cs->Finish();
  if (auto us = spec->Object("upgradeStrategy")) {
    s.upgrade_strategy = us->String("type");
    if (!s.upgrade_strategy.empty()) {
      CheckOneOf(*us, "type", s.upgrade_strategy,
                 {"NewCluster", "NewClusterWithIncrementalUpgrade", "None"});
    }
    us->Ignore({"clusterUpgradeOptions"});
    us->Finish();
  }
  s.cluster_deletion_delay_seconds =
      static_cast<int32_t>(spec->Int("rayClusterDeletionDelaySeconds", 0, INT32_MAX).value_or(60));
  s.exclude_head_from_serve_svc = spec->Bool("excludeHeadPodFromServeSvc").value_or(false);
  s.suspend = spec->Bool("suspend").value_or(false);
  if (s.suspend) {
    spec->diagnostics()->Warn(spec->Where(), spec->FieldPath("suspend"),
                              "not modelled: upstream (v1.7.0) deletes the RayService's clusters "
                              "while suspended; the twin serves it");
  }
  spec->Ignore({"serveService", "managedBy", "serviceUnhealthySecondThreshold",
                "deploymentUnhealthySecondThreshold"});
  spec->Finish();
  r.Ignore({"status"});
  r.Finish();
  if (s.metadata.name.size() > 47) {
    s.invalid = "RayService name should be no more than 47 characters";
  } else if (!s.cluster_spec.invalid.empty()) {
    s.invalid = "The RayService spec is invalid: " + s.cluster_spec.invalid;
  }
  if (!s.invalid.empty()) {
    r.diagnostics()->Warn(r.Where(), "spec",
                          "RayService " + s.metadata.name + " will not be served: " + s.invalid);
  }
  if (auto it = s.metadata.annotations.find("gputwin.io/serve-deploy-time");
      it != s.metadata.annotations.end()) {
    std::string err;
    if (!ParseDuration(it->second, &err)) {
      r.Fail("metadata.annotations", "gputwin.io/serve-deploy-time: " + err);
    }
  }
  Ray(out).services.push_back(std::move(s));
}

}  // namespace gputwin::api
