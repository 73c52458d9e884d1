#include "report/timelines.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "report/summary_fields.h"

namespace gputwin::report {

// nlohmann::json (keys sorted); not named Json, summary.h's report::Json is ordered_json.
using SortedJson = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

// Adds `value` over [from, to) to the grid's cells (each cell is the instant at its start).
// Series are kept as differences (n + 1 cells) while intervals are added, so a million pods
// cost a million additions, and summed into values once (Values).
struct Grid {
  double t0, step;
  int n;
  std::vector<double> Series() const { return std::vector<double>(static_cast<size_t>(n) + 1, 0); }
  void Add(std::vector<double>* v, double from, double to, double value) const {
    if (to <= from) return;
    const int a = std::max(0, static_cast<int>(std::ceil((from - t0) / step - 1e-9)));
    const int b = std::min(n, static_cast<int>(std::ceil((to - t0) / step - 1e-9)));
    if (a >= b) return;
    (*v)[static_cast<size_t>(a)] += value;
    (*v)[static_cast<size_t>(b)] -= value;
  }
  std::vector<double> Values(std::vector<double> v) const {
    for (size_t i = 1; i < v.size(); ++i) v[i] += v[i - 1];
    v.resize(static_cast<size_t>(n));
    for (auto& x : v) x = std::round(x * 1e6) / 1e6;  // sums of prices: no float dust
    return v;
  }
};

}  // namespace

OJson Timelines(const SortedJson& summary, int points) {
  return Timelines(summary, PodSpans::FromSummary(summary), points);
}

OJson Timelines(const SortedJson& summary, const PodSpans& spans, int points) {
  const double t0 = Seconds(summary, "startTime", 0);
  const double t1 = Seconds(summary, "endTime", t0 + 1);
  const int n = std::max(2, std::min(points, static_cast<int>((t1 - t0) / 60) + 1));
  return TimelinesOn(summary, spans, t1 - t0, n);
}

