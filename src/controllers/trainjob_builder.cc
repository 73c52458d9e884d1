#include "controllers/trainjob_builder.h"

#include <algorithm>
#include <cctype>

namespace gputwin::controllers {

namespace {

// apply.UpsertEnvVars: a variable of that name is replaced, else appended. `value` nullopt:
// a valueFrom variable (the twin keeps only its name).
void UpsertEnv(api::Container* c, const std::string& name,
               const std::optional<std::string>& value) {
  if (std::find(c->env_names.begin(), c->env_names.end(), name) == c->env_names.end()) {
    c->env_names.push_back(name);
  }
  auto it =
      std::find_if(c->env.begin(), c->env.end(), [&](const auto& e) { return e.first == name; });
  if (!value) {
    if (it != c->env.end()) c->env.erase(it);
  } else if (it != c->env.end()) {
    it->second = *value;
  } else {
    c->env.emplace_back(name, *value);
  }
}

// A list of variables as the API holds them: every name, literal values where given.
void UpsertEnvList(api::Container* c, const std::vector<std::pair<std::string, std::string>>& env,
                   const std::vector<std::string>& names) {
  for (const auto& name : names) {
    auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == name; });
    UpsertEnv(c, name, it == env.end() ? std::nullopt : std::optional<std::string>(it->second));
  }
}

api::Container* FindContainer(std::vector<api::Container>* cs, const std::string& name) {
  for (auto& c : *cs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string Ancestor(const api::ReplicatedJob& rj) {
  auto it = rj.template_.metadata.labels.find(kTrainJobAncestorLabel);
  return it == rj.template_.metadata.labels.end() ? "" : it->second;
}

// util/trainingruntime.MergeResourceRequirements (a strategic merge of two
// ResourceRequirements: limits and requests merged per resource, the override winning),
// over the runtime's container as stored (a CRD's template is not defaulted); the pod's
// defaulting (requests from limits) follows when the Job's pods are created.
api::ResourceRequirements MergeResources(const api::ResourceRequirements& base,
                                         const api::ResourceRequirements& override_) {
  api::ResourceRequirements out;
  out.limits = base.limits;
  for (const auto& [name, q] : base.requests) {
    if (std::find(base.defaulted_requests.begin(), base.defaulted_requests.end(), name) ==
        base.defaulted_requests.end()) {
      out.requests[name] = q;
    }
  }
  for (const auto& [name, q] : override_.limits) out.limits[name] = q;
  for (const auto& [name, q] : override_.requests) out.requests[name] = q;
  for (const auto& [name, q] : out.limits) {
    if (out.requests.emplace(name, q).second) out.defaulted_requests.push_back(name);
  }
  return out;
}

// runtime.GetNumGPUPerNode: the first resource whose name contains "gpu" (requests, then
// limits), rounded up.
int64_t NumGpu(const api::ResourceRequirements& r) {
  auto first = [](const api::ResourceList& list) -> int64_t {
    for (const auto& [name, q] : list) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return std::tolower(ch); });
      if (lower.find("gpu") != std::string::npos) return q.Value();
    }
    return 0;
  };
  const int64_t requests = first(r.requests);
  return requests == 0 ? first(r.limits) : requests;
}

// torch.go getNumCPUPerNode: requests.cpu, or limits.cpu when the request is zero.
int64_t NumCpu(const api::ResourceRequirements& r) {
  auto req = r.requests.find("cpu");
  if (req == r.requests.end() || req->second.milli == 0) {
    auto lim = r.limits.find("cpu");
    return lim == r.limits.end() ? 0 : lim->second.Value();
  }
  return req->second.Value();
}

// mergeRuntimePatches: one replicatedJob patch, as a strategic merge patch of JobSetSpec.
void ApplyPatch(api::ReplicatedJob* rj, const api::ReplicatedJobPatch& p) {
  for (const auto& [k, v] : p.job_labels) rj->template_.metadata.labels[k] = v;
  for (const auto& [k, v] : p.job_annotations) rj->template_.metadata.annotations[k] = v;
  auto& t = *rj->template_.template_;
  for (const auto& [k, v] : p.labels) t.metadata.labels[k] = v;
  for (const auto& [k, v] : p.annotations) t.metadata.annotations[k] = v;
  auto& spec = t.spec;
  for (const auto& [k, v] : p.node_selector) spec.node_selector[k] = v;
  // PodSpec.tolerations has no patch strategy: the patch's list replaces the template's.
  if (p.tolerations) spec.tolerations = *p.tolerations;
  // Affinity: each struct merged, each of its term lists replaced.
  if (p.node_affinity) {
    if (!spec.node_affinity) spec.node_affinity = api::NodeAffinity{};
    if (p.node_affinity->required) spec.node_affinity->required = p.node_affinity->required;
    if (!p.node_affinity->preferred.empty()) {
      spec.node_affinity->preferred = p.node_affinity->preferred;
    }
  }
  auto pod_affinity = [](std::optional<api::PodAffinity>* to,
                         const std::optional<api::PodAffinity>& from) {
    if (!from) return;
    if (!*to) *to = api::PodAffinity{};
    if (!from->required.empty()) (*to)->required = from->required;
    if (!from->preferred.empty()) (*to)->preferred = from->preferred;
  };
  pod_affinity(&spec.pod_affinity, p.pod_affinity);
  pod_affinity(&spec.pod_anti_affinity, p.pod_anti_affinity);
  // schedulingGates: patchStrategy merge, key name.
  for (const auto& g : p.scheduling_gates) {
    if (std::find(spec.scheduling_gates.begin(), spec.scheduling_gates.end(), g) ==
        spec.scheduling_gates.end()) {
      spec.scheduling_gates.push_back(g);
    }
  }
  if (p.service_account_name) spec.service_account_name = *p.service_account_name;
  if (p.termination_grace_period_seconds) {
    spec.termination_grace_period_seconds = *p.termination_grace_period_seconds;
  }
  // containers and initContainers: merged by name; env by name.
  for (const auto& cp : p.containers) {
    if (auto* c = FindContainer(&spec.containers, cp.name)) UpsertEnvList(c, cp.env, cp.env_names);
  }
  for (const auto& cp : p.init_containers) {
    if (auto* c = FindContainer(&spec.init_containers, cp.name)) {
      UpsertEnvList(c, cp.env, cp.env_names);
    }
  }
}

