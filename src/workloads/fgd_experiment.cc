#include "workloads/fgd_experiment.h"
#include <algorithm>

#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "core/random.h"

namespace gputwin::workloads {

using gpushare::GpuNode;
using gpushare::PodShape;
using gpushare::Policy;

PodShape ShapeOf(const TracePod& p) {
  PodShape s;
  s.cpu_milli = p.cpu_milli;
  s.memory_mib = p.memory_mib;
  s.gpu_milli = p.num_gpu > 0 ? p.gpu_milli : 0;
  s.num_gpu = p.num_gpu;
  s.gpu_type = p.gpu_spec;
  return s;
}

std::vector<size_t> TunedArrivals(const std::vector<TracePod>& pods, int64_t capacity, double tune,
                                  uint64_t seed) {
  RandomStream rng(seed, "experiment/tune");
  std::vector<size_t> order(pods.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  int64_t arrived = 0;
  for (size_t i : order) arrived += ShapeOf(pods[i]).TotalGpuMilli();
  const auto target = static_cast<int64_t>(tune * static_cast<double>(capacity));
  while (!pods.empty()) {
    size_t pick = rng.Below(pods.size());
    int64_t g = ShapeOf(pods[pick]).TotalGpuMilli();
    if (arrived + g > target) break;
    arrived += g;
    order.push_back(pick);
  }
  return order;
}

std::vector<size_t> ArrivalsFromSteps(const std::vector<TracePod>& pods, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read file");
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < pods.size(); ++i) by_name.emplace(pods[i].name, i);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) header.push_back(c);
  }
  auto col = std::find(header.begin(), header.end(), "orig_pod");
  if (col == header.end()) throw InputError(SourceRef{path, 1}, "", "missing column \"orig_pod\"");
  size_t k = static_cast<size_t>(col - header.begin());
  std::vector<size_t> out;
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    std::stringstream ss(line);
    std::string c;
    for (size_t i = 0; i <= k && std::getline(ss, c, ','); ++i) {
    }
    auto it = by_name.find(c);
    if (it == by_name.end()) {
      throw InputError(SourceRef{path, line_no}, "orig_pod",
                       "pod \"" + c + "\" is not in the trace");
    }
    out.push_back(it->second);
  }
  return out;
}

namespace {

// Per (node, pod shape): whether the pod fits and its raw score, valid while the node's
// version is unchanged. Only one node changes per placement, so almost every lookup hits.
struct Memo {
  uint32_t version = ~0u;
  bool fits = false;
  int64_t score = 0;
};

}  // namespace

