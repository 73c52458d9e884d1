#include "exporters/kube_state_metrics.h"

#include <string>

namespace gputwin::exporters {
namespace {

using telemetry::Labels;
using telemetry::MetricType;

constexpr const char* kKsmOwner = "kube-state-metrics";
constexpr const char* kPhases[] = {"Pending", "Running", "Succeeded", "Failed", "Unknown"};

int PhaseIndex(cluster::PodPhase p) {
  switch (p) {
    case cluster::PodPhase::kPending:
      return 0;
    case cluster::PodPhase::kRunning:
      return 1;
    case cluster::PodPhase::kSucceeded:
      return 2;
    case cluster::PodPhase::kFailed:
      return 3;
  }
  return 4;
}

// kube-state-metrics' resource label and unit: "nvidia.com/gpu" -> "nvidia_com_gpu".
std::pair<std::string, std::string> ResourceAndUnit(const std::string& name) {
  std::string r = name;
  for (auto& c : r) {
    if (c == '.' || c == '/' || c == '-') c = '_';
  }
  const char* unit = name == "cpu"                                     ? "core"
                     : name == "memory" || name == "ephemeral-storage" ? "byte"
                     : name.starts_with("hugepages-")                  ? "byte"
                                                                       : "integer";
  return {r, unit};
}

// Cores for cpu (millicores / 1000), whole units otherwise (bytes, devices).
double QuantityValue(const std::string& name, const Quantity& q) {
  return name == "cpu" ? double(q.milli) / 1000.0 : double(q.Value());
}

void Declare(telemetry::Registry* r, const char* name, const char* help,
             std::vector<std::string> labels) {
  telemetry::MetricDesc d;
  d.name = name;
  d.help = help;
  d.type = MetricType::kGauge;
  d.label_names = std::move(labels);
  r->Declare(kKsmOwner, d);
}

}  // namespace

KubeStateMetrics::KubeStateMetrics(cluster::Store* store, EventQueue* queue,
                                   telemetry::Registry* metrics, Duration interval)
    : Controller(kKsmOwner, store, queue,
                 cluster::Watches({cluster::WatchKind::kPod, cluster::WatchKind::kNode})),
      metrics_(metrics),
      interval_(interval) {
  metrics->SetRetention(kKsmOwner, Duration::Hours(1));
  // Help texts and labels as kube-state-metrics v2 exposes them (docs/metrics/*).
  Declare(metrics, "kube_pod_info", "Information about pod.",
          {"namespace", "pod", "uid", "host_ip", "pod_ip", "node", "created_by_kind",
           "created_by_name", "priority_class", "host_network"});
  Declare(metrics, "kube_pod_owner", "Information about the Pod's owner.",
          {"namespace", "pod", "uid", "owner_kind", "owner_name", "owner_is_controller"});
  Declare(metrics, "kube_pod_status_phase", "The pods current phase.",
          {"namespace", "pod", "uid", "phase"});
  Declare(metrics, "kube_pod_status_unschedulable",
          "Describes the unschedulable status for the pod.", {"namespace", "pod", "uid"});
  Declare(metrics, "kube_pod_container_resource_requests",
          "The number of requested request resource by a container. It is recommended to use "
          "the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is "
          "more precise.",
          {"namespace", "pod", "uid", "container", "node", "resource", "unit"});
  Declare(metrics, "kube_pod_container_resource_limits",
          "The number of requested limit resource by a container. It is recommended to use "
          "the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is "
          "more precise.",
          {"namespace", "pod", "uid", "container", "node", "resource", "unit"});
  Declare(metrics, "kube_node_info", "Information about a cluster node.",
          {"node", "kernel_version", "os_image", "container_runtime_version", "kubelet_version",
           "kubeproxy_version", "provider_id", "pod_cidr", "system_uuid", "internal_ip"});
  Declare(metrics, "kube_node_labels", "Kubernetes labels converted to Prometheus labels.",
          {"node"});
  Declare(metrics, "kube_node_spec_taint", "The taint of a cluster node.",
          {"node", "key", "value", "effect"});
  Declare(metrics, "kube_node_spec_unschedulable", "Whether a node can schedule new pods.",
          {"node"});
  Declare(metrics, "kube_node_status_capacity", "The capacity for different resources of a node.",
          {"node", "resource", "unit"});
  Declare(metrics, "kube_node_status_allocatable",
          "The allocatable for different resources of a node that are available for scheduling.",
          {"node", "resource", "unit"});
  Declare(metrics, "kube_deployment_spec_replicas", "Number of desired pods for a deployment.",
          {"namespace", "deployment"});
  Declare(metrics, "kube_deployment_status_replicas_available",
          "The number of available replicas per deployment.", {"namespace", "deployment"});
  Declare(metrics, "kube_job_status_active", "The number of actively running pods.",
          {"namespace", "job_name"});
  Declare(metrics, "kube_job_status_succeeded", "The number of pods which reached Phase Succeeded.",
          {"namespace", "job_name"});
  Declare(metrics, "kube_job_status_failed",
          "The number of pods which reached Phase Failed and were not deleted.",
          {"namespace", "job_name"});
}

void KubeStateMetrics::Start() {
  At(store_.now(), 0);
}

void KubeStateMetrics::OnWatch(cluster::WatchKind kind, cluster::WatchOp, uint32_t id) {
  if (!enabled_) return;
  if (kind == cluster::WatchKind::kPod) dirty_pods_.Add(id);
  if (kind == cluster::WatchKind::kNode) dirty_nodes_.Add(id);
}

void KubeStateMetrics::OnTimer(Time now, uint64_t) {
  if (!enabled_) {
    // Nobody reads these series unless the run's metrics are recorded.
    if (!metrics_->exporters_wanted()) return;
    enabled_ = true;
    metrics_->Up(kKsmOwner, "kube-state-metrics", "kube-state-metrics:8080");
    for (uint32_t i = 0; i < store_.pod_count(); ++i) dirty_pods_.Add(i);
    for (uint32_t i = 0; i < store_.node_count(); ++i) dirty_nodes_.Add(i);
  }
  Scrape(now);
  After(interval_, 0);
}

void KubeStateMetrics::UpdatePod(uint32_t id, Time now) {
  if (pods_.size() <= id) pods_.resize(id + 1);
  auto& ps = pods_[id];
  const auto& p = store_.pod(id);
  if (p.deleted) {
    if (ps.live) {
      for (auto s : ps.fixed) metrics_->Retire(s, now);
      for (auto s : ps.phase) metrics_->Retire(s, now);
      if (ps.unschedulable != kNoSeries) metrics_->Retire(ps.unschedulable, now);
      ps = PodSeries{};
    }
    return;
  }
  const std::string node = p.node == cluster::kNone ? "" : store_.node(p.node).name();
  if (ps.live && ps.node != p.node) {
    // Bound (or moved): the series carrying the node label are replaced.
    for (auto s : ps.fixed) metrics_->Retire(s, now);
    ps.fixed.clear();
  }
  if (ps.fixed.empty()) {
    auto [owner_kind, owner_name] = store_.ControllerOf(p);
    if (owner_kind.empty() || p.owner.kind == cluster::OwnerKind::kGenerator) {
      owner_kind = owner_name = "<none>";
    }
    const bool owned = owner_kind != "<none>";
    auto set = [&](const char* name, const Labels& l, double v) {
      const auto s = metrics_->At(metrics_->Find(name), l);
      metrics_->Set(s, v);
      ps.fixed.push_back(s);
    };
    set("kube_pod_info",
        {{"namespace", p.namespace_},
         {"pod", p.name},
         {"uid", p.uid},
         {"host_ip", ""},
         {"pod_ip", ""},
         {"node", node},
         {"created_by_kind", owned ? owner_kind : "<none>"},
         {"created_by_name", owned ? owner_name : "<none>"},
         {"priority_class", p.tmpl->spec->priority_class_name},
         {"host_network", "false"}},
        1);
    set("kube_pod_owner",
        {{"namespace", p.namespace_},
         {"pod", p.name},
         {"uid", p.uid},
         {"owner_kind", owner_kind},
         {"owner_name", owner_name},
         {"owner_is_controller", owned ? "true" : "<none>"}},
        1);
    for (const auto& c : p.tmpl->spec->containers) {
      for (const auto& [family, list] :
           {std::pair{"kube_pod_container_resource_requests", &c.resources.requests},
            std::pair{"kube_pod_container_resource_limits", &c.resources.limits}}) {
        for (const auto& [res, q] : *list) {
          const auto [r, unit] = ResourceAndUnit(res);
          set(family,
              {{"namespace", p.namespace_},
               {"pod", p.name},
               {"uid", p.uid},
               {"container", c.name},
               {"node", node},
               {"resource", r},
               {"unit", unit}},
              QuantityValue(res, q));
        }
      }
    }
  }
  if (!ps.live) {
    for (int i = 0; i < 5; ++i) {
      ps.phase[i] = metrics_->At(
          metrics_->Find("kube_pod_status_phase"),
          {{"namespace", p.namespace_}, {"pod", p.name}, {"uid", p.uid}, {"phase", kPhases[i]}});
    }
  }
  const int phase = PhaseIndex(p.phase);
  for (int i = 0; i < 5; ++i) metrics_->Set(ps.phase[i], i == phase ? 1 : 0);
  // 1 while the PodScheduled condition is False, whatever its reason (Unschedulable, or
  // SchedulingGated: ksm's pod.go counts gated pods too); no series otherwise.
  const bool not_scheduled = !p.Bound() && (p.unschedulable || p.reason == "SchedulingGated");
  if (not_scheduled && ps.unschedulable == kNoSeries) {
    ps.unschedulable = metrics_->At(metrics_->Find("kube_pod_status_unschedulable"),
                                    {{"namespace", p.namespace_}, {"pod", p.name}, {"uid", p.uid}});
    metrics_->Revive(ps.unschedulable);
    metrics_->Set(ps.unschedulable, 1);
  } else if (!not_scheduled && ps.unschedulable != kNoSeries) {
    metrics_->Retire(ps.unschedulable, now);
    ps.unschedulable = kNoSeries;
  }
  ps.node = p.node;
  ps.live = true;
}

void KubeStateMetrics::UpdateNode(uint32_t id, Time now) {
  if (nodes_.size() <= id) nodes_.resize(id + 1);
  auto& ns = nodes_[id];
  const auto& n = store_.node(id);
  for (auto s : ns.all) metrics_->Retire(s, now);
  ns = NodeSeries{};
  if (n.deleted) return;
  const std::string name = n.name();
  auto set = [&](const char* family, const Labels& l, double v) {
    const auto s = metrics_->At(metrics_->Find(family), l);
    metrics_->Set(s, v);
    ns.all.push_back(s);
  };
  set("kube_node_info",
      {{"node", name},
       {"kernel_version", ""},
       {"os_image", ""},
       {"container_runtime_version", ""},
       {"kubelet_version", ""},
       {"kubeproxy_version", ""},
       {"provider_id", n.obj.provider_id},
       {"pod_cidr", ""},
       {"system_uuid", ""},
       {"internal_ip", ""}},
      1);
  set("kube_node_labels", {{"node", name}}, 1);
  set("kube_node_spec_unschedulable", {{"node", name}}, n.obj.unschedulable ? 1 : 0);
  for (const auto& t : n.obj.taints) {
    set("kube_node_spec_taint",
        {{"node", name}, {"key", t.key}, {"value", t.value}, {"effect", t.effect}}, 1);
  }
  // Allocatable as the node status has it now (device plugins add their resources when
  // they register); capacity from the manifest, or the allocatable when it gives none.
  const auto& reg = store_.resources();
  for (size_t rid = 0; rid < reg.size(); ++rid) {
    const int64_t v = cluster::At(n.allocatable, rid);
    if (v == 0) continue;
    const std::string& res = reg.Name(static_cast<cluster::ResourceId>(rid));
    const auto [r, unit] = ResourceAndUnit(res);
    const double value = res == "cpu" ? double(v) / 1000.0 : double(v);
    set("kube_node_status_allocatable", {{"node", name}, {"resource", r}, {"unit", unit}}, value);
    auto cap = n.obj.capacity.find(res);
    set("kube_node_status_capacity", {{"node", name}, {"resource", r}, {"unit", unit}},
        cap != n.obj.capacity.end() ? QuantityValue(res, cap->second) : value);
  }
  ns.live = true;
}

void KubeStateMetrics::Scrape(Time now) {
  for (uint32_t id : dirty_pods_.Drain()) UpdatePod(id, now);
  for (uint32_t id : dirty_nodes_.Drain()) UpdateNode(id, now);
  // Workloads are few: read them all at each scrape. Each gets its families' series once,
  // set every scrape, ended when it is deleted.
  auto workload = [&](std::vector<SeriesId>* ids, bool deleted,
                      std::initializer_list<const char*> families, const Labels& l,
                      std::initializer_list<double> values) {
    if (deleted) {
      for (auto s : *ids) metrics_->Retire(s, now);
      ids->clear();
      return;
    }
    if (ids->empty()) {
      for (const char* f : families) ids->push_back(metrics_->At(metrics_->Find(f), l));
    }
    size_t k = 0;
    for (double v : values) metrics_->Set((*ids)[k++], v);
  };
  const auto& deps = store_.deployments();
  if (deployments_.size() < deps.size()) deployments_.resize(deps.size());
  for (size_t i = 0; i < deps.size(); ++i) {
    const auto& d = deps[i];
    int available = 0;
    if (!d.deleted && d.replica_set != cluster::kNone) {
      for (auto pod : store_.replica_sets()[d.replica_set].pods) {
        available += store_.pod(pod).Ready() ? 1 : 0;
      }
    }
    workload(&deployments_[i], d.deleted,
             {"kube_deployment_spec_replicas", "kube_deployment_status_replicas_available"},
             {{"namespace", d.obj.metadata.namespace_}, {"deployment", d.obj.metadata.name}},
             {double(d.obj.replicas), double(available)});
  }
  const auto& jobs = store_.jobs();
  if (jobs_.size() < jobs.size()) jobs_.resize(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& j = jobs[i];
    int active = 0;
    for (auto pod : j.pods) active += store_.pod(pod).Terminal() ? 0 : 1;
    workload(&jobs_[i], j.deleted,
             {"kube_job_status_active", "kube_job_status_succeeded", "kube_job_status_failed"},
             {{"namespace", j.obj.metadata.namespace_}, {"job_name", j.obj.metadata.name}},
             {double(active), double(j.succeeded), double(j.failed)});
  }
  metrics_->Sample(kKsmOwner, now, true);
}

}  // namespace gputwin::exporters