namespace {

// A step function sampled at irregular instants (a metric's samples, a serving timeline),
// read on the grid: each cell the last value at or before its instant, or with `worst` the
// largest value seen since the previous cell (a percentile's worst minute in the cell).
std::vector<double> Resample(const Grid& g, const std::vector<std::pair<double, double>>& at,
                             bool worst) {
  std::vector<double> out(static_cast<size_t>(g.n), 0);
  size_t i = 0;
  double last = 0;
  for (int c = 0; c < g.n; ++c) {
    const double t = g.t0 + g.step * c;
    double peak = -1;
    while (i < at.size() && at[i].first <= t + 1e-6) {
      last = at[i].second;
      peak = std::max(peak, last);
      ++i;
    }
    out[static_cast<size_t>(c)] = std::round((worst && peak >= 0 ? peak : last) * 1e4) / 1e4;
  }
  return out;
}

// Kueue per ClusterQueue: workloads pending (queued) and admitted, from their conditions;
// the GPUs admitted against the nominal quota and the weighted share, from Kueue's own
// metrics (kueue_cluster_queue_resource_usage, _nominal_quota, _weighted_share).
OJson KueueTimelines(const SortedJson& summary, const PodSpans& spans, const Grid& g, double end) {
  using C = PodSpans::WorkloadChange;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> queues;
  for (const auto& w : spans.workloads) {
    auto& [pend, adm] = queues[spans.cluster_queues[w.cluster_queue]];
    if (pend.empty()) {
      pend = g.Series();
      adm = g.Series();
    }
    double pending_since = -1, admitted_since = -1;
    for (uint32_t i = w.first_change; i < w.first_change + w.changes; ++i) {
      const double at = spans.change_at[i];
      auto close = [&](double* since, std::vector<double>* v) {
        if (*since >= 0) g.Add(v, *since, at, 1);
        *since = -1;
      };
      switch (spans.change[i]) {
        case C::kQueued:
          if (pending_since < 0 && admitted_since < 0) pending_since = at;
          break;
        case C::kAdmitted:
          close(&pending_since, &pend);
          admitted_since = at;
          break;
        case C::kEvicted:
          close(&admitted_since, &adm);
          break;
        case C::kEnded:
          close(&pending_since, &pend);
          close(&admitted_since, &adm);
          break;
      }
    }
    if (pending_since >= 0) g.Add(&pend, pending_since, end, 1);
    if (admitted_since >= 0) g.Add(&adm, admitted_since, end, 1);
  }
  OJson out = OJson::object();
  for (const auto& [cq, series] : queues) {
    out[cq] = OJson{{"pending", g.Values(series.first)}, {"admitted", g.Values(series.second)}};
  }
  // Metric samples summed per ClusterQueue (over flavors of nvidia.com/* resources).
  std::map<std::string, std::map<double, double>> usage, quota, share;
  for (const auto& m : Arr(summary, "metrics")) {
    const std::string name = Str(m, "name");
    const auto& labels = Obj(m, "labels");
    const std::string cq = labels.value("cluster_queue", std::string(""));
    std::map<std::string, std::map<double, double>>* into = nullptr;
    if (name == "kueue_cluster_queue_weighted_share") {
      into = &share;
    } else if (labels.value("resource", std::string("")).starts_with("nvidia.com/")) {
      if (name == "kueue_cluster_queue_resource_usage") into = &usage;
      if (name == "kueue_cluster_queue_nominal_quota") into = &quota;
    }
    if (!into || cq.empty()) continue;
    for (const auto& sample : Arr(m, "samples")) {
      if (!sample.is_array() || sample.size() != 2 || !sample[0].is_string()) continue;
      std::string error;
      auto at = ParseRFC3339(sample[0].get<std::string>(), &error);
      if (!at) continue;
      // A null share is +Inf (no nominal quota): left out of the chart.
      const double v = sample[1].is_number() ? sample[1].get<double>() : 0;
      (*into)[cq][static_cast<double>(at->ns) / 1e9] += v;
    }
  }
  auto resampled = [&](const std::map<double, double>& samples) {
    return Resample(g, {samples.begin(), samples.end()}, false);
  };
  for (const auto& [cq, samples] : usage) {
    if (!out.contains(cq)) out[cq] = OJson::object();
    out[cq]["gpusAdmitted"] = resampled(samples);
    if (auto q = quota.find(cq); q != quota.end())
      out[cq]["gpuNominalQuota"] = resampled(q->second);
  }
  for (const auto& [cq, samples] : share) {
    if (!out.contains(cq)) out[cq] = OJson::object();
    out[cq]["weightedShare"] = resampled(samples);
  }
  return out;
}

// Each traffic stream's replicas (ready, all) and TTFT percentiles (the worst minute in
// each point) from its serving timeline.
OJson ServingTimelines(const SortedJson& summary, const Grid& g) {
  OJson out = OJson::object();
  for (const auto& sv : Arr(Obj(summary, "serving"), "services")) {
    std::map<std::string, size_t> column;
    const auto& cols = Arr(sv, "timelineColumns");
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i].is_string()) column[cols[i].get<std::string>()] = i;
    }
    OJson one = OJson::object();
    for (const char* key : {"ready", "replicas", "ttftP50", "ttftP95", "ttftP99"}) {
      auto c = column.find(key);
      auto sec = column.find("seconds");
      if (c == column.end() || sec == column.end()) continue;
      std::vector<std::pair<double, double>> at;
      const bool percentile = std::string(key).starts_with("ttft");
      for (const auto& row : Arr(sv, "timeline")) {
        if (!row.is_array() || row.size() <= std::max(c->second, sec->second)) continue;
        const auto& v = row[c->second];
        // A minute with no first token has no percentile: 0 for replicas, skipped for TTFT.
        if (!v.is_number() && percentile) continue;
        at.emplace_back(g.t0 + row[sec->second].get<double>(), v.is_number() ? v.get<double>() : 0);
      }
      one[key] = Resample(g, at, percentile);
    }
    out[Str(sv, "traffic")] = one;
  }
  return out;
}

// Firing alerts per alert name (Prometheus's ALERTS{alertstate="firing"} count).
OJson AlertTimelines(const SortedJson& summary, const Grid& g, double end) {
  std::map<std::string, std::vector<double>> firing;
  for (const auto& a : Arr(Obj(summary, "alerts"), "alerts")) {
    if (!a.contains("firingAt") || !a["firingAt"].is_number()) continue;
    auto& v = firing[Str(a, "alert")];
    if (v.empty()) v = g.Series();
    const double to = a.contains("resolvedAt") && a["resolvedAt"].is_number()
                          ? g.t0 + a["resolvedAt"].get<double>()
                          : end;
    g.Add(&v, g.t0 + a["firingAt"].get<double>(), to, 1);
  }
  OJson out = OJson::object();
  for (const auto& [name, v] : firing) out[name] = g.Values(v);
  return out;
}

}  // namespace

OJson TimelinesOn(const SortedJson& summary, double seconds, int n) {
  return TimelinesOn(summary, PodSpans::FromSummary(summary), seconds, n);
}