PlacementResult RunPlacement(const std::vector<TraceNode>& trace_nodes,
                             const std::vector<TracePod>& pods, const std::vector<size_t>& arrivals,
                             Policy policy, uint64_t seed, int max_step) {
  std::vector<GpuNode> nodes;
  PlacementResult r;
  // The order in which equal scores are broken: a seeded permutation of the node list,
  // fixed for the whole run (see the header).
  std::vector<size_t> order(trace_nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  {
    RandomStream perm(seed, "experiment/node-order");
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[perm.Below(i)]);
  }
  for (size_t oi : order) {
    const auto& t = trace_nodes[oi];
    GpuNode n;
    n.name = t.name;
    n.model = t.model;
    n.cpu_capacity = n.cpu_left = t.cpu_milli;
    n.memory_left = t.memory_mib;
    n.gpu_count = t.gpus;
    for (int i = 0; i < t.gpus; ++i) n.gpu_left[static_cast<size_t>(i)] = gpushare::kMilli;
    r.capacity_gpu_milli += int64_t{t.gpus} * gpushare::kMilli;
    nodes.push_back(std::move(n));
  }
  // Shapes, deduplicated: the memo is indexed by shape.
  std::map<std::tuple<int64_t, int64_t, int32_t, int32_t, std::string>, uint32_t> shape_ids;
  std::vector<PodShape> shapes;
  std::vector<uint32_t> arrival_shape;
  std::vector<PodShape> arrival_shapes;
  for (size_t a : arrivals) {
    PodShape s = ShapeOf(pods[a]);
    auto [it, inserted] = shape_ids.emplace(
        std::make_tuple(s.cpu_milli, s.memory_mib, s.gpu_milli, s.num_gpu, s.gpu_type),
        static_cast<uint32_t>(shapes.size()));
    if (inserted) shapes.push_back(s);
    arrival_shape.push_back(it->second);
    arrival_shapes.push_back(s);
  }
  // Typical pods come from the workload being placed (SetTypicalPods on workloadPods).
  const auto typical = policy == Policy::kFGD ? gpushare::TypicalPods(arrival_shapes)
                                              : std::vector<gpushare::TypicalPod>{};
  const size_t n = nodes.size();
  const bool memo_on = policy != Policy::kRandom && shapes.size() * n <= 8'000'000;
  std::vector<Memo> memo(memo_on ? shapes.size() * n : 0);
  RandomStream rng(seed, "experiment/select");

  r.allocation_percent.assign(static_cast<size_t>(max_step) + 1, 0.0);
  int next_step = 0;
  std::vector<uint32_t> feasible;
  std::vector<int64_t> scores;
  r.node_of.reserve(arrivals.size());
  for (size_t k = 0; k < arrivals.size(); ++k) {
    const PodShape& p = shapes[arrival_shape[k]];
    feasible.clear();
    scores.clear();
    for (uint32_t i = 0; i < n; ++i) {
      const GpuNode& node = nodes[i];
      bool fits;
      int64_t score = 0;
      if (memo_on) {
        Memo& m = memo[arrival_shape[k] * n + i];
        if (m.version != node.version) {
          m.version = node.version;
          m.fits = gpushare::Fits(node, p);
          m.score = m.fits ? gpushare::Score(policy, node, p, typical) : 0;
        }
        fits = m.fits;
        score = m.score;
      } else {
        fits = gpushare::Fits(node, p);
        if (fits && policy != Policy::kRandom) score = gpushare::Score(policy, node, p, typical);
      }
      if (fits) {
        feasible.push_back(i);
        scores.push_back(score);
      }
    }
    int32_t chosen = -1;
    if (!feasible.empty()) {
      if (policy == Policy::kRandom) {
        // RandomScore's PreScore: one node drawn uniformly among the feasible ones.
        chosen = static_cast<int32_t>(feasible[rng.Below(feasible.size())]);
      } else {
        if (gpushare::NormalizesScores(policy)) gpushare::NormalizeScores(&scores);
        // The best score; among equals, the first in the run's node order (see header).
        int64_t best = scores[0];
        chosen = static_cast<int32_t>(feasible[0]);
        for (size_t j = 1; j < feasible.size(); ++j) {
          if (scores[j] > best) {
            best = scores[j];
            chosen = static_cast<int32_t>(feasible[j]);
          }
        }
      }
      GpuNode& node = nodes[static_cast<size_t>(chosen)];
      gpushare::Allocate(&node, p,
                         gpushare::SelectGpus(policy, node, p, typical,
                                              [&](uint64_t bound) { return rng.Below(bound); }));
      r.used_gpu_milli += p.TotalGpuMilli();
      ++r.scheduled;
    } else {
      ++r.failed;
    }
    r.node_of.push_back(chosen < 0 ? -1 : static_cast<int32_t>(order[static_cast<size_t>(chosen)]));
    r.arrived_gpu_milli += p.TotalGpuMilli();
    // Record the allocation ratio at every 1% step of arrived demand this pod crossed.
    while (next_step <= max_step &&
           r.arrived_gpu_milli * 100 >= int64_t{next_step} * r.capacity_gpu_milli) {
      r.allocation_percent[static_cast<size_t>(next_step++)] =
          100.0 * static_cast<double>(r.used_gpu_milli) / static_cast<double>(r.capacity_gpu_milli);
    }
  }
  const double final_pct = r.capacity_gpu_milli ? 100.0 * static_cast<double>(r.used_gpu_milli) /
                                                      static_cast<double>(r.capacity_gpu_milli)
                                                : 0;
  for (int s = next_step; s <= max_step; ++s)
    r.allocation_percent[static_cast<size_t>(s)] = final_pct;
  return r;
}

}  // namespace gputwin::workloads
