// The rules. Each reads the decoded manifests; what it reports and why is in docs/lint.md.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "cloud/catalog.h"
#include "cluster/scheduling_helpers.h"
#include "devices/advertise.h"
#include "devices/device_plugin_config.h"
#include "devices/inventory.h"
#include "karpenter/requirements.h"
#include "kueue/workload.h"
#include "lint/lint.h"
#include "lint/rules.h"

namespace gputwin::lint {

namespace {

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

}  // namespace

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
    out.push_back({"Job", &j.metadata, &j.template_.metadata, &j.template_.spec});
  }
  for (const auto& c : m.cron_jobs) {
    out.push_back({"CronJob", &c.metadata, &c.job_template.template_.metadata,
                   &c.job_template.template_.spec});
  }
  for (const auto& d : m.daemon_sets) {
    out.push_back({"DaemonSet", &d.metadata, &d.template_.metadata, &d.template_.spec});
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

// The pod template of an autoscaler's target.
const api::PodSpec* ScaleTargetSpec(const api::Manifests& m, const std::string& kind,
                                    const std::string& ns, const std::string& name) {
  if (kind == "Deployment") {
    for (const auto& d : m.deployments) {
      if (d.metadata.name == name && d.metadata.namespace_ == ns) return &d.template_.spec;
    }
  } else if (kind == "StatefulSet") {
    for (const auto& s : m.stateful_sets) {
      if (s.metadata.name == name && s.metadata.namespace_ == ns) return &s.template_.spec;
    }
  }
  return nullptr;
}

}  // namespace

void CheckAutoscalers(const api::Manifests& m, Findings* out) {
  for (const auto& h : m.horizontal_pod_autoscalers) {
    const auto* spec = ScaleTargetSpec(m, h.target_kind, h.metadata.namespace_, h.target_name);
    if (!spec || !WantsGpu(*spec)) continue;
    bool resource_only = true;
    std::string which;
    if (h.metrics.empty()) which = "cpu (the default)";
    for (const auto& metric : h.metrics) {
      if (metric.type == "Resource" || metric.type == "ContainerResource") {
        if (which.empty()) which = metric.resource;
      } else {
        resource_only = false;
      }
    }
    if (resource_only) {
      out->Add("hpa-cpu-on-gpu-workload", h.metadata.source,
               "HorizontalPodAutoscaler " + Key(h.metadata),
               "HorizontalPodAutoscaler " + Key(h.metadata) + " scales GPU " + h.target_kind + " " +
                   h.target_name + " on " + which +
                   " only: a model server saturates its GPU while its CPU stays low, so it "
                   "never scales up");
    }
    if (h.behavior && h.behavior->scale_down &&
        h.behavior->scale_down->stabilization_window_seconds &&
        *h.behavior->scale_down->stabilization_window_seconds < 300) {
      out->Add("gpu-fast-scale-down", h.metadata.source,
               "HorizontalPodAutoscaler " + Key(h.metadata),
               "HorizontalPodAutoscaler " + Key(h.metadata) + " scales GPU " + h.target_kind + " " +
                   h.target_name + " down after a " +
                   std::to_string(*h.behavior->scale_down->stabilization_window_seconds) +
                   " s stabilisation window: a replica that takes minutes to start (node, "
                   "image, weights) is dropped on a short lull");
    }
  }
  for (const auto& so : m.scaled_objects) {
    const auto* spec = ScaleTargetSpec(m, so.target_kind, so.metadata.namespace_, so.target_name);
    if (!spec || !WantsGpu(*spec)) continue;
    const bool resource_only =
        !so.triggers.empty() && std::all_of(so.triggers.begin(), so.triggers.end(), [](auto& t) {
          return t.type == "cpu" || t.type == "memory";
        });
    if (resource_only) {
      out->Add("hpa-cpu-on-gpu-workload", so.metadata.source, "ScaledObject " + Key(so.metadata),
               "ScaledObject " + Key(so.metadata) + " scales GPU " + so.target_kind + " " +
                   so.target_name +
                   " on cpu/memory triggers only: scale on the server's queue (for vLLM "
                   "vllm:num_requests_waiting) instead");
    }
    const auto& down = so.behavior ? so.behavior->scale_down : std::nullopt;
    if (down && down->stabilization_window_seconds && *down->stabilization_window_seconds < 300) {
      out->Add("gpu-fast-scale-down", so.metadata.source, "ScaledObject " + Key(so.metadata),
               "ScaledObject " + Key(so.metadata) + " scales GPU " + so.target_kind + " " +
                   so.target_name + " down after a " +
                   std::to_string(*down->stabilization_window_seconds) +
                   " s stabilisation window: a replica that takes minutes to start is dropped "
                   "on a short lull");
    }
    if (so.min_replica_count == 0 && so.cooldown_period < 300) {
      out->Add("gpu-fast-scale-down", so.metadata.source, "ScaledObject " + Key(so.metadata),
               "ScaledObject " + Key(so.metadata) + " scales GPU " + so.target_kind + " " +
                   so.target_name + " to zero after a " + std::to_string(so.cooldown_period) +
                   " s cooldown: the next request waits for a cold start");
    }
  }
}