bool TwinBehaviourAnnotation(const std::string& key) {
  return key.starts_with("gputwin.io/") && key != "gputwin.io/gang" &&
         !key.starts_with("gputwin.io/lint-");
}

}  // namespace

const api::TrainingRuntime* FindTrainingRuntime(const std::vector<api::TrainingRuntime>& runtimes,
                                                const api::TrainJob& tj) {
  const bool cluster = tj.runtime_kind == "ClusterTrainingRuntime";
  for (const auto& rt : runtimes) {
    if (rt.cluster_scoped != cluster || rt.metadata.name != tj.runtime_name) continue;
    if (!cluster && rt.metadata.namespace_ != tj.metadata.namespace_) continue;
    return &rt;
  }
  return nullptr;
}

TrainJobBuild BuildTrainJobJobSet(const api::TrainJob& tj, const api::TrainingRuntime& rt) {
  TrainJobBuild out;
  api::JobSet& js = out.job_set;
  js = rt.template_;
  js.metadata = api::ObjectMeta{};
  js.metadata.name = tj.metadata.name;
  js.metadata.namespace_ = tj.metadata.namespace_;
  js.metadata.source = tj.metadata.source;
  // 1. Propagated metadata: the runtime template's, then each patch's.
  js.metadata.labels = rt.template_labels;
  js.metadata.annotations = rt.template_annotations;
  for (const auto& p : tj.runtime_patches) {
    for (const auto& [k, v] : p.labels) js.metadata.labels[k] = v;
    for (const auto& [k, v] : p.annotations) js.metadata.annotations[k] = v;
  }
  // 2. The patches' replicatedJobs, in list order (the runtime's order of Jobs is kept).
  for (const auto& p : tj.runtime_patches) {
    for (const auto& rjp : p.replicated_jobs) {
      for (auto& rj : js.replicated_jobs) {
        if (rj.name == rjp.name) ApplyPatch(&rj, rjp);
      }
    }
  }
  const std::string& name = tj.metadata.name;
  const bool mpi = rt.framework == "mpi";
  const bool launcher_as_node = mpi && rt.mpi_run_launcher_as_node;
  // 3-4. Each replicatedJob's count, and resourcesPerNode merged over the trainer's node.
  std::vector<int32_t> count(js.replicated_jobs.size(), 1);
  for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
    auto& rj = js.replicated_jobs[i];
    rj.template_.metadata.namespace_ = tj.metadata.namespace_;
    int32_t n = rj.template_.parallelism.value_or(1);
    const bool trainer = Ancestor(rj) == "trainer";
    if (trainer && rt.ml_policy) n = rt.num_nodes.value_or(1);
    if (tj.trainer && tj.resources_per_node &&
        ((trainer && rt.ml_policy) || (launcher_as_node && rj.name == "node"))) {
      if (auto* c = FindContainer(&rj.template_.template_->spec.containers, "node")) {
        c->resources = MergeResources(c->resources, *tj.resources_per_node);
      }
    }
    count[i] = std::max(n, 1);  // runtime.WithPodSet
  }
  // 5. EnforceMLPolicy: the node count from the TrainJob.
  size_t trainer_ps = js.replicated_jobs.size();
  for (size_t i = 0; i < js.replicated_jobs.size() && trainer_ps == js.replicated_jobs.size();
       ++i) {
    if (Ancestor(js.replicated_jobs[i]) == "trainer") trainer_ps = i;
  }
  if (tj.num_nodes) {
    if (mpi) {
      for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
        if (js.replicated_jobs[i].name != "node") continue;
        count[i] = launcher_as_node
                       ? static_cast<int32_t>(std::max<int64_t>(int64_t{*tj.num_nodes} - 1, 1))
                       : *tj.num_nodes;
        break;
      }
    } else if (trainer_ps < js.replicated_jobs.size()) {
      count[trainer_ps] = *tj.num_nodes;  // torch, jax, xgboost, plain ML (and flux's)
    }
  }
  out.trainer_nodes = trainer_ps < count.size() ? count[trainer_ps] : 1;
  if (mpi) {
    // MPI's nodes: the Job "node", and the launcher when it runs as one.
    for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
      if (js.replicated_jobs[i].name == "node")
        out.trainer_nodes = count[i] + (launcher_as_node ? 1 : 0);
    }
  }
  // SyncParallelCount.
  for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
    js.replicated_jobs[i].template_.parallelism = count[i];
    js.replicated_jobs[i].template_.completions = count[i];
  }
  // 6. The builder: ancestors run once; the trainer's node container gets the TrainJob's
  // image, command, args and env; the initializers their storage URI.
  for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
    auto& rj = js.replicated_jobs[i];
    const std::string ancestor = Ancestor(rj);
    auto& containers = rj.template_.template_->spec.containers;
    if (ancestor == "dataset-initializer" || ancestor == "model-initializer") {
      rj.replicas = 1;
      const bool dataset = ancestor == "dataset-initializer";
      const auto& uri = dataset ? tj.dataset_storage_uri : tj.model_storage_uri;
      auto* c = FindContainer(&containers, ancestor);
      if (c && (dataset ? tj.dataset_initializer : tj.model_initializer) && uri) {
        UpsertEnv(c, "STORAGE_URI", *uri);
      }
    }
    const bool trainer = ancestor == "trainer";
    if (trainer) rj.replicas = 1;
    auto* node = FindContainer(&containers, "node");
    if (node && tj.trainer && trainer) {
      if (tj.image) node->image = *tj.image;
      if (tj.command) node->command = *tj.command;
      if (tj.args) node->args = *tj.args;
    }
    if (node && tj.trainer && (trainer || (launcher_as_node && rj.name == "node"))) {
      UpsertEnvList(node, tj.env, tj.env_names);
    }
    // Torch's PET_* environment for torchrun (torch.go EnforceMLPolicy): into the trainer's
    // node container with spec.trainer, and into the envInjection targets. The twin runs no
    // torchrun: this is for the record.
    if (i == trainer_ps && rt.framework == "torch") {
      std::string nproc = "auto";
      if (tj.num_proc_per_node) {
        nproc = std::to_string(*tj.num_proc_per_node);
      } else {
        // resourcesPerNode as written, else the runtime's node container.
        api::ResourceRequirements res;
        if (tj.trainer && tj.resources_per_node) {
          res = *tj.resources_per_node;
        } else if (node) {
          res = node->resources;
        }
        if (NumGpu(res) == 0) nproc = std::to_string(std::max<int64_t>(1, NumCpu(res)));
      }
      const bool tune = tj.command && *tj.command == std::vector<std::string>{"tune", "run"};
      auto pet = [&](api::Container* c, bool master) {
        UpsertEnv(c, "PET_NNODES", std::to_string(count[i]));
        UpsertEnv(c, "PET_NPROC_PER_NODE", nproc);
        UpsertEnv(c, "PET_NODE_RANK", std::nullopt);  // fieldRef: the completion index
        if (master) {
          UpsertEnv(c, "PET_MASTER_ADDR", name + "-node-0-0." + name);
          UpsertEnv(c, "PET_MASTER_PORT", "29500");
        }
      };
      if (node && tj.trainer) pet(node, !tune);
      for (const auto& [job, names] : rt.torch_env_injection) {
        for (auto& other : js.replicated_jobs) {
          if (other.name != job) continue;
          for (const auto& cn : names) {
            auto* c = FindContainer(&other.template_.template_->spec.containers, cn);
            if (!c) c = FindContainer(&other.template_.template_->spec.init_containers, cn);
            if (c) pet(c, true);
          }
        }
      }
    }
    // 7. The pod-group plugins' marks (coscheduling.go, volcano.go).
    auto& meta = rj.template_.template_->metadata;
    if (rt.pod_group_policy == "coscheduling") meta.labels["scheduling.x-k8s.io/pod-group"] = name;
    if (rt.pod_group_policy == "volcano") meta.annotations["scheduling.k8s.io/group-name"] = name;
    // The twin's convention: what the trainer does, from the TrainJob's gputwin.io/ notes.
    if (trainer) {
      for (const auto& [k, v] : tj.metadata.annotations) {
        if (TwinBehaviourAnnotation(k)) meta.annotations[k] = v;
      }
    }
  }
  if (auto gang = tj.metadata.annotations.find("gputwin.io/gang");
      gang != tj.metadata.annotations.end()) {
    js.metadata.annotations["gputwin.io/gang"] = gang->second;
  }
  if (auto ex = js.metadata.annotations.find("alpha.jobset.sigs.k8s.io/exclusive-topology");
      ex != js.metadata.annotations.end()) {
    js.exclusive_topology = ex->second;
  }
  if (js.subdomain.empty()) js.subdomain = name;  // network.subdomain, else the JobSet's name
  js.suspend = tj.suspend;
  js.metadata.owner_references = {{"TrainJob", name, true}};
  return out;
}

}  // namespace gputwin::controllers
