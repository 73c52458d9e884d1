// The rules about how GPU work runs: autoscaling, sharing, disruption, notebooks, cold
// starts and Kueue's queues (docs/lint.md).
#include <algorithm>
#include <set>

#include "api/ray_types.h"
#include "core/quantity.h"
#include "devices/device_plugin_config.h"
#include "kueue/workload.h"
#include "lint/lint.h"
#include "lint/rules.h"

namespace gputwin::lint {

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

bool AllowsSpot(const api::NodePool& np) {
  for (const auto& r : np.requirements) {
    if (r.key != "karpenter.sh/capacity-type") continue;
    const bool has = std::find(r.values.begin(), r.values.end(), "spot") != r.values.end();
    if ((r.op == "In" && !has) || (r.op == "NotIn" && has)) return false;
  }
  return true;  // no capacity-type requirement: every offering, spot included
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

void CheckKueueQueues(const api::Manifests& m, Findings* out) {
  // Kueue's Ray PodSets count a group's replicas × numOfHosts (raycluster/common.go), KubeRay
  // runs clamp(replicas, minReplicas, maxReplicas) × numOfHosts: outside the bounds the two
  // disagree.
  if (m.ray) {
    auto groups = [&](const char* kind, const api::ObjectMeta& meta,
                      const api::RayClusterSpec& spec) {
      if (!meta.labels.count(kueue::kQueueNameLabel) || spec.enable_in_tree_autoscaling) return;
      for (const auto& g : spec.worker_groups) {
        if (g.suspend || (g.replicas >= g.min_replicas && g.replicas <= g.max_replicas)) continue;
        const int64_t hosts = std::max(g.num_of_hosts, 1);
        const int64_t admitted = int64_t{g.replicas} * hosts;
        const int64_t runs = int64_t{std::clamp(g.replicas, g.min_replicas,
                                                std::max(g.min_replicas, g.max_replicas))} *
                             hosts;
        const std::string who = std::string(kind) + " " + Key(meta);
        out->Add("ray-replicas-outside-bounds", g.source, who,
                 who + " worker group " + g.group_name + ": Kueue admits " +
                     std::to_string(admitted) + " pod(s) (replicas x numOfHosts), KubeRay runs " +
                     std::to_string(runs) + " (clamped to minReplicas..maxReplicas)" +
                     (runs > admitted ? ": the extra pods run outside the ClusterQueue's quota"
                                      : ": quota for the missing pods is held unused"));
      }
    };
    for (const auto& c : m.ray->clusters) groups("RayCluster", c.metadata, c.spec);
    for (const auto& j : m.ray->jobs) {
      if (j.cluster_spec) groups("RayJob", j.metadata, *j.cluster_spec);
    }
  }
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
  for (const auto& js : m.job_sets) check("JobSet", js.metadata, js.metadata.labels);
  for (const auto& pj : m.pytorch_jobs) check("PyTorchJob", pj.metadata, pj.metadata.labels);
  for (const auto& tj : m.train_jobs) check("TrainJob", tj.metadata, tj.metadata.labels);
  for (const auto& l : m.leader_worker_sets)
    check("LeaderWorkerSet", l.metadata, l.metadata.labels);
  for (const auto& p : m.pods) check("Pod", p.metadata, p.metadata.labels);
  for (const auto& d : m.deployments) check("Deployment", d.metadata, d.metadata.labels);
  if (m.ray) {
    for (const auto& c : m.ray->clusters) check("RayCluster", c.metadata, c.metadata.labels);
    for (const auto& j : m.ray->jobs) check("RayJob", j.metadata, j.metadata.labels);
    for (const auto& s : m.ray->services) check("RayService", s.metadata, s.metadata.labels);
  }
}

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
  std::set<std::string> seen;  // a JobSet, PyTorchJob or TrainJob has a template per replica
  for (const auto& p : pods) {
    const std::string kind = p.kind;
    if ((kind != "Job" && kind != "CronJob" && kind != "JobSet" && kind != "PyTorchJob" &&
         kind != "TrainJob" && kind != "RayJob") ||
        !WantsGpu(*p.spec)) {
      continue;
    }
    const std::string who = kind + " " + Key(*p.owner);
    if (!seen.insert(who).second) continue;
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

}  // namespace gputwin::lint