void CheckImages(const std::vector<PodSource>& pods, Findings* out) {
  for (const auto& p : pods) {
    for (const auto* list : {&p.spec->containers, &p.spec->init_containers}) {
      for (const auto& c : *list) {
        if (c.image.empty() || c.image.find('@') != std::string::npos) continue;
        const auto slash = c.image.rfind('/');
        const auto colon = c.image.rfind(':');
        const bool tagged =
            colon != std::string::npos && (slash == std::string::npos || colon > slash);
        const std::string tag = tagged ? c.image.substr(colon + 1) : "";
        if (tagged && tag != "latest") continue;
        out->Add("image-not-pinned", c.source.line ? c.source : At(p),
                 std::string(p.kind) + " " + Key(*p.owner),
                 "container " + c.name + " runs image " + c.image +
                     (tagged ? "" : " (no tag: latest)") +
                     ": what runs changes with every push, and IfNotPresent nodes keep an old "
                     "copy; pin a version tag or a digest");
      }
    }
  }
}

void CheckKueueQueues(const api::Manifests& m, Findings* out) {
  // Only when the files hold Kueue's queues: otherwise the LocalQueue may well exist.
  if (m.local_queues.empty() && m.cluster_queues.empty()) return;
  auto check = [&](const char* kind, const api::ObjectMeta& meta, const api::Labels& labels) {
    auto it = labels.find(kueue::kQueueNameLabel);
    if (it == labels.end()) return;
    const bool exists = std::any_of(m.local_queues.begin(), m.local_queues.end(), [&](auto& lq) {
      return lq.metadata.name == it->second && lq.metadata.namespace_ == meta.namespace_;
    });
    if (!exists) {
      out->Add("kueue-localqueue-missing", meta.source, std::string(kind) + " " + Key(meta),
               std::string(kind) + " " + Key(meta) + " names LocalQueue \"" + it->second +
                   "\", which is not in namespace " + meta.namespace_ +
                   ": Kueue keeps its Workload pending (Misconfigured) for ever");
    }
  };
  for (const auto& j : m.jobs) check("Job", j.metadata, j.metadata.labels);
  for (const auto& p : m.pods) check("Pod", p.metadata, p.metadata.labels);
  for (const auto& d : m.deployments) check("Deployment", d.metadata, d.metadata.labels);
}

void CheckSecurity(const std::vector<PodSource>& pods, Findings* out) {
  static const std::set<std::string> kCredentials = {
      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
      "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CLIENT_SECRET"};
  for (const auto& p : pods) {
    const std::string who = std::string(p.kind) + " " + Key(*p.owner);
    for (const auto& c : p.spec->containers) {
      for (const auto& name : c.env_names) {
        if (!kCredentials.count(name)) continue;
        out->Add("cloud-credentials-in-env", c.source.line ? c.source : At(p), who,
                 "container " + c.name + " gets " + name +
                     " from its env: long-lived cloud keys leak with the pod spec and never "
                     "rotate; use IRSA or EKS Pod Identity (GKE/AKS workload identity)");
      }
    }
    if (!WantsGpu(*p.spec) || IsNvidiaStack(p)) continue;
    for (const auto& c : p.spec->containers) {
      if (c.privileged) {
        out->Add("privileged-gpu-pod", c.source.line ? c.source : At(p), who,
                 "container " + c.name +
                     " of a GPU pod is privileged: it sees every GPU on the node (not just the "
                     "ones it was given) and the host; the device plugin already mounts its "
                     "devices");
      }
    }
    for (const auto& [volume, path] : p.spec->host_path_volumes) {
      out->Add("privileged-gpu-pod", At(p), who,
               "GPU pod mounts hostPath " + path + " (volume " + volume +
                   "): a shared GPU node's host is exposed to the workload; use a PVC or an "
                   "image volume");
    }
  }
}

}  // namespace gputwin::lint

