// Everything checked before a run starts: names are unique, every pod template passes
// admission, actions and expectations point at real objects, Kueue's workloads resolve,
// GPU models and the NVIDIA stack are known. A bad input throws InputError (file:line,
// field) before anything runs.
#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "api/ray_types.h"
#include "autoscaling/keda.h"
#include "autoscaling/scale_target.h"
#include "controllers/trainjob_builder.h"
#include "devices/inventory.h"
#include "kueue/ray_integration.h"
#include "kueue/workload.h"
#include "prometheus/rule_manager.h"
#include "serving/serving_controller.h"
#include "sim/components.h"
#include "sim/drivers.h"
#include "sim/simulation.h"

namespace gputwin::sim {

namespace {

// Two objects of a kind with one name (and namespace): AlreadyExists, as `kubectl create`
// of the second answers. (`kubectl apply -f DIR` would merge the second into the first; the
// twin refuses rather than guess which one was meant.)
void CheckUnique(std::map<std::string, SourceRef>* seen, const std::string& kind,
                 const api::ObjectMeta& m) {
  auto [it, added] = seen->emplace(kind + "/" + ObjKey(m), m.source);
  if (!added) {
    throw InputError(m.source, "metadata.name",
                     "AlreadyExists: " + kind + " \"" + m.name + "\" already exists" +
                         (m.namespace_.empty() ? "" : " in namespace \"" + m.namespace_ + "\"") +
                         " (" + it->second.file + ":" + std::to_string(it->second.line) + ")");
  }
}

// What Kueue's integrations (Configuration integrations.frameworks) would do with the
// objects that name a queue, where the twin does something else or the user may expect
// otherwise.
void WarnKueueIntegrations(api::Manifests* m) {
  const auto& cfg = m->kueue_config;
  std::string listed;
  for (const auto& f : cfg.frameworks) listed += (listed.empty() ? "" : ", ") + f;
  auto queue_of = [](const api::Labels& l) -> const std::string* {
    auto it = l.find(kueue::kQueueNameLabel);
    return it == l.end() ? nullptr : &it->second;
  };
  auto warn = [&](const api::ObjectMeta& meta, const char* kind, const char* framework,
                  const std::string& upstream) {
    const std::string what = std::string(kind) + " " + ObjKey(meta) + " names a LocalQueue";
    m->diagnostics.Warn(meta.source, "metadata.labels." + std::string(kueue::kQueueNameLabel),
                        what + ", but Kueue manages it only when integrations.frameworks lists \"" +
                            framework + "\" (it lists " + listed + "): as upstream, " +
                            (upstream.empty() ? "it runs without Kueue" : upstream));
  };
  // A managed pod template naming a WorkloadPriorityClass that does not exist fails now,
  // not when its first pod is created.
  auto check_priority = [&](const api::ObjectMeta& owner, const api::PodTemplateSpec& t) {
    kueue::Workload w;
    api::Labels labels = t.metadata.labels;
    for (const auto& [k, v] : owner.labels) labels.emplace(k, v);
    kueue::SetPriority(&w, labels, t.spec, *m, owner.source);
  };
  for (const auto& p : m->pods) {
    if (!queue_of(p.metadata.labels)) continue;
    if (cfg.Manages("pod")) {
      check_priority(p.metadata, api::PodTemplateSpec{p.metadata, p.spec});
    } else {
      warn(p.metadata, "Pod", "pod", "");
    }
  }
  for (const auto& d : m->deployments) {
    const bool on_template = queue_of(d.template_.metadata.labels) != nullptr;
    if (!queue_of(d.metadata.labels) && !on_template) continue;
    if (cfg.Manages("deployment") || (on_template && cfg.Manages("pod"))) {
      check_priority(d.metadata, d.template_);
    } else {
      warn(d.metadata, "Deployment", "deployment", "");
    }
  }
  for (const auto& ss : m->stateful_sets) {
    const bool on_template = queue_of(ss.template_.metadata.labels) != nullptr;
    if (!queue_of(ss.metadata.labels) && !on_template) continue;
    if (cfg.Manages("statefulset") || (on_template && cfg.Manages("pod"))) {
      check_priority(ss.metadata, ss.template_);
    } else {
      warn(ss.metadata, "StatefulSet", "statefulset", "");
    }
  }
  for (const auto& js : m->job_sets) {
    if (!queue_of(js.metadata.labels)) continue;
    if (cfg.Manages("jobset.x-k8s.io/jobset")) {
      kueue::WorkloadForJobSet(js, *m);  // a missing WorkloadPriorityClass fails now
    } else {
      warn(js.metadata, "JobSet", "jobset.x-k8s.io/jobset", "");
    }
  }
  for (const auto& pj : m->pytorch_jobs) {
    if (!queue_of(pj.metadata.labels)) continue;
    if (cfg.Manages("kubeflow.org/pytorchjob")) {
      kueue::WorkloadForPyTorchJob(pj, *m);  // a missing WorkloadPriorityClass fails now
    } else {
      warn(pj.metadata, "PyTorchJob", "kubeflow.org/pytorchjob", "");
    }
  }
  kueue::ValidateRayObjects(*m);  // the Ray webhooks' errors
  if (m->ray) {
    for (const auto& s : m->ray->services) {
      if (queue_of(s.metadata.labels) && !cfg.Manages("ray.io/rayservice")) {
        warn(s.metadata, "RayService", "ray.io/rayservice", "");
      }
    }
    for (const auto& c : m->ray->clusters) {
      if (queue_of(c.metadata.labels) && !cfg.Manages("ray.io/raycluster")) {
        warn(c.metadata, "RayCluster", "ray.io/raycluster", "");
      }
    }
    for (const auto& j : m->ray->jobs) {
      if (queue_of(j.metadata.labels) && !cfg.Manages("ray.io/rayjob")) {
        warn(j.metadata, "RayJob", "ray.io/rayjob", "");
      }
    }
  }
  for (const auto& tj : m->train_jobs) {
    if (!queue_of(tj.metadata.labels)) continue;
    if (cfg.Manages("trainer.kubeflow.org/trainjob")) {
      kueue::WorkloadForTrainJob(tj, *m);  // a missing WorkloadPriorityClass fails now
    } else {
      warn(tj.metadata, "TrainJob", "trainer.kubeflow.org/trainjob", "");
    }
  }
  for (const auto& l : m->leader_worker_sets) {
    if (!queue_of(l.metadata.labels)) continue;
    if (cfg.Manages("leaderworkerset.x-k8s.io/leaderworkerset")) {
      check_priority(l.metadata, l.worker_template);
    } else {
      warn(l.metadata, "LeaderWorkerSet", "leaderworkerset.x-k8s.io/leaderworkerset", "");
    }
  }
  for (const auto& j : m->jobs) {
    if (queue_of(j.metadata.labels) && !cfg.Manages("batch/job")) {
      warn(j.metadata, "Job", "batch/job", "");
    }
  }
  // Topology-Aware Scheduling: the annotations as Kueue's webhook checks them, and a level
  // that no Topology has (no flavor could ever admit the PodSet: "Flavor ... does not
  // contain the requested level" for ever) is an input error.
  std::set<std::string> levels;
  for (const auto& t : m->topologies) levels.insert(t.levels.begin(), t.levels.end());
  auto check_levels = [&](const std::optional<kueue::Workload>& w, const api::ObjectMeta& meta,
                          const char* kind, const SourceRef& where = {},
                          const std::string& field = "metadata.annotations") {
    const SourceRef& at = where.line > 0 ? where : meta.source;
    if (!w) return;
    for (const auto& ps : w->pod_sets) {
      if (!ps.topology) continue;
      for (const std::string& level : {ps.topology->Level(), ps.topology->slice_level}) {
        if (level.empty() || levels.count(level)) continue;
        if (levels.empty()) {
          // The Topology may live elsewhere; here no flavor can take the request.
          m->diagnostics.Warn(at, field,
                              std::string(kind) + " " + ObjKey(meta) + " pod set " + ps.name +
                                  " asks for Topology-Aware Scheduling (level \"" + level +
                                  "\") but no Topology is in the manifests: Kueue keeps it "
                                  "pending (Flavor ... does not support "
                                  "TopologyAwareScheduling)");
          break;
        }
        std::string known;
        for (const auto& l : levels) known += (known.empty() ? "" : ", ") + l;
        throw InputError(at, field,
                         std::string(kind) + " " + ObjKey(meta) + " pod set " + ps.name +
                             " asks for topology level \"" + level + "\", which no Topology has (" +
                             (known.empty() ? "there is no Topology" : "levels: " + known) +
                             "): Kueue would keep it pending for ever (Flavor does not contain "
                             "the requested level)");
      }
    }
  };
  for (const auto& j : m->jobs) {
    if (queue_of(j.metadata.labels) && cfg.Manages("batch/job")) {
      check_levels(kueue::WorkloadForJob(j, *m), j.metadata, "Job", j.template_->metadata.source,
                   "spec.template.metadata.annotations");
    }
  }
  for (const auto& js : m->job_sets) {
    if (queue_of(js.metadata.labels) && cfg.Manages("jobset.x-k8s.io/jobset")) {
      check_levels(kueue::WorkloadForJobSet(js, *m), js.metadata, "JobSet");
    }
  }
  for (const auto& l : m->leader_worker_sets) {
    if (queue_of(l.metadata.labels) && cfg.Manages("leaderworkerset.x-k8s.io/leaderworkerset")) {
      // One PodSet at a time, so that each names its own template.
      for (auto& ps : kueue::LeaderWorkerSetPodSets(l)) {  // the annotations' errors fail now
        const bool leader = ps.name == "leader";
        kueue::Workload w;
        w.pod_sets.push_back(std::move(ps));
        check_levels(
            w, l.metadata, "LeaderWorkerSet",
            leader ? l.leader_template->metadata.source : l.worker_template.metadata.source,
            std::string("spec.leaderWorkerTemplate.") +
                (leader ? "leaderTemplate" : "workerTemplate") + ".metadata.annotations");
      }
    }
  }
  for (const auto& pj : m->pytorch_jobs) {
    if (queue_of(pj.metadata.labels) && cfg.Manages("kubeflow.org/pytorchjob")) {
      check_levels(kueue::WorkloadForPyTorchJob(pj, *m), pj.metadata, "PyTorchJob");
    }
  }
  // A ResourceFlavor naming a Topology that does not exist: its workloads never fit.
  for (const auto& rf : m->resource_flavors) {
    if (rf.topology_name.empty()) continue;
    const bool exists = std::any_of(m->topologies.begin(), m->topologies.end(),
                                    [&](auto& t) { return t.metadata.name == rf.topology_name; });
    if (!exists) {
      m->diagnostics.Warn(rf.metadata.source, "spec.topologyName",
                          "Topology \"" + rf.topology_name +
                              "\" does not exist: Kueue keeps TAS workloads of this flavor "
                              "pending (Flavor \"" +
                              rf.metadata.name + "\" information missing in TAS cache)");
    }
  }
}

// The TrainJob webhook's checks that need the runtime (trainjob_webhook.go ValidateCreate:
// the runtime's ValidateObjects and the plugins' Validate, Kubeflow Trainer v2.3), and the
// JobSet each TrainJob will create.
void ValidateTrainJobs(api::Manifests* m) {
  for (const auto& tj : m->train_jobs) {
    const api::TrainingRuntime* rt = controllers::FindTrainingRuntime(m->training_runtimes, tj);
    const bool cluster = tj.runtime_kind == "ClusterTrainingRuntime";
    if (!rt) {
      // The client's NotFound, then the webhook's words (upstream reports the whole
      // runtimeRef, at spec.RuntimeRef for a ClusterTrainingRuntime).
      throw InputError(tj.runtime_ref_source, "spec.runtimeRef.name",
                       std::string(cluster ? "clustertrainingruntimes" : "trainingruntimes") +
                           ".trainer.kubeflow.org \"" + tj.runtime_name + "\" not found: " +
                           "specified " + (cluster ? "clusterTrainingRuntime" : "trainingRuntime") +
                           " must be created before the TrainJob is created");
    }
    const api::ObjectMeta& meta = tj.metadata;
    if (auto it = rt->metadata.labels.find("trainer.kubeflow.org/support");
        cluster && it != rt->metadata.labels.end() && it->second == "deprecated") {
      m->diagnostics.Warn(tj.runtime_ref_source, "spec.runtimeRef.name",
                          "Referenced ClusterTrainingRuntime \"" + rt->metadata.name +
                              "\" is deprecated and will be removed in a future release of "
                              "Kubeflow Trainer. See runtime deprecation policy: "
                              "https://trainer.kubeflow.org/en/latest/operator-guides/"
                              "runtime.html#runtime-deprecation-policy");
    }
    const auto& rjobs = rt->template_.replicated_jobs;
    auto find_job = [&](const std::string& name) -> const api::ReplicatedJob* {
      for (const auto& rj : rjobs) {
        if (rj.name == name) return &rj;
      }
      return nullptr;
    };
    auto has_container = [](const api::ReplicatedJob& rj, const std::string& name) {
      const auto& spec = rj.template_.template_->spec;
      for (const auto* list : {&spec.containers, &spec.init_containers}) {
        for (const auto& c : *list) {
          if (c.name == name) return true;
        }
      }
      return false;
    };
    // The torch and MPI plugins: reserved environment variables.
    auto reserved = [&](std::initializer_list<const char*> names) {
      std::vector<std::string> bad;
      for (const char* n : names) {
        if (std::find(tj.env_names.begin(), tj.env_names.end(), n) != tj.env_names.end()) {
          bad.push_back(n);
        }
      }
      if (bad.empty()) return;
      std::sort(bad.begin(), bad.end());
      std::string list;
      for (const auto& b : bad) list += (list.empty() ? "" : " ") + b;
      throw InputError(tj.trainer_source, "spec.trainer.env",
                       "must not have reserved envs, invalid envs configured: [" + list + "]");
    };
    if (rt->framework == "torch") {
      reserved({"PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR",
                "PET_MASTER_PORT"});
      for (const auto& [job, containers] : rt->torch_env_injection) {
        for (const auto& c : containers) {
          const api::ReplicatedJob* rj = find_job(job);
          if (!rj || !has_container(*rj, c)) {
            throw InputError(tj.runtime_ref_source, "spec.runtimeRef",
                             "envInjection target podSet \"" + job + "\" container \"" + c +
                                 "\" not found in runtime template");
          }
        }
      }
    }
    if (rt->framework == "mpi") {
      if (tj.trainer && tj.num_nodes.value_or(1) >= 2 && rt->mpi_run_launcher_as_node &&
          (!find_job("launcher") || !find_job("node"))) {
        throw InputError(tj.trainer_source, "spec.trainer.numNodes",
                         "Invalid value: " + std::to_string(*tj.num_nodes) +
                             ": must have 1 when MPI trainingRuntime with enabled "
                             "runLauncherAsNode does not have either launcher and node");
      }
      reserved({"OMPI_MCA_orte_default_hostfile", "OMPI_MCA_plm_rsh_args",
                "OMPI_MCA_orte_keep_fqdn_hostnames", "OMPI_MCA_orte_set_default_slots"});
    }
    // The jobset plugin's Validate: initializers need their Job, container and volume.
    for (const char* step : {"dataset-initializer", "model-initializer"}) {
      const bool dataset = std::string(step) == "dataset-initializer";
      if (!(dataset ? tj.dataset_initializer : tj.model_initializer)) continue;
      const std::string s = step;
      const api::ReplicatedJob* rj = find_job(s);
      std::string error;
      if (!rj) {
        error = "must have " + s + " job when trainJob is configured with input " +
                (dataset ? "datasetConfig" : "modelConfig");
      } else if (!has_container(*rj, s)) {
        error = "must have container with name - " + s + " in the " + s + " job";
      } else {
        bool mounted = false;
        for (const auto& c : rj->template_.template_->spec.containers) {
          if (c.name != s) continue;
          mounted = std::find(c.volume_mounts.begin(), c.volume_mounts.end(), "initializer") !=
                    c.volume_mounts.end();
        }
        if (!mounted) {
          error = "must have volumeMount with name - initializer in container " + s + " of the " +
                  s + " job";
        }
      }
      if (!error.empty()) throw InputError(tj.runtime_ref_source, "spec.runtimeRef", error);
    }
    for (const auto& p : tj.runtime_patches) {
      for (const auto& rjp : p.replicated_jobs) {
        const api::ReplicatedJob* rj = find_job(rjp.name);
        if (!rj) {
          throw InputError(rjp.source, "spec.runtimePatches",
                           "must not have replicated job that doesn't exist in the runtime job "
                           "template");
        }
        for (const auto& c : rjp.init_containers) {
          if (!has_container(*rj, c.name)) {
            throw InputError(
                rjp.source, "spec.runtimePatches",
                "must not have initContainer that doesn't exist in the runtime job " + rjp.name);
          }
        }
        for (const auto& c : rjp.containers) {
          if (!has_container(*rj, c.name)) {
            throw InputError(
                rjp.source, "spec.runtimePatches",
                "must not have container that doesn't exist in the runtime job " + rjp.name);
          }
          if (!c.env_names.empty() && (c.name == "dataset-initializer" ||
                                       c.name == "model-initializer" || c.name == "node")) {
            throw InputError(rjp.source, "spec.runtimePatches",
                             "must not have envs for the dataset-initializer, model-initializer, "
                             "node containers");
          }
        }
      }
    }
    // The TrainJob's JobSet takes its name: another JobSet of that name would be taken over
    // by the trainer's server-side apply, which the twin does not model.
    for (const auto& js : m->job_sets) {
      if (js.metadata.name == meta.name && js.metadata.namespace_ == meta.namespace_) {
        throw InputError(meta.source, "metadata.name",
                         "JobSet \"" + meta.name + "\" in namespace \"" + meta.namespace_ + "\" (" +
                             js.metadata.source.file + ":" +
                             std::to_string(js.metadata.source.line) +
                             ") has this TrainJob's name: the TrainJob would apply its own JobSet "
                             "over it");
      }
    }
  }
}

}  // namespace

void Simulation::EnsureNamespace(const api::ObjectMeta& meta) {
  if (store_.HasNamespace(meta.namespace_)) return;
  manifests_.diagnostics.Warn(
      meta.source, "metadata.namespace",
      "namespace \"" + meta.namespace_ + "\" is not in the manifests; the twin creates it");
  store_.AddNamespace(meta.namespace_);
}

// spec.maxPods: what the objects ask for at once, and what the generators would create over
// the run, against the limit, before anything runs (2^31 replicas or a Poisson rate of
// 1e300 would otherwise run out of memory or time).
void Simulation::CheckPodLimit() {
  const auto& m = manifests_;
  const int64_t limit = scenario_.max_pods;
  store_.set_max_pods(limit);
  double total = 0;
  auto add = [&](double pods, const SourceRef& where, const std::string& field,
                 const std::string& what) {
    total += std::max(0.0, pods);
    if (pods > static_cast<double>(limit) || total > static_cast<double>(limit)) {
      throw InputError(where, field,
                       what + " (" + std::to_string(static_cast<long long>(std::min(pods, 9e18))) +
                           " pods) takes the run past its limit of " + std::to_string(limit) +
                           " pods (spec.maxPods; raise it if the run needs more)");
    }
  };
  for (const auto& d : m.deployments)
    add(d.replicas, d.metadata.source, "spec.replicas", "Deployment " + d.metadata.name);
  for (const auto& r : m.replica_sets)
    add(r.replicas, r.metadata.source, "spec.replicas", "ReplicaSet " + r.metadata.name);
  for (const auto& s : m.stateful_sets)
    add(s.replicas, s.metadata.source, "spec.replicas", "StatefulSet " + s.metadata.name);
  for (const auto& j : m.jobs) {
    add(static_cast<double>(j.parallelism.value_or(1)), j.metadata.source, "spec.parallelism",
        "Job " + j.metadata.name);
  }
  for (const auto& l : m.leader_worker_sets) {
    add(static_cast<double>(l.replicas) * l.size, l.metadata.source, "spec.replicas",
        "LeaderWorkerSet " + l.metadata.name);
  }
  const double hours = scenario_.duration.seconds() / 3600.0;
  for (const auto& w : scenario_.workloads) {
    const auto& a = w.arrival;
    double n = a.type == "poisson" ? a.rate_per_hour * hours
               : a.type == "fixed" ? static_cast<double>(a.times.size())
                                   : 0;
    if (a.count) n = std::min(n, static_cast<double>(*a.count));
    double per = 1;
    if (w.job) per = static_cast<double>(w.job->parallelism.value_or(1));
    add(n * per, w.source, "arrival", "workload " + w.name + "'s arrivals over the run");
  }
}

void Simulation::Validate() {
  auto& m = manifests_;
  std::map<std::string, SourceRef> seen;
  CheckPodLimit();
  // Traces: their nodes join the manifests' nodes; their pods arrive later.
  for (const auto& t : scenario_.traces) {
    auto arrivals = ImportTrace(t, &m.nodes);
    for (auto& a : arrivals) trace_pods_.push_back(std::move(a));
  }
  // Reference objects first, as `kubectl apply` of a folder would need them.
  for (const auto& ns : m.namespaces) {
    CheckUnique(&seen, "Namespace", ns.metadata);
    store_.AddNamespace(ns.metadata.name, ns.metadata.labels);
  }
  for (const auto& pc : m.priority_classes) {
    CheckUnique(&seen, "PriorityClass", pc.metadata);
    store_.AddPriorityClass(pc);
  }
  auto ensure_namespace = [&](const api::ObjectMeta& meta) { EnsureNamespace(meta); };
  for (const auto& q : m.resource_quotas) {
    CheckUnique(&seen, "ResourceQuota", q.metadata);
    ensure_namespace(q.metadata);
    store_.AddResourceQuota(q);
  }
  for (const auto& lr : m.limit_ranges) {
    CheckUnique(&seen, "LimitRange", lr.metadata);
    ensure_namespace(lr.metadata);
    store_.AddLimitRange(lr);
  }
  for (const auto& cm : m.config_maps) {
    CheckUnique(&seen, "ConfigMap", cm.metadata);
    store_.AddConfigMap(cm);
  }
  for (const auto& n : m.nodes) CheckUnique(&seen, "Node", n.metadata);
  // Namespaced kinds: unique names, and their namespaces exist.
  auto namespaced = [&](const char* kind, const auto& objects) {
    for (const auto& o : objects) {
      CheckUnique(&seen, kind, o.metadata);
      ensure_namespace(o.metadata);
    }
  };
  namespaced("Pod", m.pods);
  namespaced("Deployment", m.deployments);
  namespaced("ReplicaSet", m.replica_sets);
  namespaced("Job", m.jobs);
  namespaced("CronJob", m.cron_jobs);
  namespaced("DaemonSet", m.daemon_sets);
  namespaced("StatefulSet", m.stateful_sets);
  namespaced("JobSet", m.job_sets);
  namespaced("PyTorchJob", m.pytorch_jobs);
  namespaced("LeaderWorkerSet", m.leader_worker_sets);
  namespaced("TrainJob", m.train_jobs);
  if (m.ray) {
    namespaced("RayCluster", m.ray->clusters);
    namespaced("RayJob", m.ray->jobs);
    namespaced("RayService", m.ray->services);
  }
  for (const auto& rt : m.training_runtimes) {
    if (rt.cluster_scoped) {
      CheckUnique(&seen, "ClusterTrainingRuntime", rt.metadata);
    } else {
      CheckUnique(&seen, "TrainingRuntime", rt.metadata);
      ensure_namespace(rt.metadata);
    }
  }
  ValidateTrainJobs(&m);
  namespaced("Service", m.services);
  namespaced("Ingress", m.ingresses);
  namespaced("HorizontalPodAutoscaler", m.horizontal_pod_autoscalers);
  namespaced("ScaledObject", m.scaled_objects);
  namespaced("PodDisruptionBudget", m.pod_disruption_budgets);
  namespaced("LocalQueue", m.local_queues);
  // Cluster-scoped kinds of Kueue and Karpenter.
  for (const auto& o : m.cluster_queues) CheckUnique(&seen, "ClusterQueue", o.metadata);
  for (const auto& o : m.cohorts) CheckUnique(&seen, "Cohort", o.metadata);
  for (const auto& o : m.resource_flavors) CheckUnique(&seen, "ResourceFlavor", o.metadata);
  for (const auto& o : m.topologies) CheckUnique(&seen, "Topology", o.metadata);
  for (const auto& o : m.workload_priority_classes) {
    CheckUnique(&seen, "WorkloadPriorityClass", o.metadata);
  }
  for (const auto& o : m.node_pools) CheckUnique(&seen, "NodePool", o.metadata);
  for (const auto& o : m.ec2_node_classes) CheckUnique(&seen, "EC2NodeClass", o.metadata);
  autoscaling::ValidateScaledObjects(m);
  prometheus::ValidateRules(m);
  for (const auto& h : m.horizontal_pod_autoscalers) {
    auto named = [&](const auto& list) {
      return std::any_of(list.begin(), list.end(), [&](const auto& d) {
        return d.metadata.name == h.target_name && d.metadata.namespace_ == h.metadata.namespace_;
      });
    };
    const bool found = (h.target_kind == "Deployment" && named(m.deployments)) ||
                       (h.target_kind == "StatefulSet" && named(m.stateful_sets));
    if (!found) {
      throw InputError(h.metadata.source, "spec.scaleTargetRef",
                       h.target_kind + " \"" + h.target_name + "\" is not in the manifests" +
                           (autoscaling::ScaleTarget::Scalable(h.target_kind)
                                ? ""
                                : " (the twin scales Deployments and StatefulSets)"));
    }
    for (const auto& metric : h.metrics) {
      if ((metric.type == "Resource" || metric.type == "ContainerResource") &&
          metric.resource == "memory") {
        m.diagnostics.Warn(metric.source, "resource.name",
                           "the twin models no memory usage: the HPA reports "
                           "FailedGetResourceMetric for memory");
      }
    }
  }
  std::set<std::string> node_names;
  for (const auto& n : m.nodes) node_names.insert(n.metadata.name);
  // Admission of every template up front, so a bad one stops the run before it starts.
  auto preflight = [&](const api::PodTemplateSpec& t, const std::string& ns) {
    store_.MakeTemplate(t.metadata, t.spec, ns);
  };
  for (const auto& p : m.pods) {
    if (!p.spec.node_name.empty() && !node_names.count(p.spec.node_name)) {
      throw InputError(p.metadata.source, "spec.nodeName",
                       "node \"" + p.spec.node_name + "\" is not in the manifests");
    }
  }
  for (const auto& d : m.deployments) preflight(d.template_, d.metadata.namespace_);
  for (const auto& j : m.jobs) preflight(*j.template_, j.metadata.namespace_);
  for (const auto& ss : m.stateful_sets) preflight(ss.template_, ss.metadata.namespace_);
  for (const auto& c : m.cron_jobs) {
    preflight(*c.job_template.template_, c.metadata.namespace_);
  }
  for (auto& g : scenario_.workloads) {
    if (g.pod && g.pod->metadata.namespace_.empty()) g.pod->metadata.namespace_ = "default";
    if (g.job && g.job->metadata.namespace_.empty()) g.job->metadata.namespace_ = "default";
    const auto& meta = g.pod ? g.pod->metadata : g.job->metadata;
    ensure_namespace(meta);
    if (g.job) preflight(*g.job->template_, meta.namespace_);
  }
  for (const auto& a : scenario_.actions) {
    if (a.action == "apply") {
      if (!a.applied)
        throw std::logic_error("apply action without its file (LoadReferencedInputs)");
      // One apply is one set of objects: a name twice in it is ambiguous, refused.
      std::map<std::string, SourceRef> applied;
      const auto& am = *a.applied;
      for (const auto& n : am.nodes) CheckUnique(&applied, "Node", n.metadata);
      for (const auto& p : am.pods) {
        CheckUnique(&applied, "Pod", p.metadata);
        ensure_namespace(p.metadata);
        store_.MakeTemplate(p.metadata, p.spec, p.metadata.namespace_);
      }
      for (const auto& j : am.jobs) {
        CheckUnique(&applied, "Job", j.metadata);
        ensure_namespace(j.metadata);
        preflight(*j.template_, j.metadata.namespace_);
      }
      for (const auto& d : am.deployments) {
        CheckUnique(&applied, "Deployment", d.metadata);
        ensure_namespace(d.metadata);
        preflight(d.template_, d.metadata.namespace_);
      }
      for (const auto& ss : am.stateful_sets) {
        CheckUnique(&applied, "StatefulSet", ss.metadata);
        ensure_namespace(ss.metadata);
        preflight(ss.template_, ss.metadata.namespace_);
      }
      continue;
    }
    if (a.action == "delete" || a.action == "patch") continue;  // may name objects made later
    if (a.action == "scale") {
      bool found = std::any_of(m.deployments.begin(), m.deployments.end(), [&](const auto& d) {
        return d.metadata.name == a.target || ObjKey(d.metadata) == a.target;
      });
      if (!found) {
        throw InputError(a.source, "target",
                         "deployment \"" + a.target + "\" is not in the manifests");
      }
    } else if (a.action != "delete-pod" && a.action != "remove-scheduling-gate" &&
               !node_names.count(a.target)) {
      throw InputError(a.source, "target", "node \"" + a.target + "\" is not in the manifests");
    }
  }

  // Kueue: a Job naming a missing WorkloadPriorityClass is an error before the run.
  if (KueueEnabled(m)) {
    WarnKueueIntegrations(&m);
    for (const auto& j : m.jobs) kueue::WorkloadForJob(j, m);
    for (const auto& c : m.cron_jobs) kueue::WorkloadForJob(c.job_template, m);
    for (const auto& g : scenario_.workloads) {
      if (g.job) kueue::WorkloadForJob(*g.job, m);
    }
    for (const auto& a : scenario_.actions) {
      if (!a.applied) continue;
      for (const auto& j : a.applied->jobs) kueue::WorkloadForJob(j, m);
    }
    for (const auto& lq : m.local_queues) {
      bool found = std::any_of(m.cluster_queues.begin(), m.cluster_queues.end(),
                               [&](auto& cq) { return cq.metadata.name == lq.cluster_queue; });
      if (!found) {
        m.diagnostics.Warn(lq.metadata.source, "spec.clusterQueue",
                           "LocalQueue " + lq.metadata.namespace_ + "/" + lq.metadata.name +
                               " points to ClusterQueue \"" + lq.cluster_queue +
                               "\", which does not exist: its workloads stay pending");
      }
    }
  }
  // GPU models the scenario defines, then the GPU stack: the device plugin (DaemonSet or
  // GPU Operator), its configs, MIG layouts.
  for (const auto& g : scenario_.gpu_models) {
    devices::GpuModel model;
    model.name = g.name;
    model.product = g.product;
    model.family = g.family;
    model.memory_mib = g.memory_mib;
    model.multiprocessors = g.multiprocessors;
    std::string error;
    if (!gpu_models_.Add(model, &error)) throw InputError(g.source, "name", error);
  }
  gpu_stack_ = devices::DiscoverGpuStack(m, &gpu_models_, &m.diagnostics);
  for (const auto& n : m.nodes) {
    devices::NodeGpuPlan plan;
    if (!devices::PlanNode(n, gpu_stack_, &plan)) continue;
    if (!plan.config_error.empty()) {
      m.diagnostics.Warn(n.metadata.source, "metadata.labels." + gpu_stack_.node_label,
                         "the device plugin's config-manager fails on node " + n.metadata.name +
                             " (" + plan.config_error +
                             "): the plugin never starts there and the node advertises no GPUs");
    }
    bool advertised = false;
    for (const auto& [name, q] : n.allocatable) advertised |= name.starts_with("nvidia.com/");
    if (!advertised && gpu_stack_.mode == devices::GpuStack::Mode::kNone) {
      m.diagnostics.Warn(n.metadata.source, "",
                         "node " + n.metadata.name + " has " + std::to_string(plan.gpus.count) +
                             " " + plan.gpus.model->name +
                             " GPUs but no NVIDIA device plugin DaemonSet or GPU Operator "
                             "ClusterPolicy is in the manifests: it will never advertise "
                             "nvidia.com/gpu");
    }
  }

  serving::ResolveIngresses(m, &scenario_, &m.diagnostics);
  serving::ValidateServing(m, scenario_, &m.diagnostics);

  if (m.node_pools.empty() && !m.ec2_node_classes.empty()) {
    m.diagnostics.Warn(m.ec2_node_classes.front().metadata.source, "",
                       "EC2NodeClass without any NodePool: Karpenter launches nothing");
  }
}

}  // namespace gputwin::sim
