#include "sim/trace_import.h"

#include <algorithm>
#include <map>

#include "core/errors.h"

#include "workloads/alibaba_trace.h"

namespace gputwin::sim {

namespace {
constexpr const char* kModelLabel = "alibabacloud.com/gpu-card-model";
}

std::vector<TraceArrival> ImportTrace(const api::TraceSpec& spec, std::vector<api::Node>* nodes) {
  if (!spec.nodes.empty()) {
    for (const auto& t : workloads::LoadTraceNodes(spec.nodes)) {
      api::Node n;
      n.metadata.name = t.name;
      n.metadata.source = t.source;
      n.allocatable["cpu"] = Quantity{t.cpu_milli};
      n.allocatable["memory"] = Quantity{t.memory_mib * 1024 * 1024 * 1000};
      // The trace's nodes run far more pods than the kubelet's default 110.
      n.allocatable["pods"] = Quantity{256'000};
      if (t.gpus > 0) {
        n.metadata.annotations["alibabacloud.com/gpu-count"] = std::to_string(t.gpus);
        n.metadata.annotations[kModelLabel] = t.model;
        n.metadata.labels[kModelLabel] = t.model;
      }
      nodes->push_back(std::move(n));
    }
  }
  std::vector<TraceArrival> out;
  if (spec.pods.empty()) return out;
  auto pods = workloads::LoadTracePods(spec.pods);
  int64_t first = INT64_MAX;
  for (const auto& p : pods) {
    if (p.creation_time >= 0) first = std::min(first, p.creation_time);
  }
  // Pod names key everything after (events, expectations, outputs): none empty, none twice.
  std::map<std::string, int> first_line;
  for (const auto& p : pods) {
    if (p.name.empty()) throw InputError(p.source, "name", "Required value: a pod needs a name");
    auto [it, added] = first_line.try_emplace(p.name, p.source.line);
    if (!added) {
      throw InputError(p.source, "name",
                       "Duplicate value: pod \"" + p.name + "\" is listed twice (first at line " +
                           std::to_string(it->second) + ")");
    }
  }
  for (const auto& p : pods) {
    TraceArrival a;
    a.at = Duration::Seconds(p.creation_time >= 0 ? p.creation_time - first : 0);
    api::Pod& pod = a.pod;
    pod.metadata.name = p.name;
    pod.metadata.namespace_ = spec.namespace_;
    pod.metadata.source = p.source;
    int64_t start = p.scheduled_time >= 0 ? p.scheduled_time : p.creation_time;
    if (p.deletion_time >= 0 && start >= 0 && p.deletion_time > start) {
      pod.metadata.annotations["gputwin.io/run-time"] =
          FormatDuration(Duration::Seconds(p.deletion_time - start));
    }
    if (p.num_gpu > 0) {
      pod.metadata.annotations["alibabacloud.com/gpu-milli"] = std::to_string(p.gpu_milli);
      pod.metadata.annotations["alibabacloud.com/gpu-count"] = std::to_string(p.num_gpu);
    }
    pod.spec.restart_policy = "Never";
    api::Container c;
    c.name = "task";
    c.resources.requests["cpu"] = Quantity{p.cpu_milli};
    c.resources.requests["memory"] = Quantity{p.memory_mib * 1024 * 1024 * 1000};
    pod.spec.containers.push_back(c);
    if (!p.gpu_spec.empty()) {
      // gpu_spec "V100M16|V100M32": the pod runs only on those models.
      api::NodeSelectorRequirement req{kModelLabel, "In", {}};
      size_t start_pos = 0;
      while (start_pos <= p.gpu_spec.size()) {
        size_t bar = p.gpu_spec.find('|', start_pos);
        if (bar == std::string::npos) bar = p.gpu_spec.size();
        if (bar > start_pos) req.values.push_back(p.gpu_spec.substr(start_pos, bar - start_pos));
        start_pos = bar + 1;
      }
      api::NodeAffinity aff;
      aff.required = std::vector<api::NodeSelectorTerm>{{{req}, {}}};
      pod.spec.node_affinity = aff;
    }
    out.push_back(std::move(a));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TraceArrival& x, const TraceArrival& y) { return x.at < y.at; });
  return out;
}

}  // namespace gputwin::sim