namespace gputwin::lint {

namespace {

bool AllowsSpot(const api::NodePool& np) {
  for (const auto& r : np.requirements) {
    if (r.key != "karpenter.sh/capacity-type") continue;
    const bool has = std::find(r.values.begin(), r.values.end(), "spot") != r.values.end();
    if ((r.op == "In" && !has) || (r.op == "NotIn" && has)) return false;
  }
  return true;  // no capacity-type requirement: every offering, spot included
}

std::string Annotation(const PodSource& p, const char* key) {
  for (const auto* meta : {p.template_meta, p.owner}) {
    if (!meta) continue;
    if (auto it = meta->annotations.find(key); it != meta->annotations.end()) return it->second;
  }
  return "";
}

// Images that are 5-20 GB: model servers and NGC's framework containers.
bool KnownLargeImage(const std::string& image) {
  for (const char* prefix :
       {"vllm/vllm-openai", "nvcr.io/nvidia/tritonserver", "nvcr.io/nvidia/pytorch",
        "nvcr.io/nvidia/nemo", "nvcr.io/nvidia/tensorrt", "nvcr.io/nim/", "lmsysorg/sglang",
        "ghcr.io/huggingface/text-generation-inference"}) {
    if (image.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

void CheckSharing(const api::Manifests& m, const std::vector<PodSource>& pods,
                  const GpuCapacity& gpus, Findings* out) {
  // The ConfigMaps a device plugin in the files reads.
  std::set<std::string> referenced;
  bool plugin = false;
  if (m.gpu_operator) {
    plugin = true;
    referenced.insert(m.gpu_operator->device_plugin_config_name);
  }
  for (const auto& d : m.daemon_sets) {
    bool is_plugin = false;
    for (const auto& c : d.template_.spec.containers) {
      is_plugin |= c.image.find("k8s-device-plugin") != std::string::npos;
    }
    if (!is_plugin) continue;
    plugin = true;
    for (const auto& [volume, cm] : d.template_.spec.config_map_volumes) referenced.insert(cm);
  }
  const api::ConfigMap* sharing = nullptr;
  for (const auto& cm : m.config_maps) {
    for (const auto& [key, value] : cm.data) {
      if (!devices::LooksLikeDevicePluginConfig(value)) continue;
      if (value.find("timeSlicing") == std::string::npos &&
          value.find("mps:") == std::string::npos) {
        continue;
      }
      if (!sharing) sharing = &cm;
      if (plugin && !referenced.count(cm.metadata.name)) {
        SourceRef where = cm.metadata.source;
        if (auto it = cm.data_lines.find(key); it != cm.data_lines.end()) where.line = it->second;
        out->Add("gpu-sharing-config-unused", where, "ConfigMap " + Key(cm.metadata),
                 "ConfigMap " + Key(cm.metadata) + " holds a GPU sharing config (data." + key +
                     ") that the device plugin in the files does not read: nodes keep one "
                     "nvidia.com/gpu per GPU");
      }
    }
  }
  if (!sharing) return;
  // Karpenter counts a GPU instance as its physical GPUs: with time-slicing the nodes it
  // launches advertise replicas × that, and it launches more than the pods need.
  for (const auto* np : gpus.node_pools) {
    out->Add("gpu-sharing-on-karpenter", np->metadata.source, "NodePool " + np->metadata.name,
             "GPU sharing (ConfigMap " + Key(sharing->metadata) + ") on nodes of NodePool " +
                 np->metadata.name +
                 ": Karpenter sizes NodeClaims by physical GPUs (the instance type's "
                 "nvidia.com/gpu), not by the replicas the device plugin will advertise");
  }
  // Time-sliced GPUs share memory with no isolation: a vLLM server takes
  // --gpu-memory-utilization (default 0.9) of the whole GPU.
  for (const auto& p : pods) {
    if (!WantsGpu(*p.spec)) continue;
    for (const auto& c : p.spec->containers) {
      if (c.image.find("vllm") == std::string::npos) continue;
      bool capped = false;
      for (const auto* list : {&c.command, &c.args}) {
        for (const auto& a : *list) capped |= a.starts_with("--gpu-memory-utilization");
      }
      if (capped) continue;
      out->Add("gpu-sharing-without-memory-cap", c.source.line ? c.source : At(p),
               std::string(p.kind) + " " + Key(*p.owner),
               "container " + c.name +
                   " runs vLLM without --gpu-memory-utilization while GPUs are shared "
                   "(ConfigMap " +
                   Key(sharing->metadata) +
                   "): it takes 90 % of the GPU's memory and the next pod on that GPU fails "
                   "with CUDA out of memory");
    }
  }
}

void CheckDisruption(const api::Manifests& m, const std::vector<PodSource>& pods,
                     const GpuCapacity& gpus, Findings* out) {
  std::vector<const api::NodePool*> pools = gpus.node_pools;
  pools.insert(pools.end(), gpus.mixed_pools.begin(), gpus.mixed_pools.end());
  if (pools.empty()) return;
  const api::NodePool* spot = nullptr;
  const api::NodePool* consolidating = nullptr;
  for (const auto* np : pools) {
    if (!spot && AllowsSpot(*np)) spot = np;
    if (!consolidating && np->consolidation_policy == "WhenEmptyOrUnderutilized") {
      consolidating = np;
    }
  }
  (void)m;
  for (const auto& p : pods) {
    const std::string kind = p.kind;
    if ((kind != "Job" && kind != "CronJob") || !WantsGpu(*p.spec)) continue;
    const std::string who = kind + " " + Key(*p.owner);
    if (spot && Annotation(p, "gputwin.io/checkpoint-interval").empty()) {
      out->Add("spot-training-without-checkpoint", p.owner->source, who,
               who + " trains on GPUs NodePool " + spot->metadata.name +
                   " may buy as spot, without checkpoints (gputwin.io/checkpoint-interval): "
                   "each interruption (2 minutes' notice) restarts it from the beginning");
    }
    if (consolidating && Annotation(p, "karpenter.sh/do-not-disrupt") != "true") {
      out->Add("consolidation-evicts-jobs", p.owner->source, who,
               who + "'s pods can run on NodePool " + consolidating->metadata.name +
                   ", which consolidates underutilised nodes: without the pod annotation "
                   "karpenter.sh/do-not-disrupt: \"true\" Karpenter may evict them mid-run");
    }
  }
}

void CheckGpuHolders(const std::vector<PodSource>& pods, Findings* out) {
  for (const auto& p : pods) {
    const std::string kind = p.kind;
    if ((kind != "Pod" && kind != "Deployment" && kind != "StatefulSet") || !WantsGpu(*p.spec)) {
      continue;
    }
    bool notebook = false;
    for (const auto& c : p.spec->containers) {
      notebook |= c.image.find("jupyter") != std::string::npos ||
                  c.image.find("notebook") != std::string::npos;
    }
    if (!notebook || p.spec->active_deadline_seconds) continue;
    out->Add("gpu-notebook-without-deadline", At(p), kind + " " + Key(*p.owner),
             kind + " " + Key(*p.owner) +
                 " is a notebook holding whole GPUs with no activeDeadlineSeconds: it keeps "
                 "them (and their node) while nobody uses it");
  }
}

void CheckColdStart(const api::Manifests& m, const std::vector<PodSource>& pods, Findings* out) {
  // Images baked into a node image (EC2NodeClass gputwin.io/cached-images), on the nodes
  // already (status.images), or pre-pulled by a DaemonSet.
  std::set<std::string> warm;
  for (const auto& nc : m.ec2_node_classes) {
    warm.insert(nc.cached_images.begin(), nc.cached_images.end());
  }
  for (const auto& n : m.nodes) {  // a snapshot's nodes list the images they hold
    for (const auto& img : n.images) warm.insert(img.names.begin(), img.names.end());
  }
  for (const auto& d : m.daemon_sets) {
    for (const auto* list : {&d.template_.spec.containers, &d.template_.spec.init_containers}) {
      for (const auto& c : *list) warm.insert(c.image);
    }
  }
  for (const auto& p : pods) {
    if (std::string(p.kind) == "DaemonSet" || !WantsGpu(*p.spec)) continue;
    const std::string size = Annotation(p, "gputwin.io/image-size");
    for (const auto& c : p.spec->containers) {
      if (warm.count(c.image)) continue;
      bool large = KnownLargeImage(c.image);
      if (!size.empty()) {
        auto q = ParseQuantity(size, nullptr);
        large = q && q->Value() >= (int64_t{5} << 30);
      }
      if (!large) continue;
      out->Add("large-image-cold-start", c.source.line ? c.source : At(p),
               std::string(p.kind) + " " + Key(*p.owner),
               "container " + c.name + " runs " + c.image +
                   ", a 5-20 GB image nothing pre-pulls or bakes into the node image: every new "
                   "node pulls it before the pod starts (minutes of a GPU paid for idle)");
    }
  }
}

void CheckRbac(const api::Manifests& m, Findings* out) {
  // The decoder keeps RBAC objects by name only; their roleRef and subjects are read back
  // from the file at the line each was found.
  std::map<std::string, std::map<int, YAML::Node>> by_file;
  auto index = [&](const std::string& file) -> const std::map<int, YAML::Node>& {
    auto it = by_file.find(file);
    if (it != by_file.end()) return it->second;
    auto& lines = by_file[file];
    std::function<void(const YAML::Node&)> visit = [&](const YAML::Node& n) {
      if (!n.IsMap()) return;
      if (n["kind"] && n["kind"].as<std::string>("") == "List" && n["items"]) {
        for (const auto& item : n["items"]) visit(item);
        return;
      }
      lines[n.Mark().line + 1] = n;
    };
    try {
      for (const auto& doc : YAML::LoadAllFromFile(file)) visit(doc);
    } catch (const YAML::Exception&) {
      // The decoder read it; a file that changed since is not judged.
    }
    return lines;
  };
  // Groups that stand for everyone (or every workload) of the cluster or of a namespace.
  auto broad = [](const std::string& kind, const std::string& name) {
    return kind == "Group" &&
           (name == "system:authenticated" || name == "system:unauthenticated" ||
            name == "system:serviceaccounts" || name.starts_with("system:serviceaccounts:"));
  };
  for (const auto& o : m.kept_objects) {
    if (o.kind != "RoleBinding" && o.kind != "ClusterRoleBinding") continue;
    const auto& lines = index(o.source.file);
    auto it = lines.find(o.source.line);
    if (it == lines.end()) continue;
    const YAML::Node& n = it->second;
    const std::string role = n["roleRef"] ? n["roleRef"]["name"].as<std::string>("") : "";
    if (role != "cluster-admin" && role != "admin" && role != "edit") continue;
    if (!n["subjects"] || !n["subjects"].IsSequence()) continue;
    for (const auto& subject : n["subjects"]) {
      const std::string kind = subject["kind"] ? subject["kind"].as<std::string>("") : "";
      const std::string name = subject["name"] ? subject["name"].as<std::string>("") : "";
      if (!broad(kind, name)) continue;
      const std::string scope =
          o.kind == "ClusterRoleBinding" ? "the whole cluster" : "namespace " + o.namespace_;
      out->Add("broad-rbac-grant", o.source, o.kind + " " + o.name,
               o.kind + " " + o.name + " grants " + role + " in " + scope + " to group " + name +
                   ": every such identity can create pods there, GPUs and privileged ones "
                   "included, and read its Secrets");
      break;
    }
  }
}

void CheckNamespaces(const api::Manifests& m, const std::vector<PodSource>& pods, Findings* out) {
  std::map<std::string, const PodSource*> gpu_namespaces;
  for (const auto& p : pods) {
    if (std::string(p.kind) == "DaemonSet" || !WantsGpu(*p.spec)) continue;
    gpu_namespaces.emplace(p.owner->namespace_, &p);
  }
  for (const auto& [ns, p] : gpu_namespaces) {
    // Judged where the files create the namespace: its guard rails belong with it.
    const bool defined = std::any_of(m.namespaces.begin(), m.namespaces.end(),
                                     [&](const auto& n) { return n.metadata.name == ns; });
    if (!defined) continue;
    const bool quota =
        std::any_of(m.resource_quotas.begin(), m.resource_quotas.end(), [&](auto& q) {
          if (q.metadata.namespace_ != ns) return false;
          return std::any_of(q.hard.begin(), q.hard.end(), [](const auto& h) {
            return h.first.find("nvidia.com/gpu") != std::string::npos;
          });
        });
    const bool queue = std::any_of(m.local_queues.begin(), m.local_queues.end(),
                                   [&](auto& lq) { return lq.metadata.namespace_ == ns; });
    if (!quota && !queue) {
      out->Add("gpu-namespace-without-quota", At(*p), "Namespace " + ns,
               "namespace " + ns +
                   " runs GPU work with neither a ResourceQuota on nvidia.com/gpu nor a Kueue "
                   "LocalQueue: one team's burst can take every GPU");
    }
    const bool netpol = std::any_of(m.kept_objects.begin(), m.kept_objects.end(), [&](auto& o) {
      return o.kind == "NetworkPolicy" && o.namespace_ == ns;
    });
    if (!netpol) {
      out->Add("gpu-namespace-without-networkpolicy", At(*p), "Namespace " + ns,
               "namespace " + ns +
                   " runs GPU work and has no NetworkPolicy: its model servers and notebooks "
                   "are reachable from every pod of the cluster");
    }
  }
}

}  // namespace gputwin::lint

namespace gputwin::lint {

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
