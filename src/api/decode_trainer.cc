// Kubeflow Trainer v2.3 (trainer.kubeflow.org/v1alpha1): ClusterTrainingRuntime,
// TrainingRuntime and TrainJob, defaulted as their CRDs do and validated as their CEL rules
// and webhooks do where one object is enough (pkg/apis/trainer/v1alpha1/*_types.go,
// pkg/webhooks/trainingruntime_webhook.go, clustertrainingruntime_webhook.go). What needs
// the runtime a TrainJob names is checked before the run (sim/validate.cc).
#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "api/decode_core.h"
#include "api/decode_kinds.h"

namespace gputwin::api {

namespace {

constexpr const char* kAncestorLabel = "trainer.kubeflow.org/trainjob-ancestor-step";

// A list of core/v1 EnvVar: literal values kept, every name recorded (valueFrom is not read).
void DecodeEnv(YamlReader& r, const char* key,
               std::vector<std::pair<std::string, std::string>>* env,
               std::vector<std::string>* names) {
  for (auto& e : r.ObjectList(key)) {
    const std::string name = e.RequiredString("name");
    if (std::find(names->begin(), names->end(), name) != names->end()) {
      e.Fail("name", "Duplicate value: \"" + name + "\"");  // listType=map, key name
    }
    names->push_back(name);
    if (auto v = e.OptString("value")) env->emplace_back(name, *v);
    e.Ignore({"valueFrom"});
    e.Finish();
  }
}

// The CRD's maxLength, in the API server's words.
void MaxLength(YamlReader& r, const char* key, const std::string& value, size_t max) {
  if (value.size() > max) {
    r.Fail(key, "Too long: may not be more than " + std::to_string(max) + " bytes");
  }
}

void DecodeRuntime(YamlReader& r, Manifests* out, bool cluster) {
  TrainingRuntime rt;
  rt.source = r.Where();
  rt.cluster_scoped = cluster;
  rt.metadata = DecodeMeta(r, /*namespaced=*/!cluster);
  // clustertrainingruntime_webhook.go ValidateCreate: a warning, not an error.
  if (auto it = rt.metadata.labels.find("trainer.kubeflow.org/support");
      cluster && it != rt.metadata.labels.end() && it->second == "deprecated") {
    r.diagnostics()->Warn(
        r.Where(), "metadata.labels",
        "ClusterTrainingRuntime \"" + rt.metadata.name +
            "\" is deprecated and will be removed in a future release of Kubeflow Trainer. See "
            "runtime deprecation policy: "
            "https://trainer.kubeflow.org/en/latest/operator-guides/runtime.html"
            "#runtime-deprecation-policy");
  }
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec", "Required value");
  if (auto ml = spec->Object("mlPolicy")) {
    rt.ml_policy = true;
    if (auto n = ml->Int("numNodes", INT32_MIN, INT32_MAX)) rt.num_nodes = static_cast<int32_t>(*n);
    int policies = 0;
    for (const char* p : {"torch", "mpi", "flux", "jax", "xgboost"}) {
      if (ml->Has(p)) {
        ++policies;
        rt.framework = p;
      }
    }
    // The MLPolicy's CEL rule (trainingruntime_types.go).
    if (policies > 1) {
      spec->Fail("mlPolicy", "Invalid value: \"object\": Only one of the policy can be configured");
    }
    if (auto torch = ml->Object("torch")) {
      // Trainer v2.1's torch fields, removed in v2.2 (numProcPerNode moved to the TrainJob).
      for (const char* key : {"numProcPerNode", "elasticPolicy"}) {
        if (!torch->Has(key)) continue;
        torch->diagnostics()->Warn(
            torch->Where(torch->Raw(key)), torch->FieldPath(key),
            "unknown field in Kubeflow Trainer v2.3 (removed in v2.2; the twin ignores it)" +
                std::string(std::string(key) == "numProcPerNode"
                                ? ": write the TrainJob's spec.trainer.numProcPerNode"
                                : ""));
      }
      torch->Ignore({"numProcPerNode", "elasticPolicy"});
      if (auto inj = torch->Object("envInjection")) {
        auto targets = inj->ObjectList("targets");
        if (targets.size() > 16) inj->Fail("targets", "Too many: must have at most 16 items");
        for (auto& t : targets) {
          const std::string job = t.RequiredString("jobName");
          std::vector<std::string> containers = t.StringList("containerNames");
          if (containers.empty() || containers.size() > 8) {
            t.Fail("containerNames",
                   containers.empty() ? "Required value" : "Too many: must have at most 8 items");
          }
          if (std::find(containers.begin(), containers.end(), "node") != containers.end()) {
            t.Fail("containerNames",
                   "Invalid value: \"array\": containerNames must not include the main node "
                   "container because PET_* envs are always injected into it");
          }
          rt.torch_env_injection.emplace_back(job, std::move(containers));
          t.Finish();
        }
        inj->Finish();
      }
      torch->Finish();
    }
    if (auto mpi = ml->Object("mpi")) {
      rt.mpi_num_proc_per_node =
          static_cast<int32_t>(mpi->Int("numProcPerNode", INT32_MIN, INT32_MAX).value_or(1));
      const std::string impl = mpi->String("mpiImplementation", "OpenMPI");
      if (impl != "OpenMPI" && !impl.empty()) {
        mpi->Fail("mpiImplementation",
                  "Unsupported value: \"" + impl + "\": supported values: \"OpenMPI\", \"\"");
      }
      MaxLength(*mpi, "sshAuthMountPath", mpi->String("sshAuthMountPath", "/root/.ssh"), 4096);
      rt.mpi_run_launcher_as_node = mpi->Bool("runLauncherAsNode").value_or(false);
      mpi->Finish();
      ml->diagnostics()->Warn(
          ml->Where(), ml->FieldPath("mpi"),
          "partly modelled: the node count (numNodes, runLauncherAsNode) and resources shape "
          "the JobSet as upstream; the SSH Secret, the hostfile ConfigMap and the OMPI_* "
          "environment the MPI plugin adds are not created (the launcher's run time is its "
          "gputwin.io/run-time)");
    }
    if (auto flux = ml->Object("flux")) {
      if (flux->Int("numProcPerNode", INT32_MIN, INT32_MAX).value_or(1) < 1) {
        flux->Fail("numProcPerNode",
                   "Invalid value: \"integer\": NumProcPerNode in fluxPolicy must be >= 1");
      }
      flux->Finish();
      ml->diagnostics()->Warn(
          ml->Where(), ml->FieldPath("flux"),
          "partly modelled: numNodes sizes the trainer Job as upstream; the Flux plugin's "
          "init container, ConfigMap and broker command are not added");
    }
    // jax and xgboost only add their coordinator environment: nothing the twin runs.
    for (const char* p : {"jax", "xgboost"}) {
      if (auto x = ml->Object(p)) x->Finish();
    }
    ml->Finish();
  }
  if (auto pg = spec->Object("podGroupPolicy")) {
    for (const char* p : {"coscheduling", "volcano"}) {
      if (!pg->Has(p)) continue;
      rt.pod_group_policy = p;
      pg->diagnostics()->Warn(
          pg->Where(pg->Raw(p)), pg->FieldPath(p),
          std::string("not modelled: upstream the trainer creates a ") +
              (rt.pod_group_policy == "coscheduling" ? "scheduler-plugins" : "Volcano") +
              " PodGroup and the gang scheduler binds the TrainJob's pods all together or none; "
              "the twin: kube-scheduler places each pod on its own (partial gangs can hold GPUs)");
    }
    pg->Ignore({"coscheduling", "volcano"});
    pg->Finish();
  }
  auto t = spec->Object("template");
  if (!t) spec->Fail("template", "Required value");
  if (auto m = t->Object("metadata")) {
    ObjectMeta meta = DecodeTemplateMeta(*m);
    rt.template_labels = std::move(meta.labels);
    rt.template_annotations = std::move(meta.annotations);
  }
  auto ts = t->Object("spec");
  if (!ts) t->Fail("spec", "Required value");
  rt.template_.metadata.namespace_ = rt.metadata.namespace_;
  DecodeJobSetSpec(*ts, &rt.template_);
  ts->Finish();
  t->Finish();
  spec->Finish();
  r.Finish();
  // trainingruntime_webhook.go validateReplicatedJobs: a Job of an ancestor step runs once and
  // has that step's container.
  static const std::vector<std::pair<std::string, std::string>> kRequired = {
      {"trainer", "node"},
      {"model-initializer", "model-initializer"},
      {"dataset-initializer", "dataset-initializer"}};
  for (size_t i = 0; i < rt.template_.replicated_jobs.size(); ++i) {
    const auto& rj = rt.template_.replicated_jobs[i];
    auto it = rj.template_.metadata.labels.find(kAncestorLabel);
    if (it == rj.template_.metadata.labels.end()) continue;
    auto req = std::find_if(kRequired.begin(), kRequired.end(),
                            [&](const auto& p) { return p.first == it->second; });
    if (req == kRequired.end()) continue;
    const std::string path = "spec.template.spec.replicatedJobs[" + std::to_string(i) + "]";
    if (rj.replicas != 1) {
      throw InputError(rj.source, path + ".replicas",
                       "Invalid value: " + std::to_string(rj.replicas) + ": always must be 1");
    }
    const auto& cs = rj.template_.template_->spec.containers;
    if (std::none_of(cs.begin(), cs.end(),
                     [&](const Container& c) { return c.name == req->second; })) {
      throw InputError(rj.source, path + ".template.spec.template.spec.containers",
                       "must contain the required container for the ancestor: " + req->first);
    }
  }
  out->training_runtimes.push_back(std::move(rt));
}

// A runtime patch's pod spec (PodSpecPatch): the fields a manager may set.
void DecodePodSpecPatch(YamlReader& s, ReplicatedJobPatch* p) {
  if (auto sa = s.OptString("serviceAccountName")) {
    MaxLength(s, "serviceAccountName", *sa, 253);
    p->service_account_name = *sa;
  }
  p->node_selector = s.StringMap("nodeSelector");
  if (s.Has("tolerations")) {
    p->tolerations = DecodeTolerations(s, "tolerations");
    if (p->tolerations->size() > 128)
      s.Fail("tolerations", "Too many: must have at most 128 items");
    if (p->tolerations->empty()) p->tolerations.reset();  // omitted from the patch
  }
  if (auto aff = s.Object("affinity")) {
    PodSpec tmp;
    DecodeAffinity(*aff, &tmp);
    p->node_affinity = tmp.node_affinity;
    p->pod_affinity = tmp.pod_affinity;
    p->pod_anti_affinity = tmp.pod_anti_affinity;
  }
  for (auto& g : s.ObjectList("schedulingGates")) {
    std::string name = g.RequiredString("name");
    if (std::find(p->scheduling_gates.begin(), p->scheduling_gates.end(), name) !=
        p->scheduling_gates.end()) {
      g.Fail("name", "Duplicate value: \"" + name + "\"");
    }
    p->scheduling_gates.push_back(std::move(name));
    g.Finish();
  }
  if (p->scheduling_gates.size() > 16) {
    s.Fail("schedulingGates", "Too many: must have at most 16 items");
  }
  p->termination_grace_period_seconds = s.Int("terminationGracePeriodSeconds", 0);
  for (const char* list : {"containers", "initContainers"}) {
    auto& out = std::string(list) == "containers" ? p->containers : p->init_containers;
    for (auto& c : s.ObjectList(list)) {
      ReplicatedJobPatch::ContainerPatch cp;
      cp.name = c.RequiredString("name");
      DecodeEnv(c, "env", &cp.env, &cp.env_names);
      // Mounts and security contexts: nothing the twin's scheduling or timing reads.
      c.Ignore({"volumeMounts", "securityContext"});
      c.Finish();
      out.push_back(std::move(cp));
    }
  }
  // Volumes, pull secrets and security contexts change nothing the twin simulates.
  s.Ignore({"volumes", "imagePullSecrets", "securityContext"});
  s.Finish();
}

RuntimePatch DecodeRuntimePatch(YamlReader& r) {
  RuntimePatch p;
  p.source = r.Where();
  p.manager = r.RequiredString("manager");
  MaxLength(r, "manager", p.manager, 253);
  // validation.IsDomainPrefixedPath, as the TrainJob webhook checks each manager.
  const auto slash = p.manager.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == p.manager.size()) {
    r.Fail("manager", "Invalid value: \"" + p.manager +
                          "\": must be a domain-prefixed path (such as \"acme.io/foo\")");
  }
  const std::string host = p.manager.substr(0, slash);
  static const std::regex kSubdomain(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  if (host.size() > 253 || !std::regex_match(host, kSubdomain)) {
    r.Fail("manager",
           "Invalid value: \"" + host +
               "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
               "characters, '-' or '.', and must start and end with an alphanumeric character "
               "(e.g. 'example.com', regex used for validation is "
               "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  r.Ignore({"time"});  // set by the webhook; no effect
  if (auto rs = r.Object("trainingRuntimeSpec")) {
    if (auto t = rs->Object("template")) {
      if (auto m = t->Object("metadata")) {
        ObjectMeta meta = DecodeTemplateMeta(*m);
        p.labels = std::move(meta.labels);
        p.annotations = std::move(meta.annotations);
      }
      if (auto s = t->Object("spec")) {
        auto rjobs = s->ObjectList("replicatedJobs");
        if (rjobs.size() > 100) s->Fail("replicatedJobs", "Too many: must have at most 100 items");
        for (auto& rj : rjobs) {
          ReplicatedJobPatch x;
          x.source = rj.Where();
          x.name = rj.RequiredString("name");
          for (const auto& other : p.replicated_jobs) {
            if (other.name == x.name) rj.Fail("name", "Duplicate value: \"" + x.name + "\"");
          }
          if (auto jt = rj.Object("template")) {
            if (auto m = jt->Object("metadata")) {
              ObjectMeta meta = DecodeTemplateMeta(*m);
              x.job_labels = std::move(meta.labels);
              x.job_annotations = std::move(meta.annotations);
            }
            if (auto js = jt->Object("spec")) {
              if (auto pt = js->Object("template")) {
                if (auto m = pt->Object("metadata")) {
                  ObjectMeta meta = DecodeTemplateMeta(*m);
                  x.labels = std::move(meta.labels);
                  x.annotations = std::move(meta.annotations);
                }
                if (auto ps = pt->Object("spec")) DecodePodSpecPatch(*ps, &x);
                pt->Finish();
              }
              js->Finish();
            }
            jt->Finish();
          }
          rj.Finish();
          p.replicated_jobs.push_back(std::move(x));
        }
        s->Finish();
      }
      t->Finish();
    }
    rs->Finish();
  }
  r.Finish();
  return p;
}

// spec.initializer.dataset / .model: the CRD's checks; the download itself is the
// initializer Job's run time (its gputwin.io/run-time in the runtime's template).
std::optional<std::string> DecodeInitializer(YamlReader& r, const char* what) {
  auto storage = r.OptString("storageUri");
  if (storage) {
    MaxLength(r, "storageUri", *storage, 2048);
    static const std::regex kUri("^[A-Za-z][A-Za-z0-9+.-]*://.+$");
    if (!storage->empty() && !std::regex_match(*storage, kUri)) {
      r.Fail("storageUri",
             "Invalid value: \"string\": storageUri may be empty, or it must be a "
             "valid URI (scheme://...)");
    }
  }
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> names;
  DecodeEnv(r, "env", &env, &names);
  if (names.size() > 128) r.Fail("env", "Too many: must have at most 128 items");
  r.Ignore({"secretRef"});
  r.Finish();
  r.diagnostics()->Warn(r.Where(), r.path(),
                        std::string("the ") + what +
                            " initializer's download is not modelled: its Job runs for the "
                            "runtime template's gputwin.io/run-time (storageUri, env and the "
                            "Secret only reach its container's environment)");
  return storage;
}

}  // namespace

void DecodeClusterTrainingRuntime(YamlReader& r, Manifests* out) {
  DecodeRuntime(r, out, /*cluster=*/true);
}

void DecodeTrainingRuntime(YamlReader& r, Manifests* out) {
  DecodeRuntime(r, out, /*cluster=*/false);
}

// trainer.kubeflow.org/v1alpha1 TrainJob: the CRD's defaults and CEL rules (trainjob_types.go)
// and the webhook's checks that need only the TrainJob (trainjob_webhook.go).
void DecodeTrainJob(YamlReader& r, Manifests* out) {
  TrainJob tj;
  tj.metadata = DecodeMeta(r, true);
  const std::string& name = tj.metadata.name;
  static const std::regex kRfc1035("^[a-z]([-a-z0-9]*[a-z0-9])?$");
  // The CRD's CEL rules on the object (reported at its name here).
  if (!std::regex_match(name, kRfc1035)) {
    r.Object("metadata")
        ->Fail("name",
               "Invalid value: \"object\": metadata.name must match RFC 1035 DNS label format");
  }
  if (name.size() > 63) {
    r.Object("metadata")
        ->Fail("name",
               "Invalid value: \"object\": metadata.name must be no more than 63 characters");
  }
  auto spec = r.Object("spec");
  if (!spec) r.Fail("spec.runtimeRef", "Required value");
  auto ref = spec->Object("runtimeRef");
  if (!ref) spec->Fail("runtimeRef", "Required value");
  tj.runtime_name = ref->String("name");
  tj.runtime_ref_source = ref->Has("name") ? ref->Where(ref->Raw("name")) : ref->Where();
  if (tj.runtime_name.empty()) {
    ref->Fail("name", ref->Has("name") ? "Invalid value: \"\": spec.runtimeRef.name in body "
                                         "should be at least 1 chars long"
                                       : "Required value");
  }
  MaxLength(*ref, "name", tj.runtime_name, 253);
  tj.runtime_api_group = ref->String("apiGroup", "trainer.kubeflow.org");
  tj.runtime_kind = ref->String("kind", "ClusterTrainingRuntime");
  ref->Finish();
  // The webhook finds no runtime plugin for any other GroupKind (schema.GroupKind.String()).
  if (tj.runtime_api_group != "trainer.kubeflow.org" ||
      (tj.runtime_kind != "ClusterTrainingRuntime" && tj.runtime_kind != "TrainingRuntime")) {
    spec->Fail("runtimeRef", "unsupported runtime: " + tj.runtime_kind +
                                 (tj.runtime_api_group.empty() ? "" : "." + tj.runtime_api_group));
  }
  if (auto init = spec->Object("initializer")) {
    if (auto d = init->Object("dataset")) {
      tj.dataset_initializer = true;
      tj.dataset_storage_uri = DecodeInitializer(*d, "dataset");
    }
    if (auto m = init->Object("model")) {
      tj.model_initializer = true;
      tj.model_storage_uri = DecodeInitializer(*m, "model");
    }
    init->Finish();
  }
  if (auto t = spec->Object("trainer")) {
    tj.trainer = true;
    tj.trainer_source = t->Where();
    if (auto image = t->OptString("image")) {
      MaxLength(*t, "image", *image, 500);
      tj.image = *image;
    }
    for (const char* key : {"command", "args"}) {
      if (!t->Has(key)) continue;
      auto list = t->StringList(key);
      if (list.size() > 128) t->Fail(key, "Too many: must have at most 128 items");
      (std::string(key) == "command" ? tj.command : tj.args) = std::move(list);
    }
    DecodeEnv(*t, "env", &tj.env, &tj.env_names);
    if (tj.env_names.size() > 128) t->Fail("env", "Too many: must have at most 128 items");
    // No minimum in the CRD; a negative count becomes the Jobs' parallelism, which the Job
    // API refuses (spec.parallelism: must be greater than or equal to 0): refused here.
    if (auto n = t->Int("numNodes", 0, INT32_MAX)) tj.num_nodes = static_cast<int32_t>(*n);
    if (auto n = t->Int("numProcPerNode", INT32_MIN, INT32_MAX)) {
      tj.num_proc_per_node = static_cast<int32_t>(*n);
    }
    if (auto res = t->Object("resourcesPerNode")) {
      // Kept as written: it is merged over the runtime's container before any defaulting.
      ResourceRequirements rr;
      rr.requests = res->Resources("requests");
      rr.limits = res->Resources("limits");
      if (res->Has("claims")) {
        res->diagnostics()->Warn(res->Where(res->Raw("claims")), res->FieldPath("claims"),
                                 "not modelled: no device is allocated from resource claims");
      }
      res->Ignore({"claims"});
      res->Finish();
      tj.resources_per_node = std::move(rr);
    }
    t->Finish();
  }
  auto patches = spec->ObjectList("runtimePatches");
  if (patches.size() > 16) spec->Fail("runtimePatches", "Too many: must have at most 16 items");
  for (auto& p : patches) {
    RuntimePatch patch = DecodeRuntimePatch(p);
    for (const auto& other : tj.runtime_patches) {
      if (other.manager == patch.manager) {
        p.Fail("manager", "Duplicate value: \"" + patch.manager + "\"");
      }
    }
    tj.runtime_patches.push_back(std::move(patch));
  }
  // Trainer v2.1's overrides, replaced by runtimePatches in v2.2: the v2.3 API server does
  // not know them (strict field validation refuses them; without it they are dropped).
  for (const char* key : {"podTemplateOverrides", "labels", "annotations"}) {
    if (!spec->Has(key)) continue;
    spec->diagnostics()->Warn(spec->Where(spec->Raw(key)), spec->FieldPath(key),
                              "unknown field in Kubeflow Trainer v2.3 (removed in v2.2; the twin "
                              "ignores it): write spec.runtimePatches[].trainingRuntimeSpec");
  }
  spec->Ignore({"podTemplateOverrides", "labels", "annotations"});
  tj.suspend = spec->Bool("suspend").value_or(false);
  if (auto d = spec->Int("activeDeadlineSeconds", 1)) tj.active_deadline_seconds = *d;
  tj.managed_by = spec->String("managedBy", "trainer.kubeflow.org/trainjob-controller");
  if (tj.managed_by != "trainer.kubeflow.org/trainjob-controller" &&
      tj.managed_by != "kueue.x-k8s.io/multikueue") {
    spec->Fail("managedBy",
               "Invalid value: \"string\": ManagedBy must be trainer.kubeflow.org/trainjob-"
               "controller or kueue.x-k8s.io/multikueue if set");
  }
  if (tj.managed_by == "kueue.x-k8s.io/multikueue") {
    spec->diagnostics()->Warn(spec->Where(spec->Raw("managedBy")), spec->FieldPath("managedBy"),
                              "\"kueue.x-k8s.io/multikueue\": the TrainJob controller leaves this "
                              "TrainJob to MultiKueue (not modelled); no JobSet is created");
  }
  spec->Finish();
  r.Finish();
  out->train_jobs.push_back(std::move(tj));
}

}  // namespace gputwin::api
