// The readable summary printed on stdout after a run.
#include <fmt/format.h>

#include <map>

#include "report/summary.h"

#include "cluster/ray_objects.h"
#include "controllers/cronjob.h"
#include "report/alerts_report.h"
#include "report/karpenter_report.h"
#include "report/kueue_report.h"
#include "report/serving_report.h"
#include "report/table.h"

namespace gputwin::report {

using cluster::PodPhase;

namespace {
constexpr size_t kMaxRows = 40;  // rows a table shows before it summarises
}  // namespace

std::string RenderText(const sim::Simulation& sim, const results::Results& res) {
  const auto& s = sim.store();
  const Time t0 = sim.start();
  auto rel = [&](Time t) {
    return t == cluster::kNever ? std::string("-") : FormatDuration(t - t0);
  };
  std::string out;
  out += fmt::format("gputwin: scenario \"{}\", {} simulated from {} (seed {})\n",
                     sim.scenario().metadata.name, FormatDuration(sim.end() - t0),
                     FormatRFC3339(t0), sim.scenario().seed);

  // Past kMaxRows the tables summarise (a 10,000-node month would print a million lines):
  // nodes and GPUs grouped by instance type, the most telling Jobs first with counts.
  size_t live_nodes = 0;
  for (cluster::NodeId id = 0; id < s.node_count(); ++id) live_nodes += !s.node(id).deleted;
  const cluster::ResourceId gpu_resource = s.resources().Find("nvidia.com/gpu");
  auto instance_type = [&](const cluster::NodeRecord& n) {
    auto it = n.obj.metadata.labels.find("node.kubernetes.io/instance-type");
    return it == n.obj.metadata.labels.end() ? std::string("<none>") : it->second;
  };
  out += "\nNodes\n";
  if (live_nodes > kMaxRows) {
    struct Group {
      size_t nodes = 0, ready = 0, pods = 0;
      int64_t gpu_held = 0, gpu_total = 0;
    };
    std::map<std::string, Group> groups;
    for (cluster::NodeId id = 0; id < s.node_count(); ++id) {
      const auto& n = s.node(id);
      if (n.deleted) continue;
      Group& g = groups[instance_type(n)];
      ++g.nodes;
      g.ready += n.ready;
      g.pods += n.pods.size();
      auto it = n.obj.allocatable.find("nvidia.com/gpu");
      if (it != n.obj.allocatable.end()) {
        g.gpu_held += cluster::At(n.requested, gpu_resource);
        g.gpu_total += it->second.Value();
      }
    }
    TextTable types({{"INSTANCE TYPE", 28},
                     {"NODES", 6, true},
                     {"READY", 6, true},
                     {"PODS", 7, true},
                     {"GPU", 12, true}});
    for (const auto& [type, g] : groups) {
      types.Add({type, std::to_string(g.nodes), std::to_string(g.ready), std::to_string(g.pods),
                 g.gpu_total ? fmt::format("{}/{}", g.gpu_held, g.gpu_total) : "-"});
    }
    out += fmt::format("  {} nodes by instance type (every node in summary.json)\n", live_nodes);
    out += types.Render();
  } else {
    TextTable nodes({{"NAME", 28},
                     {"PODS", 6, true},
                     {"GPU", 8, true},
                     {"READY", 6, true},
                     {"TAINTS", 0, false, 2}});
    for (cluster::NodeId id = 0; id < s.node_count(); ++id) {
      const auto& n = s.node(id);
      if (n.deleted) continue;
      std::string gpu = "-";
      auto it = n.obj.allocatable.find("nvidia.com/gpu");
      if (it != n.obj.allocatable.end()) {
        gpu = fmt::format("{}/{}", cluster::At(n.requested, gpu_resource), it->second.Value());
      }
      std::string taints;
      for (const auto& t : n.obj.taints) {
        taints += (taints.empty() ? "" : ",") + t.key + (t.value.empty() ? "" : "=" + t.value) +
                  ":" + t.effect;
      }
      nodes.Add({n.name(), std::to_string(n.pods.size()), gpu, n.ready ? "True" : "False",
                 taints.empty() ? "<none>" : taints});
    }
    out += nodes.Render();
  }

  // GPUs: what each device plugin advertises and how much of it is held.
  bool any_gpu = false;
  for (cluster::NodeId id = 0; id < s.node_count(); ++id) any_gpu |= s.node(id).gpu_count > 0;
  if (any_gpu) {
    out += "\nGPUs\n";
    int64_t ooms = 0;
    for (const auto& e : s.events()) ooms += e.reason == "GPUOutOfMemory" ? e.count : 0;
    size_t gpu_nodes = 0;
    for (cluster::NodeId id = 0; id < s.node_count(); ++id) {
      gpu_nodes += !s.node(id).deleted && s.node(id).gpu_count > 0;
    }
    // Per node: resource → (held, total).
    auto held_of = [](const cluster::NodeRecord& n) {
      std::map<std::string, std::pair<int64_t, int64_t>> use;
      for (const auto& u : n.devices) {
        auto& c = use[u.resource];
        ++c.second;
        c.first += u.pod != cluster::kNone;
      }
      return use;
    };
    auto render_held = [](const std::map<std::string, std::pair<int64_t, int64_t>>& use) {
      std::string held;
      for (const auto& [name, c] : use) {
        held += fmt::format("{}{} {}/{}", held.empty() ? "" : ", ", name, c.first, c.second);
      }
      return held;
    };
    if (gpu_nodes > kMaxRows) {
      // Grouped by GPU model and count: devices held, nodes without a plugin, the tightest
      // memory headroom seen.
      struct Group {
        size_t nodes = 0, unregistered = 0;
        std::map<std::string, std::pair<int64_t, int64_t>> use;
        int64_t min_headroom = -1;
      };
      std::map<std::pair<std::string, int32_t>, Group> groups;
      for (cluster::NodeId id = 0; id < s.node_count(); ++id) {
        const auto& n = s.node(id);
        if (n.deleted || n.gpu_count == 0) continue;
        Group& g = groups[{n.gpu_model, n.gpu_count}];
        ++g.nodes;
        if (!n.device_plugin_registered) {
          ++g.unregistered;
        } else {
          for (const auto& [name, c] : held_of(n)) {
            g.use[name].first += c.first;
            g.use[name].second += c.second;
          }
        }
        for (const auto& [dev, pk] : n.gpu_peak_memory) {
          if (pk.second == 0) continue;
          const int64_t headroom = pk.second - pk.first;
          if (g.min_headroom < 0 || headroom < g.min_headroom) g.min_headroom = headroom;
        }
      }
      out += fmt::format("  {} GPU nodes by model (every device in summary.json)\n", gpu_nodes);
      for (const auto& [key, g] : groups) {
        out += fmt::format("  {} x {:<12} {} node(s): {}{}\n", key.second, key.first, g.nodes,
                           g.use.empty() ? "no device plugin registered" : render_held(g.use),
                           g.unregistered && !g.use.empty()
                               ? fmt::format("; {} without a device plugin", g.unregistered)
                               : "");
        if (g.min_headroom >= 0) {
          out += fmt::format("    least GPU memory headroom seen: {} MiB\n", g.min_headroom);
        }
      }
    } else {
      for (cluster::NodeId id = 0; id < s.node_count(); ++id) {
        const auto& n = s.node(id);
        if (n.deleted || n.gpu_count == 0) continue;
        out += fmt::format(
            "  {:<28} {} x {:<12} {}\n", n.name(), n.gpu_count, n.gpu_model,
            n.device_plugin_registered ? render_held(held_of(n)) : "no device plugin registered");
        for (const auto& [dev, pk] : n.gpu_peak_memory) {
          if (pk.second == 0) continue;
          out += fmt::format("    {:<10} peak memory {} of {} MiB ({} MiB headroom)\n", dev,
                             pk.first, pk.second, pk.second - pk.first);
        }
      }
    }
    if (ooms) out += fmt::format("  GPU out-of-memory kills: {}\n", ooms);
  }

  if (!s.jobs().empty()) {
    out += "\nJobs\n";
    TextTable jobs({{"NAME", 36},
                    {"STATUS", 10},
                    {"SUCCEEDED", 9, true},
                    {"FAILED", 6, true},
                    {"STARTED", 10, true},
                    {"FINISHED", 10, true}});
    // Past kMaxRows: counts by status, then failed Jobs, the ones still active, the
    // longest-running complete ones.
    std::vector<const cluster::JobRecord*> shown;
    shown.reserve(s.jobs().size());
    std::map<std::string, size_t> by_status;
    for (const auto& j : s.jobs()) {
      shown.push_back(&j);
      by_status[j.condition.empty() ? (j.obj.suspend ? "Suspended" : "Running") : j.condition]++;
    }
    if (shown.size() > kMaxRows) {
      auto rank = [](const cluster::JobRecord* j) {
        return j->condition == "Failed" ? 0 : j->condition.empty() ? 1 : 2;
      };
      auto took = [](const cluster::JobRecord* j) {
        return j->start_time == cluster::kNever || j->completion_time == cluster::kNever
                   ? Duration::Nanoseconds(0)
                   : j->completion_time - j->start_time;
      };
      std::stable_sort(shown.begin(), shown.end(), [&](auto* a, auto* b) {
        if (rank(a) != rank(b)) return rank(a) < rank(b);
        return took(a) > took(b);
      });
      std::string counts;
      for (const auto& [status, n] : by_status) counts += fmt::format(", {} {}", n, status);
      out += fmt::format("  {} Jobs{}; failed first, then active, then the longest complete\n",
                         shown.size(), counts);
    }
    for (size_t k = 0; k < shown.size() && k < kMaxRows; ++k) {
      const auto& j = *shown[k];
      std::string status = !j.condition.empty() ? j.condition
                           : j.obj.suspend      ? "Suspended"
                                                : "Running";
      if (j.condition == "Failed") status += " (" + j.condition_reason + ")";
      if (j.deleted) status += ", deleted";
      jobs.Add({j.obj.metadata.namespace_ + "/" + j.obj.metadata.name, status,
                std::to_string(j.succeeded), std::to_string(j.failed), rel(j.start_time),
                rel(j.completion_time)});
    }
    out += jobs.Render();
    if (shown.size() > kMaxRows) {
      out += fmt::format("  ... {} more in summary.json\n", shown.size() - kMaxRows);
    }
  }
  if (const auto* cron = sim.cron_jobs(); cron && !cron->cron_jobs().empty()) {
    out += "\nCronJobs\n";
    TextTable crons({{"NAME", 36},
                     {"SCHEDULE", 14},
                     {"SUSPEND", 7},
                     {"JOBS", 5, true},
                     {"FORBIDDEN", 9, true},
                     {"MISSED", 6, true},
                     {"LAST", 10, true}});
    for (const auto& c : cron->cron_jobs()) {
      crons.Add({c.spec.metadata.namespace_ + "/" + c.spec.metadata.name, c.spec.schedule,
                 c.spec.suspend ? "True" : "False", std::to_string(c.created_jobs),
                 std::to_string(c.skipped_forbid), std::to_string(c.missed_deadline),
                 rel(c.last_schedule_time)});
    }
    out += crons.Render();
  }
  // Distributed training: each gang's GPU-hours advancing, waiting for a missing member,
  // and lost to restarts from checkpoints.
  if (!s.job_sets().empty() || !s.pytorch_jobs().empty() || !s.ray().jobs.empty()) {
    out += "\nTraining jobs (gangs)\n";
    TextTable train({{"NAME", 36},
                     {"KIND", 10},
                     {"STATE", 10},
                     {"GPU-H USEFUL", 12, true},
                     {"GPU-H WAITING", 13, true},
                     {"WAITED", 10, true},
                     {"GPU-H LOST", 10, true}});
    size_t rows = 0;
    auto row = [&](const api::ObjectMeta& m, const char* kind, const std::string& state,
                   const std::vector<uint32_t>& gangs) {
      if (rows++ >= kMaxRows) return;
      const cluster::Gang g = s.GangFigures(gangs);
      train.Add({m.namespace_ + "/" + m.name, kind, state.empty() ? "Active" : state,
                 fmt::format("{:.1f}", g.advancing_gpu_seconds / 3600),
                 fmt::format("{:.1f}", g.waiting_gpu_seconds / 3600),
                 FormatDuration(Duration::Seconds(static_cast<int64_t>(g.waiting_seconds))),
                 fmt::format("{:.1f}", g.lost_gpu_seconds / 3600)});
    };
    for (const auto& js : s.job_sets()) {
      std::vector<uint32_t> gangs = js.past_gangs;
      gangs.push_back(js.gang);
      row(js.obj.metadata, "JobSet", js.terminal_state, gangs);
    }
    for (const auto& pj : s.pytorch_jobs())
      row(pj.obj.metadata, "PyTorchJob", pj.condition, {pj.gang});
    for (const auto& rj : s.ray().jobs) {
      std::vector<uint32_t> gangs = rj.past_gangs;
      gangs.push_back(rj.gang);
      row(rj.obj.metadata, "RayJob", rj.job_deployment_status, gangs);
    }
    out += train.Render();
    if (rows > kMaxRows) out += fmt::format("  ... {} more in summary.json\n", rows - kMaxRows);
  }
  if (!s.deployments().empty()) {
    out += "\nDeployments\n";
    size_t rows = 0;
    for (const auto& d : s.deployments()) {
      if (rows++ >= kMaxRows) continue;
      size_t running = 0;
      if (d.replica_set != cluster::kNone) {
        for (cluster::PodId p : s.replica_sets()[d.replica_set].pods) {
          const auto& pod = s.pod(p);
          running += !pod.deleted && pod.phase == PodPhase::kRunning;
        }
      }
      out += fmt::format("  {:<36} {}/{} running\n",
                         d.obj.metadata.namespace_ + "/" + d.obj.metadata.name, running,
                         d.obj.replicas);
    }
    if (rows > kMaxRows) out += fmt::format("  ... {} more in summary.json\n", rows - kMaxRows);
  }

  // Pods: where each ran, and when.
  std::map<std::string, size_t> phases;
  size_t shown = 0, total_live = 0;
  TextTable table({{"NAME", 40},
                   {"PHASE", 10},
                   {"NODE", 20},
                   {"SCHEDULED", 9, true},
                   {"STARTED", 9, true},
                   {"FINISHED", 9, true}});
  for (cluster::PodId id = 0; id < s.pod_count(); ++id) {
    const auto& p = s.pod(id);
    if (p.deleted) continue;
    ++total_live;
    phases[cluster::PhaseName(p.phase)]++;
    if (shown++ >= kMaxRows) continue;
    table.Add({p.Key(), cluster::PhaseName(p.phase), p.Bound() ? s.node(p.node).name() : "<none>",
               rel(p.scheduled_at), rel(p.started_at), rel(p.finished_at)});
  }
  out += fmt::format("\nPods ({} total", total_live);
  for (const auto& [ph, n] : phases) out += fmt::format(", {} {}", n, ph);
  out += ")\n";
  out += table.Render();
  if (shown > kMaxRows) {
    out += fmt::format("  ... {} more in summary.json\n", shown - kMaxRows);
  }

  if (!res.pending_pods.empty()) {
    out += "\nWhy pods are Pending\n";
    for (const auto& g : res.pending_pods) {
      out += fmt::format("  {} pod(s): {}\n", g.members.size(), g.message);
      for (size_t k = 0; k < g.members.size() && k < 10; ++k) {
        if (k == 3) {
          out += "    ...\n";
          break;
        }
        out += "    " + g.members[k] + "\n";
      }
    }
  }
  out += KueueText(sim, res);
  out += KarpenterText(sim, res);
  out += ServingText(sim, res);
  out += AlertsText(sim);
  out += CostText(res);
  if (!sim.expectation_results().empty()) {
    out += "\nExpectations\n";
    for (const auto& r : sim.expectation_results()) {
      out += fmt::format("  {} {} ({}){}\n", r.passed ? "PASS" : "FAIL", r.description,
                         r.source.Describe(), r.passed ? "" : ": " + r.detail);
    }
  }
  if (!sim.warnings().empty()) {
    out += "\nWarnings\n";
    for (const auto& w : sim.warnings()) out += "  " + w + "\n";
  }
  return out;
}

}  // namespace gputwin::report
