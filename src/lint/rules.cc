// The rules about where GPU work can run: GPU capacity in the files, the device plugin,
// taints, Karpenter GPU NodePools, MIG layouts and CUDA versions (docs/lint.md), and the
// helpers every rule shares.
#include <algorithm>
#include <cstdio>
#include <optional>

#include "api/ray_types.h"
#include "cloud/catalog.h"
#include "cluster/scheduling_helpers.h"
#include "controllers/trainjob_builder.h"
#include "devices/advertise.h"
#include "devices/inventory.h"
#include "karpenter/requirements.h"
#include "lint/lint.h"
#include "lint/rules.h"

namespace gputwin::lint {

bool IsGpuResource(const std::string& name) {
  return name.starts_with("nvidia.com/") || name == "amd.com/gpu";
}

std::string Key(const api::ObjectMeta& m) {
  return m.namespace_.empty() ? m.name : m.namespace_ + "/" + m.name;
}

// Where in the file a pod spec sits: the template's line if known, else the object's.
SourceRef At(const PodSource& p) {
  return p.template_meta && p.template_meta->source.line ? p.template_meta->source
                                                         : p.owner->source;
}

// NVIDIA's own DaemonSets (device plugin, GFD, DCGM, MIG manager, operator validators)
// are privileged and mount host paths by design.
bool IsNvidiaStack(const PodSource& p) {
  for (const auto& c : p.spec->containers) {
    if (c.image.find("nvcr.io/nvidia/") != std::string::npos ||
        c.image.find("nvidia/k8s-device-plugin") != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string Annotation(const PodSource& p, const char* key) {
  for (const auto* meta : {p.template_meta, p.owner}) {
    if (!meta) continue;
    if (auto it = meta->annotations.find(key); it != meta->annotations.end()) return it->second;
  }
  return "";
}

std::vector<PodSource> PodSources(const api::Manifests& m) {
  std::vector<PodSource> out;
  for (const auto& p : m.pods) out.push_back({"Pod", &p.metadata, nullptr, &p.spec});
  for (const auto& d : m.deployments) {
    out.push_back({"Deployment", &d.metadata, &d.template_.metadata, &d.template_.spec});
  }
  for (const auto& s : m.stateful_sets) {
    out.push_back({"StatefulSet", &s.metadata, &s.template_.metadata, &s.template_.spec});
  }
  for (const auto& j : m.jobs) {
    out.push_back({"Job", &j.metadata, &j.template_->metadata, &j.template_->spec});
  }
  for (const auto& c : m.cron_jobs) {
    out.push_back({"CronJob", &c.metadata, &c.job_template.template_->metadata,
                   &c.job_template.template_->spec});
  }
  for (const auto& d : m.daemon_sets) {
    out.push_back({"DaemonSet", &d.metadata, &d.template_.metadata, &d.template_.spec});
  }
  // Training operators' pod templates: each replicatedJob's, each replica type's.
  for (const auto& js : m.job_sets) {
    for (const auto& rj : js.replicated_jobs) {
      out.push_back({"JobSet", &js.metadata, &rj.template_.template_->metadata,
                     &rj.template_.template_->spec});
    }
  }
  for (const auto& pj : m.pytorch_jobs) {
    for (const auto& rs : pj.replica_specs) {
      out.push_back({"PyTorchJob", &pj.metadata, &rs.template_.metadata, &rs.template_.spec});
    }
  }
  // A TrainJob's pods: the JobSet the trainer builds from its runtime (the runtime's
  // templates with the TrainJob's image, resources, overrides and patches).
  for (const auto& tj : m.train_jobs) {
    const auto* rt = controllers::FindTrainingRuntime(m.training_runtimes, tj);
    if (!rt) continue;  // the run refuses it (sim/validate.cc)
    api::JobSet built = controllers::BuildTrainJobJobSet(tj, *rt).job_set;
    // Its findings are the TrainJob's: placed at the TrainJob, not in the runtime's file.
    for (auto& rj : built.replicated_jobs) {
      rj.template_.template_->metadata.source = {};
      for (auto* list : {&rj.template_.template_->spec.containers,
                         &rj.template_.template_->spec.init_containers}) {
        for (auto& c : *list) c.source = {};
      }
    }
    auto js = std::make_shared<const api::JobSet>(std::move(built));
    for (const auto& rj : js->replicated_jobs) {
      out.push_back({"TrainJob", &tj.metadata, &rj.template_.template_->metadata,
                     &rj.template_.template_->spec, js});
    }
  }
  for (const auto& lws : m.leader_worker_sets) {
    if (lws.leader_template) {
      out.push_back({"LeaderWorkerSet", &lws.metadata, &lws.leader_template->metadata,
                     &lws.leader_template->spec});
    }
    out.push_back({"LeaderWorkerSet", &lws.metadata, &lws.worker_template.metadata,
                   &lws.worker_template.spec});
  }
  // KubeRay: the head's and each worker group's templates (a RayJob's and a RayService's
  // cluster spec too), and a RayJob's submitterPodTemplate.
  if (m.ray) {
    auto cluster = [&](const char* kind, const api::ObjectMeta& meta,
                       const api::RayClusterSpec& spec) {
      out.push_back({kind, &meta, &spec.head.template_.metadata, &spec.head.template_.spec});
      for (const auto& g : spec.worker_groups) {
        out.push_back({kind, &meta, &g.template_.metadata, &g.template_.spec});
      }
    };
    for (const auto& c : m.ray->clusters) cluster("RayCluster", c.metadata, c.spec);
    for (const auto& j : m.ray->jobs) {
      if (j.cluster_spec) cluster("RayJob", j.metadata, *j.cluster_spec);
      if (j.submitter_pod_template) {
        out.push_back({"RayJob", &j.metadata, &j.submitter_pod_template->metadata,
                       &j.submitter_pod_template->spec});
      }
    }
    for (const auto& s : m.ray->services) cluster("RayService", s.metadata, s.cluster_spec);
  }
  return out;
}

bool WantsGpu(const api::PodSpec& spec) {
  for (const auto* list : {&spec.containers, &spec.init_containers}) {
    for (const auto& c : *list) {
      for (const auto& [name, q] : c.resources.limits) {
        if (IsGpuResource(name) && q.milli > 0) return true;
      }
      for (const auto& [name, q] : c.resources.requests) {
        if (IsGpuResource(name) && q.milli > 0) return true;
      }
    }
  }
  return false;
}

GpuCapacity FindGpuCapacity(const api::Manifests& m) {
  GpuCapacity g;
  for (const auto& n : m.nodes) {
    const auto& a = n.metadata.annotations;
    const auto& l = n.metadata.labels;
    const bool gpu = a.count("gputwin.io/gpu-model") || l.count("nvidia.com/gpu.product") ||
                     std::any_of(n.allocatable.begin(), n.allocatable.end(),
                                 [](const auto& r) { return IsGpuResource(r.first); });
    if (gpu) g.nodes.push_back(&n);
  }
  static const cloud::Catalog catalog = cloud::BuiltinCatalog();
  for (const auto& np : m.node_pools) {
    const auto reqs = karpenter::Requirements::FromNodePool(np.requirements);
    bool gpu = false, other = false;
    for (const auto& t : catalog.types) {
      if (!karpenter::Requirements::FromLabels(t.Labels()).Intersects(reqs).empty()) continue;
      (t.gpu_count > 0 ? gpu : other) = true;
    }
    if (gpu) (other ? g.mixed_pools : g.node_pools).push_back(&np);
  }
  return g;
}

void CheckRejections(const api::Manifests& m, Findings* out) {
  for (const auto& r : m.diagnostics.rejections) {
    out->Add("gpu-in-requests-only", r.where, "",
             r.field + ": " + r.message +
                 ": the API server refuses the object (extended resources such as GPUs are "
                 "requested through limits)");
  }
}

void CheckDevicePlugin(const api::Manifests& m, const GpuCapacity& gpus, Findings* out) {
  if (m.gpu_operator) return;
  for (const auto& d : m.daemon_sets) {
    for (const auto& c : d.template_.spec.containers) {
      if (c.image.find("k8s-device-plugin") != std::string::npos) return;
    }
  }
  // Only where the files show it: a node with GPUs that advertises none (a snapshot of a
  // cluster without the plugin). The plugin is usually installed apart (Helm), so files
  // without nodes say nothing either way.
  for (const auto* n : gpus.nodes) {
    const bool advertised = std::any_of(n->allocatable.begin(), n->allocatable.end(),
                                        [](const auto& r) { return IsGpuResource(r.first); });
    if (advertised) continue;
    out->Add("no-gpu-device-plugin", n->metadata.source, "Node " + n->metadata.name,
             "node " + n->metadata.name +
                 " has GPUs but advertises no nvidia.com/gpu, and no NVIDIA device plugin "
                 "DaemonSet or GPU Operator ClusterPolicy is in the files: GPU pods stay "
                 "Pending (Insufficient nvidia.com/gpu)");
    return;
  }
}

void CheckGpuTaints(const std::vector<PodSource>& pods, const GpuCapacity& gpus, Findings* out) {
  // Taints of every place a GPU pod could run: all must be tolerated by at least one.
  struct Place {
    std::string name;
    const std::vector<api::Taint>* taints;
  };
  std::vector<Place> places;
  for (const auto* n : gpus.nodes) places.push_back({"Node " + n->metadata.name, &n->taints});
  for (const auto* np : gpus.node_pools) {
    places.push_back({"NodePool " + np->metadata.name, &np->taints});
  }
  for (const auto* np : gpus.mixed_pools) {
    places.push_back({"NodePool " + np->metadata.name, &np->taints});
  }
  if (places.empty()) return;
  auto tolerates_all = [](const api::PodSpec& spec, const std::vector<api::Taint>& taints) {
    for (const auto& t : taints) {
      if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
      if (std::none_of(
              spec.tolerations.begin(), spec.tolerations.end(),
              [&](const api::Toleration& tol) { return cluster::ToleratesTaint(tol, t); })) {
        return false;
      }
    }
    return true;
  };
  for (const auto& p : pods) {
    if (p.kind == std::string("DaemonSet")) continue;
    if (!WantsGpu(*p.spec)) {
      // A pod that needs no GPU but tolerates the GPU nodes' taints, with nothing keeping it
      // off them: kube-scheduler may place it there and it then holds the node.
      if (!p.spec->node_selector.empty() || p.spec->node_affinity) continue;
      for (const auto& place : places) {
        if (place.taints->empty() || !tolerates_all(*p.spec, *place.taints)) continue;
        out->Add("cpu-pod-on-gpu-nodes", At(p), std::string(p.kind) + " " + Key(*p.owner),
                 std::string(p.kind) + " " + Key(*p.owner) +
                     " asks for no GPU but tolerates the taints of " + place.name +
                     " and has no nodeSelector or affinity: it can land on a GPU node and keep "
                     "it (and its cost) alive");
        break;
      }
      continue;
    }
    std::string blocked;
    bool any_fits = false;
    for (const auto& place : places) {
      const api::Taint* untolerated = nullptr;
      for (const auto& t : *place.taints) {
        if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
        const bool ok = std::any_of(
            p.spec->tolerations.begin(), p.spec->tolerations.end(),
            [&](const api::Toleration& tol) { return cluster::ToleratesTaint(tol, t); });
        if (!ok) {
          untolerated = &t;
          break;
        }
      }
      if (!untolerated) {
        any_fits = true;
        break;
      }
      if (blocked.empty()) {
        blocked = place.name + " (taint " + untolerated->key +
                  (untolerated->value.empty() ? "" : "=" + untolerated->value) + ":" +
                  untolerated->effect + ")";
      }
    }
    if (!any_fits) {
      out->Add("gpu-taint-not-tolerated", At(p), std::string(p.kind) + " " + Key(*p.owner),
               std::string(p.kind) + " " + Key(*p.owner) +
                   " asks for GPUs but tolerates no taint of the GPU capacity in the files, "
                   "e.g. " +
                   blocked + ": kube-scheduler and Karpenter find nowhere to put it");
    }
  }
}

void CheckNodePools(const GpuCapacity& gpus, Findings* out) {
  for (const auto* np : gpus.node_pools) {
    const bool tainted = std::any_of(np->taints.begin(), np->taints.end(), [](const auto& t) {
      return t.effect == "NoSchedule" || t.effect == "NoExecute";
    });
    if (!tainted) {
      out->Add("gpu-nodepool-without-taint", np->metadata.source, "NodePool " + np->metadata.name,
               "NodePool " + np->metadata.name +
                   " can launch GPU instances and has no NoSchedule taint: pods that need no "
                   "GPU can be packed onto (and keep alive) GPU nodes");
    }
    // Any limit caps it (nvidia.com/gpu, cpu, nodes); a static NodePool keeps its replicas.
    if (np->limits.empty() && !np->replicas) {
      out->Add("gpu-nodepool-without-limits", np->metadata.source, "NodePool " + np->metadata.name,
               "NodePool " + np->metadata.name +
                   " can launch GPU instances without spec.limits (nvidia.com/gpu, cpu or nodes): "
                   "Karpenter launches as many as pending pods ask for");
    }
  }
}

namespace {

// The newest CUDA a driver branch runs (CUDA Toolkit release notes, "CUDA Toolkit and
// Corresponding Driver Versions", Linux minimums of each GA release).
std::optional<std::pair<int, int>> CudaOfDriver(const std::string& version) {
  const int branch = std::atoi(version.c_str());
  if (branch <= 0) return std::nullopt;
  static const std::pair<int, std::pair<int, int>> kTable[] = {
      {580, {13, 0}}, {575, {12, 9}}, {570, {12, 8}}, {560, {12, 6}}, {555, {12, 5}},
      {550, {12, 4}}, {545, {12, 3}}, {535, {12, 2}}, {530, {12, 1}}, {525, {12, 0}},
      {520, {11, 8}}, {515, {11, 7}}, {510, {11, 6}}, {495, {11, 5}}, {470, {11, 4}}};
  for (const auto& [min_branch, cuda] : kTable) {
    if (branch >= min_branch) return cuda;
  }
  return std::nullopt;
}

// The CUDA version of an nvidia/cuda image ("nvidia/cuda:12.4.1-runtime-ubuntu22.04").
std::optional<std::pair<int, int>> CudaOfImage(const std::string& image) {
  for (const char* repo : {"nvidia/cuda:", "nvcr.io/nvidia/cuda:", "docker.io/nvidia/cuda:"}) {
    if (!image.starts_with(repo)) continue;
    const std::string tag = image.substr(std::string(repo).size());
    int major = 0, minor = 0;
    if (std::sscanf(tag.c_str(), "%d.%d", &major, &minor) == 2) return std::make_pair(major, minor);
  }
  return std::nullopt;
}

}  // namespace

void CheckGpuStack(const api::Manifests& m, const std::vector<PodSource>& pods,
                   const GpuCapacity& gpus, Findings* out) {
  if (!gpus.nodes.empty()) {
    static const devices::GpuModelTable models;
    const devices::GpuStack stack = devices::DiscoverGpuStack(m, &models, nullptr);
    for (const auto* n : gpus.nodes) {
      devices::NodeGpuPlan plan;
      try {
        if (!devices::PlanNode(*n, stack, &plan)) continue;
      } catch (const InputError& e) {
        out->Add("mig-config-invalid", n->metadata.source, "Node " + n->metadata.name,
                 std::string(e.what()).substr(std::string(e.what()).find(": ") + 2));
        continue;
      }
      const auto ad = devices::Advertise(plan.gpus, plan.config);
      if (!ad.error.empty()) {
        out->Add(
            "mig-config-invalid", n->metadata.source, "Node " + n->metadata.name,
            "node " + n->metadata.name + ": the device plugin refuses its MIG layout: " + ad.error);
      }
    }
  }
  // CUDA: an nvidia/cuda image declares NVIDIA_REQUIRE_CUDA=cuda>=X.Y; the NVIDIA container
  // toolkit refuses to start it on a driver that supports less.
  std::optional<std::pair<int, int>> node_cuda;
  std::string from;
  for (const auto* n : gpus.nodes) {
    const auto& l = n->metadata.labels;
    for (const char* prefix : {"nvidia.com/cuda.runtime-version.", "nvidia.com/cuda.runtime."}) {
      auto major = l.find(std::string(prefix) + "major");
      auto minor = l.find(std::string(prefix) + "minor");
      if (major == l.end() || minor == l.end()) continue;
      std::pair<int, int> v{std::atoi(major->second.c_str()), std::atoi(minor->second.c_str())};
      if (!node_cuda || v > *node_cuda) {
        node_cuda = v;
        from = "node " + n->metadata.name + "'s GFD labels";
      }
    }
  }
  if (!node_cuda && m.gpu_operator && !m.gpu_operator->driver_version.empty()) {
    node_cuda = CudaOfDriver(m.gpu_operator->driver_version);
    from = "the ClusterPolicy's driver " + m.gpu_operator->driver_version;
  }
  if (!node_cuda) return;
  for (const auto& p : pods) {
    if (!WantsGpu(*p.spec)) continue;
    for (const auto& c : p.spec->containers) {
      const auto need = CudaOfImage(c.image);
      if (!need || *need <= *node_cuda) continue;
      out->Add("cuda-newer-than-driver", c.source.line ? c.source : At(p),
               std::string(p.kind) + " " + Key(*p.owner),
               "container " + c.name + " runs " + c.image + " (CUDA " +
                   std::to_string(need->first) + "." + std::to_string(need->second) +
                   ") but the newest CUDA the GPU nodes' driver runs is " +
                   std::to_string(node_cuda->first) + "." + std::to_string(node_cuda->second) +
                   " (" + from +
                   "): the NVIDIA container toolkit refuses to start it "
                   "(unsatisfied condition: cuda>=" +
                   std::to_string(need->first) + "." + std::to_string(need->second) + ")");
    }
  }
}

void CheckLatencyCritical(const std::vector<PodSource>& pods, const GpuCapacity& gpus,
                          Findings* out) {
  std::vector<const api::NodePool*> pools = gpus.node_pools;
  pools.insert(pools.end(), gpus.mixed_pools.begin(), gpus.mixed_pools.end());
  if (pools.empty()) return;
  const bool on_demand_base = std::any_of(pools.begin(), pools.end(), [](const auto* np) {
    for (const auto& r : np->requirements) {
      if (r.key == "karpenter.sh/capacity-type" && r.op == "In" && r.values.size() == 1 &&
          r.values[0] == "on-demand") {
        return true;
      }
    }
    return false;
  });
  if (on_demand_base) return;
  for (const auto& p : pods) {
    const std::string kind = p.kind;
    if (kind != "Deployment" || !WantsGpu(*p.spec)) continue;
    if (Annotation(p, "gputwin.io/latency-critical") != "true") continue;
    out->Add("latency-critical-on-spot", p.owner->source, kind + " " + Key(*p.owner),
             kind + " " + Key(*p.owner) +
                 " is latency-critical but every GPU NodePool may buy spot and none is "
                 "on-demand only: a spot interruption wave can take all its replicas at once");
  }
}

}  // namespace gputwin::lint
