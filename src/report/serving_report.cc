#include "report/serving_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "autoscaling/horizontal.h"
#include "serving/serving_controller.h"
#include "sim/simulation.h"

namespace gputwin::report {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string Secs(double s) {
  if (s < 1) return fmt::format("{:.0f} ms", s * 1000);
  if (s < 120) return fmt::format("{:.1f} s", s);
  return fmt::format("{:.0f} s", s);
}

}  // namespace

std::string ServingText(const sim::Simulation& sim, const results::Results& res) {
  const auto* sv = sim.serving();
  if (!sv) return "";
  std::string out = fmt::format("\nServing (vLLM {})\n", serving::kVllmVersion);
  for (const auto& r : res.serving) {
    const auto& st = *r.stats;
    uint64_t failed = 0;
    std::string why;
    for (int f = 0; f < static_cast<int>(serving::Failure::kCount); ++f) {
      if (st.failed[f] == 0) continue;
      failed += st.failed[f];
      why += fmt::format("{}{} {}", why.empty() ? "" : ", ", st.failed[f],
                         serving::FailureName(static_cast<serving::Failure>(f)));
    }
    out += fmt::format("  {} -> {} ({} {})\n", st.name, st.service, st.proxy, st.load_balancer);
    out += fmt::format("    requests {}  served {}  failed {}{}  retried {}{}\n", st.requests,
                       st.served, failed, why.empty() ? "" : " (" + why + ")", st.retried,
                       st.retry_overflow ? fmt::format(" ({} refused by the retry circuit breaker)",
                                                       st.retry_overflow)
                                         : "");
    auto q = [&](const serving::LatencyHistogram& h) {
      return fmt::format("p50 {} p95 {} p99 {}", Secs(h.Quantile(0.5)), Secs(h.Quantile(0.95)),
                         Secs(h.Quantile(0.99)));
    };
    out += fmt::format("    time to first token  {}\n", q(st.ttft));
    out += fmt::format("    time per output token {}\n", q(st.tpot));
    out += fmt::format("    end to end           {}\n", q(st.e2e));
    out += fmt::format("    replicas ready at most {}, GPU-hours {:.1f}", r.max_ready, r.gpu_hours);
    if (r.cost > 0) {
      out += fmt::format(", ${:.2f} (${:.4f} per 1k requests, ${:.3f} per 1M output tokens)",
                         r.cost, st.served ? r.cost / double(st.served) * 1000 : 0,
                         st.output_tokens ? r.cost / double(st.output_tokens) * 1e6 : 0);
    }
    out += "\n";
  }
  // Start-up: the chain from the pod's creation to Ready, for replicas after the first.
  std::vector<double> node, pull, workers, weights, warmup, probe, total;
  int failures = 0;
  std::string first_failure;
  for (const auto& rec : sv->replicas()) {
    if (!rec.failure.empty()) {
      if (failures++ == 0) first_failure = rec.pod_key + ": " + rec.failure;
      continue;
    }
    if (rec.created <= 0 || rec.scheduled < 0) continue;
    node.push_back(rec.scheduled - rec.created);
    pull.push_back(rec.container_started - rec.scheduled);
    workers.push_back(rec.workers_seconds);
    weights.push_back(rec.weights_seconds);
    warmup.push_back(rec.warmup_seconds);
    probe.push_back(rec.ready - rec.server_up);
    total.push_back(rec.ready - rec.created);
  }
  if (!total.empty()) {
    // A multi-node server (a LeaderWorkerSet leader) also waits for its Ray workers.
    const bool groups = std::any_of(workers.begin(), workers.end(), [](double w) { return w > 0; });
    out += fmt::format(
        "  Scale-up, pod created to Ready (median of {}): waiting for a node {}, image pull {}, "
        "{}weights {}, warm-up {}, readiness probe {}: {}\n",
        total.size(), Secs(Median(node)), Secs(Median(pull)),
        groups ? "waiting for Ray workers " + Secs(Median(workers)) + ", " : "",
        Secs(Median(weights)), Secs(Median(warmup)), Secs(Median(probe)), Secs(Median(total)));
  }
  if (failures > 0) {
    out += fmt::format("  vLLM failed to start {} time(s); first: {}\n", failures, first_failure);
  }
  if (const auto* hpa = sim.hpa()) {
    for (const auto& h : hpa->statuses()) {
      std::string conds;
      for (const auto& c : h.conditions) {
        conds += fmt::format("{}{}={} ({})", conds.empty() ? "" : ", ", c.type, c.status, c.reason);
      }
      out += fmt::format("  HPA {}/{} -> {}: {} rescales, at most {} replicas; {}\n", h.namespace_,
                         h.name, h.target, h.rescales, h.max_seen, conds);
    }
  }
  return out;
}

}  // namespace gputwin::report
