#include "report/pod_spans.h"

#include <cstdlib>
#include <map>

#include "core/quantity.h"
#include "report/summary.h"
#include "report/summary_fields.h"

namespace gputwin::report {

namespace {

double SecondsOrNan(const nlohmann::json& j, const char* key) {
  return Seconds(j, key, NAN);
}

double SecondsOrNan(Time t) {
  return t == cluster::kNever ? NAN : static_cast<double>(t.ns) / 1e9;
}

// Interns names in first-seen order.
class Names {
 public:
  explicit Names(std::vector<std::string>* names) : names_(*names) {}
  uint32_t Id(const std::string& name) {
    auto [it, added] = ids_.try_emplace(name, static_cast<uint32_t>(names_.size()));
    if (added) names_.push_back(name);
    return it->second;
  }

 private:
  std::vector<std::string>& names_;
  std::map<std::string, uint32_t> ids_;
};

// The GPU model a node's devices are, as GFD labels it (or the twin's model name).
std::string GpuModel(const nlohmann::json& node) {
  const auto& labels = Obj(node, "labels");
  if (auto it = labels.find("nvidia.com/gpu.product"); it != labels.end() && it->is_string()) {
    return it->get<std::string>();
  }
  const auto& gpus = Obj(node, "gpus");
  return gpus.value("model", std::string("GPU"));
}

// NVIDIA devices a node advertises (GPUs, MIG instances, shared replicas): what pods'
// `gpus` count against.
double GpuDevices(const nlohmann::json& node) {
  double n = 0;
  for (const auto& [name, q] : Obj(node, "allocatable").items()) {
    if (name.starts_with("nvidia.com/") && q.is_string())
      n += std::atof(q.get<std::string>().c_str());
  }
  const auto& gpus = Obj(node, "gpus");
  if (n == 0 && gpus.value("devicePluginRegistered", false)) n = gpus.value("count", 0);
  return n;
}

// The same two from the store, as summary.json writes the node (HasGpuSection; quantities
// are read back from their text).
std::string GpuModel(const cluster::NodeRecord& node) {
  const auto& labels = node.obj.metadata.labels;
  if (auto it = labels.find("nvidia.com/gpu.product"); it != labels.end()) return it->second;
  return HasGpuSection(node) ? node.gpu_model : "GPU";
}

double GpuDevices(const cluster::NodeRecord& node) {
  double n = 0;
  for (const auto& [name, q] : node.obj.allocatable) {
    if (name.starts_with("nvidia.com/")) n += std::atof(FormatQuantity(q, false).c_str());
  }
  if (n == 0 && HasGpuSection(node) && node.device_plugin_registered) n = node.gpu_count;
  return n;
}

}  // namespace

namespace {

// A history entry's type as the ClusterQueue timeline reads it; false: it does not.
bool ChangeOf(std::string_view type, PodSpans::WorkloadChange* c) {
  using C = PodSpans::WorkloadChange;
  if (type == "Created" || type == "Requeued" || type == "Activated") {
    *c = C::kQueued;
  } else if (type == "QuotaReserved") {
    *c = C::kAdmitted;
  } else if (type == "Evicted") {
    *c = C::kEvicted;
  } else if (type == "Deactivated" || type == "Finished") {
    *c = C::kEnded;
  } else {
    return false;
  }
  return true;
}

}  // namespace

PodSpans PodSpans::FromSummary(const nlohmann::json& summary) {
  PodSpans out;
  {
    Names queues(&out.cluster_queues);
    const double t0 = Seconds(summary, "startTime", 0);
    for (const auto& w : Arr(summary, "workloads")) {
      const std::string cq = Str(w, "clusterQueue");
      if (cq.empty()) continue;
      Workload wl{queues.Id(cq), static_cast<uint32_t>(out.change.size()), 0};
      for (const auto& h : Arr(w, "history")) {
        WorkloadChange c;
        if (!ChangeOf(Str(h, "type"), &c)) continue;
        out.change.push_back(c);
        out.change_at.push_back(Seconds(h, "time", t0));
      }
      wl.changes = static_cast<uint32_t>(out.change.size()) - wl.first_change;
      out.workloads.push_back(wl);
    }
  }
  Names nodes(&out.node_names), reasons(&out.reasons), values(&out.node_values);
  for (const auto& n : Arr(summary, "nodes")) {
    NodeSpan ns;
    ns.created = SecondsOrNan(n, "createdAt");
    ns.ready = SecondsOrNan(n, "readyAt");
    ns.deleted = SecondsOrNan(n, "deletedAt");
    ns.devices = GpuDevices(n);
    ns.name = nodes.Id(Str(n, "name"));
    const auto& labels = Obj(n, "labels");
    ns.capacity_type = values.Id(labels.value("karpenter.sh/capacity-type", std::string("static")));
    ns.nodepool = values.Id(labels.value("karpenter.sh/nodepool", std::string("")));
    ns.model = values.Id(GpuModel(n));
    out.nodes.push_back(ns);
  }
  const auto& pods = Arr(summary, "pods");
  out.spans.reserve(pods.size());
  for (const auto& p : pods) {
    Span s;
    s.created = SecondsOrNan(p, "createdAt");
    s.scheduled = SecondsOrNan(p, "scheduledAt");
    s.started = SecondsOrNan(p, "startedAt");
    s.finished = SecondsOrNan(p, "finishedAt");
    s.deleted = SecondsOrNan(p, "deletedAt");
    s.gpus = p.value("gpus", 0.0);
    const std::string node = Str(p, "node");
    if (!node.empty()) s.node = static_cast<int32_t>(nodes.Id(node));
    s.first_wait = static_cast<uint32_t>(out.wait_at.size());
    for (const auto& w : Arr(p, "waits")) {
      if (!w.is_array() || w.size() != 2 || !w[0].is_string() || !w[1].is_string()) continue;
      std::string error;
      auto at = ParseRFC3339(w[0].get<std::string>(), &error);
      out.wait_at.push_back(at ? static_cast<double>(at->ns) / 1e9 : NAN);
      out.wait_reason.push_back(static_cast<uint16_t>(reasons.Id(w[1].get<std::string>())));
    }
    s.waits = static_cast<uint32_t>(out.wait_at.size()) - s.first_wait;
    out.spans.push_back(s);
  }
  return out;
}

PodSpans PodSpans::FromStore(const cluster::Store& store, const kueue::KueueController* kueue) {
  PodSpans out;
  if (kueue) {
    Names queues(&out.cluster_queues);
    const auto& c = kueue->cache();
    for (kueue::WorkloadId id = 0; id < c.workloads().size(); ++id) {
      const auto& w = c.wl(id);
      if (w.cq < 0) continue;
      Workload wl{queues.Id(c.cq(w.cq).obj.metadata.name), static_cast<uint32_t>(out.change.size()),
                  0};
      for (const auto& h : w.history) {
        WorkloadChange ch;
        if (!ChangeOf(h.type, &ch)) continue;
        out.change.push_back(ch);
        out.change_at.push_back(SecondsOrNan(h.at));
      }
      wl.changes = static_cast<uint32_t>(out.change.size()) - wl.first_change;
      out.workloads.push_back(wl);
    }
  }
  Names nodes(&out.node_names), reasons(&out.reasons), values(&out.node_values);
  out.nodes.reserve(store.node_count());
  for (cluster::NodeId id = 0; id < store.node_count(); ++id) {
    const auto& n = store.node(id);
    NodeSpan ns;
    ns.created = SecondsOrNan(n.created_at);
    ns.ready = SecondsOrNan(n.ready_at);
    ns.deleted = SecondsOrNan(n.deleted_at);
    ns.devices = GpuDevices(n);
    ns.name = nodes.Id(n.name());
    const auto& labels = n.obj.metadata.labels;
    auto label = [&](const char* key, const char* none) {
      auto it = labels.find(key);
      return values.Id(it == labels.end() ? std::string(none) : it->second);
    };
    ns.capacity_type = label("karpenter.sh/capacity-type", "static");
    ns.nodepool = label("karpenter.sh/nodepool", "");
    ns.model = values.Id(GpuModel(n));
    out.nodes.push_back(ns);
  }
  out.spans.reserve(store.pod_count());
  for (cluster::PodId id = 0; id < store.pod_count(); ++id) {
    const auto& p = store.pod(id);
    Span s;
    s.created = SecondsOrNan(p.created_at);
    s.scheduled = SecondsOrNan(p.scheduled_at);
    s.started = SecondsOrNan(p.started_at);
    s.finished = SecondsOrNan(p.finished_at);
    s.deleted = SecondsOrNan(p.deleted_at);
    s.gpus = static_cast<double>(PodGpus(store, p));  // summary.json's "gpus"
    if (p.Bound()) s.node = static_cast<int32_t>(nodes.Id(store.node(p.node).name()));
    s.first_wait = static_cast<uint32_t>(out.wait_at.size());
    for (const auto& [at, why] : p.waits) {
      out.wait_at.push_back(SecondsOrNan(at));
      out.wait_reason.push_back(static_cast<uint16_t>(reasons.Id(cluster::PodWaitName(why))));
    }
    s.waits = static_cast<uint32_t>(out.wait_at.size()) - s.first_wait;
    out.spans.push_back(s);
  }
  return out;
}

}  // namespace gputwin::report