OJson TimelinesOn(const SortedJson& summary, const PodSpans& spans, double seconds, int n) {
  const double t0 = Seconds(summary, "startTime", 0);
  const double t1 = t0 + seconds;
  const Grid g{t0, (t1 - t0) / (n - 1), n};
  std::vector<double> t(static_cast<size_t>(n)), pending = g.Series(), running = g.Series(),
                                                 capacity = g.Series(), allocated = g.Series(),
                                                 cost = g.Series();
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = std::round(t0 + g.step * i);
  const double end = t1 + g.step;  // still there at the end: counted at the last instant
  auto series_of = [&](std::map<std::string, std::vector<double>>* m, const std::string& key) {
    auto& v = (*m)[key];
    if (v.empty()) v = g.Series();
    return &v;
  };
  // Nodes: by capacity type, by NodePool, GPU devices by model.
  std::map<std::string, std::vector<double>> nodes, pools, model_capacity, model_allocated;
  std::map<std::string, std::string> model_of_node;
  for (const auto& node : spans.nodes) {
    const double from = PodSpans::Or(node.created, t0);
    const double to = PodSpans::Or(node.deleted, end);
    const std::string& type = spans.node_values[node.capacity_type];
    g.Add(series_of(&nodes, type), from, to, 1);
    const std::string& pool = spans.node_values[node.nodepool];
    g.Add(series_of(&pools, pool.empty() ? type : pool + " (" + type + ")"), from, to, 1);
    if (node.devices > 0) {
      const std::string& model = spans.node_values[node.model];
      model_of_node[spans.node_names[node.name]] = model;
      const double ready = PodSpans::Or(node.ready, from);
      g.Add(&capacity, ready, to, node.devices);
      g.Add(series_of(&model_capacity, model), ready, to, node.devices);
    }
  }
  // Pods: Pending (created to bound) and why, ContainerCreating, Running, devices held.
  std::map<std::string, std::vector<double>> waiting;
  for (const auto& p : spans.spans) {
    const double created = PodSpans::Or(p.created, t0);
    const double gone = std::min(PodSpans::Or(p.deleted, end), PodSpans::Or(p.finished, end));
    const double scheduled = PodSpans::Or(p.scheduled, end);
    const double started = PodSpans::Or(p.started, end);
    const double bound_or_gone = std::min(scheduled, gone);
    g.Add(&pending, created, bound_or_gone, 1);
    g.Add(&running, started, gone, 1);
    double from = created;
    std::string why = "Queued";
    for (uint32_t k = p.first_wait; k < p.first_wait + p.waits; ++k) {
      const double next = PodSpans::Or(spans.wait_at[k], from);
      if (next > from) g.Add(series_of(&waiting, why), from, std::min(next, bound_or_gone), 1);
      from = std::max(from, next);
      why = spans.reasons[spans.wait_reason[k]];
    }
    g.Add(series_of(&waiting, why), from, bound_or_gone, 1);
    if (scheduled < gone)
      g.Add(series_of(&waiting, "ContainerCreating"), scheduled, std::min(started, gone), 1);
    const double gpus = p.gpus;
    if (gpus > 0) {
      g.Add(&allocated, scheduled, gone, gpus);
      auto m = p.node < 0 ? model_of_node.end()
                          : model_of_node.find(spans.node_names[static_cast<size_t>(p.node)]);
      if (m != model_of_node.end())
        g.Add(series_of(&model_allocated, m->second), scheduled, gone, gpus);
    }
  }
  std::map<std::string_view, const PodSpans::NodeSpan*> node_by_name;
  for (const auto& nd : spans.nodes) node_by_name[spans.node_names[nd.name]] = &nd;
  for (const auto& c : Arr(Obj(summary, "cost"), "nodes")) {
    auto it = node_by_name.find(Str(c, "name"));
    if (it == node_by_name.end()) continue;
    const PodSpans::NodeSpan* node = it->second;
    g.Add(&cost, PodSpans::Or(node->created, t0), PodSpans::Or(node->deleted, end),
          c.value("pricePerHour", 0.0));
  }
  // Series that stayed zero (a reason no pod waited for) are left out.
  auto values = [&](const std::map<std::string, std::vector<double>>& m) {
    OJson out = OJson::object();
    for (const auto& [k, v] : m) {
      auto vals = g.Values(v);
      if (std::any_of(vals.begin(), vals.end(), [](double x) { return x != 0; })) out[k] = vals;
    }
    return out;
  };
  OJson out{{"t", t},
            {"pending", g.Values(pending)},
            {"running", g.Values(running)},
            {"waiting", values(waiting)},
            {"gpuCapacity", g.Values(capacity)},
            {"gpuAllocated", g.Values(allocated)},
            {"costPerHour", g.Values(cost)}};
  OJson by_model = OJson::object();
  for (const auto& [model, cap] : model_capacity) {
    auto a = model_allocated.find(model);
    by_model[model] =
        OJson{{"capacity", g.Values(cap)},
              {"allocated", g.Values(a == model_allocated.end() ? g.Series() : a->second)}};
  }
  out["gpusByModel"] = by_model;
  out["nodes"] = values(nodes);
  out["nodesByNodePool"] = values(pools);
  out["kueue"] = KueueTimelines(summary, spans, g, end);
  out["serving"] = ServingTimelines(summary, g);
  out["alerts"] = AlertTimelines(summary, g, end);
  return out;
}

}  // namespace gputwin::report
