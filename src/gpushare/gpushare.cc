#include "gpushare/gpushare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>

namespace gputwin::gpushare {

int64_t GpuNode::TotalGpuLeft() const {
  int64_t t = 0;
  for (int i = 0; i < gpu_count; ++i) t += gpu_left[static_cast<size_t>(i)];
  return t;
}

int GpuNode::FullyFreeGpus() const {
  int n = 0;
  for (int i = 0; i < gpu_count; ++i) n += gpu_left[static_cast<size_t>(i)] == kMilli;
  return n;
}

int GpuNode::AffinityKinds() const {
  int k = 0;
  for (int32_t c : affinity) k += c > 0;
  return k;
}

bool Accessible(const std::string& node_model, const std::string& pod_type) {
  if (pod_type.empty()) return true;
  if (node_model.empty()) return false;  // a CPU node
  size_t start = 0;
  int named = 0;
  while (start <= pod_type.size()) {
    size_t bar = pod_type.find('|', start);
    if (bar == std::string::npos) bar = pod_type.size();
    std::string_view t(pod_type.data() + start, bar - start);
    if (!t.empty()) {
      ++named;
      if (t == node_model) return true;
    }
    start = bar + 1;
  }
  return named == 0;
}

namespace {

// CanNodeHostPodOnGpuMemory: enough devices with at least the per-GPU request left.
bool CanHostOnGpus(const GpuNode& n, const PodShape& p) {
  int need = p.num_gpu;
  for (int i = 0; i < n.gpu_count; ++i) {
    if (n.gpu_left[static_cast<size_t>(i)] >= p.gpu_milli && --need <= 0) return true;
  }
  return false;
}

// Device indices by milli-GPU left, ascending, stable (SortedMilliGpuLeftIndexList).
std::array<int, kMaxGpusPerNode> SortedAscending(const GpuNode& n) {
  std::array<int, kMaxGpusPerNode> idx{};
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.begin() + n.gpu_count, [&](int a, int b) {
    return n.gpu_left[static_cast<size_t>(a)] < n.gpu_left[static_cast<size_t>(b)];
  });
  return idx;
}

// NodeResource.Sub: CPU, then the least sufficient devices first.
GpuNode Sub(const GpuNode& n, const PodShape& p) {
  GpuNode out = n;
  out.cpu_left -= p.cpu_milli;
  if (p.num_gpu == 0) return out;
  auto idx = SortedAscending(n);
  int need = p.num_gpu;
  for (int k = 0; k < n.gpu_count && need > 0; ++k) {
    auto i = static_cast<size_t>(idx[static_cast<size_t>(k)]);
    if (p.gpu_milli <= out.gpu_left[i]) {
      out.gpu_left[i] -= p.gpu_milli;
      --need;
    }
  }
  return out;
}

// AllocateExclusiveGpuId: the first fully free devices by index.
std::vector<int> FirstFreeGpus(const GpuNode& n, const PodShape& p) {
  std::vector<int> out;
  int64_t need = p.TotalGpuMilli();
  for (int i = 0; i < n.gpu_count && need > 0; ++i) {
    if (n.gpu_left[static_cast<size_t>(i)] == kMilli) {
      out.push_back(i);
      need -= kMilli;
    }
  }
  return out;
}

double Sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

constexpr int64_t kMaxNodeScore = 100;

}  // namespace

bool Fits(const GpuNode& n, const PodShape& p) {
  if (n.cpu_left < p.cpu_milli || n.memory_left < p.memory_mib) return false;
  if (p.gpu_milli <= 0) return true;
  if (n.gpu_count == 0 || !Accessible(n.model, p.gpu_type)) return false;
  return CanHostOnGpus(n, p);
}

std::vector<TypicalPod> TypicalPods(const std::vector<PodShape>& pods, int threshold_percent) {
  using Key = std::tuple<int64_t, int32_t, int32_t, std::string>;  // cpu, milli, count, type
  std::map<Key, double> counts;
  std::map<Key, PodShape> shapes;
  double total = 0;
  for (const auto& p : pods) {
    Key k{p.cpu_milli, p.gpu_milli, p.num_gpu, p.gpu_type};
    counts[k] += 1;
    shapes.emplace(k, p);
    total += 1;
  }
  // SortTargetPodInDecreasingCount: by count, then by (cpu, milli, count, type), descending.
  std::vector<std::pair<Key, double>> list(counts.begin(), counts.end());
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first > b.first;
  });
  double expected = static_cast<double>(threshold_percent) * total / 100.0;
  size_t i = 0, taken_goal = 0;
  double cum = 0;
  std::vector<TypicalPod> out;
  while (cum < expected) {
    taken_goal += 1;  // podIncreaseStep 1
    while (i < taken_goal && i < list.size()) {
      cum += list[i].second;
      TypicalPod t;
      t.shape = shapes[list[i].first];
      t.frequency = list[i].second / total;
      out.push_back(t);
      ++i;
    }
    if (i >= list.size()) break;
  }
  if (i < list.size()) {
    for (auto& t : out) t.frequency /= cum / total;  // renormalise after the cut
  }
  return out;
}

double FragAmount(const GpuNode& n, const std::vector<TypicalPod>& typical) {
  // NodeGpuShareFragAmount, bucket by bucket in the simulator's order so the floating-point
  // sums come out bit-identical.
  enum { kQ1LackBoth, kQ2LackGpu, kQ3Satisfied, kQ4LackCpu, kXLSatisfied, kXRLackCpu, kNoAccess };
  double data[7] = {0, 0, 0, 0, 0, 0, 0};
  const int64_t total = n.TotalGpuLeft();
  for (const auto& t : typical) {
    const PodShape& p = t.shape;
    int type;
    if (p.gpu_milli == 0) {
      type = n.cpu_left >= p.cpu_milli ? kXLSatisfied : kXRLackCpu;
    } else if (!Accessible(n.model, p.gpu_type)) {
      type = kNoAccess;
    } else if (CanHostOnGpus(n, p)) {
      type = n.cpu_left >= p.cpu_milli ? kQ3Satisfied : kQ4LackCpu;
    } else {
      type = n.cpu_left >= p.cpu_milli ? kQ2LackGpu : kQ1LackBoth;
    }
    if (type == kQ3Satisfied) {
      int64_t frag = 0;  // devices too small for this pod are fragments
      for (int i = 0; i < n.gpu_count; ++i) {
        int32_t left = n.gpu_left[static_cast<size_t>(i)];
        if (left < p.gpu_milli) frag += left;
      }
      data[kQ2LackGpu] += t.frequency * static_cast<double>(frag);
      data[kQ3Satisfied] += t.frequency * static_cast<double>(total - frag);
    } else {
      data[type] += t.frequency * static_cast<double>(total);
    }
  }
  double out = 0;
  for (int i = 0; i < 7; ++i) {
    if (i != kQ3Satisfied) out += data[i];
  }
  return out;
}

const char* PolicyName(Policy p) {
  switch (p) {
    case Policy::kRandom:
      return "Random";
    case Policy::kDotProduct:
      return "DotProduct";
    case Policy::kGpuClustering:
      return "GpuClustering";
    case Policy::kGpuPacking:
      return "GpuPacking";
    case Policy::kBestFit:
      return "BestFit";
    case Policy::kFGD:
      return "FGD";
  }
  return "?";
}

bool ParsePolicy(const std::string& name, Policy* out) {
  static const std::pair<const char*, Policy> kNames[] = {{"Random", Policy::kRandom},
                                                          {"random", Policy::kRandom},
                                                          {"DotProduct", Policy::kDotProduct},
                                                          {"DotProd", Policy::kDotProduct},
                                                          {"dotprod", Policy::kDotProduct},
                                                          {"GpuClustering", Policy::kGpuClustering},
                                                          {"clustering", Policy::kGpuClustering},
                                                          {"GpuPacking", Policy::kGpuPacking},
                                                          {"packing", Policy::kGpuPacking},
                                                          {"BestFit", Policy::kBestFit},
                                                          {"bestfit", Policy::kBestFit},
                                                          {"FGD", Policy::kFGD},
                                                          {"fgd", Policy::kFGD}};
  for (const auto& [n, p] : kNames) {
    if (name == n) {
      *out = p;
      return true;
    }
  }
  return false;
}

bool NormalizesScores(Policy policy) {
  return policy == Policy::kBestFit;
}

namespace {

int64_t FgdScore(const GpuNode& n, const PodShape& p, const std::vector<TypicalPod>& typical,
                 int* best_gpu) {
  const double before = FragAmount(n, typical);
  auto score_of = [&](const GpuNode& after) {
    return static_cast<int64_t>(Sigmoid((before - FragAmount(after, typical)) / 1000) *
                                static_cast<double>(kMaxNodeScore));
  };
  if (p.IsShare()) {
    int64_t best = 0;
    *best_gpu = -1;
    for (int i = 0; i < n.gpu_count; ++i) {
      if (n.gpu_left[static_cast<size_t>(i)] < p.gpu_milli) continue;
      GpuNode after = n;
      after.cpu_left -= p.cpu_milli;
      after.gpu_left[static_cast<size_t>(i)] -= p.gpu_milli;
      int64_t s = score_of(after);
      if (*best_gpu == -1 || s > best) {
        best = s;
        *best_gpu = i;
      }
    }
    return best;
  }
  return score_of(Sub(n, p));
}

}  // namespace

int64_t Score(Policy policy, const GpuNode& n, const PodShape& p,
              const std::vector<TypicalPod>& typical) {
  switch (policy) {
    case Policy::kRandom:
      return 0;
    case Policy::kFGD: {
      int gpu;
      return FgdScore(n, p, typical, &gpu);
    }
    case Policy::kDotProduct: {
      // Tetris dot product on [cpu, total GPU] normalised by the largest node spec
      // (dimExtMethod merge, normMethod max); a smaller product scores higher.
      if (n.cpu_left < p.cpu_milli) return 0;
      const double node_vec[2] = {
          static_cast<double>(n.cpu_left) / static_cast<double>(kMaxSpecCpu),
          static_cast<double>(n.TotalGpuLeft()) / static_cast<double>(kMaxSpecGpu)};
      const double pod_vec[2] = {
          static_cast<double>(p.cpu_milli) / static_cast<double>(kMaxSpecCpu),
          static_cast<double>(p.TotalGpuMilli()) / static_cast<double>(kMaxSpecGpu)};
      double dot = 0;
      for (int i = 0; i < 2; ++i) dot += node_vec[i] * pod_vec[i];
      double cur = dot / 2.0;
      cur = 1 - cur;
      return static_cast<int64_t>(static_cast<double>(kMaxNodeScore) * cur);
    }
    case Policy::kBestFit: {
      const double free_vec[2] = {static_cast<double>(n.cpu_left),
                                  static_cast<double>(n.TotalGpuLeft())};
      const double req_vec[2] = {static_cast<double>(p.cpu_milli),
                                 static_cast<double>(p.TotalGpuMilli())};
      const double spec[2] = {static_cast<double>(kMaxSpecCpu), static_cast<double>(kMaxSpecGpu)};
      double score = 0;
      for (int i = 0; i < 2; ++i) {
        if (free_vec[i] < req_vec[i]) return 0;
        score += (free_vec[i] - req_vec[i]) / spec[i] * 0.5;
      }
      score = (1.0 - score) * static_cast<double>(kMaxNodeScore);
      return static_cast<int64_t>(score);
    }
    case Policy::kGpuPacking: {
      if (p.gpu_milli <= 0) return 0;
      const int free = n.FullyFreeGpus();
      if (free == n.gpu_count) {  // a free node: last choice
        return std::max<int64_t>(kMaxNodeScore / 3 - free, free);
      }
      auto idx = SortedAscending(n);
      int need = p.num_gpu, free_used = 0;
      std::vector<int> use;
      for (int k = 0; k < n.gpu_count && need > 0; ++k) {
        int i = idx[static_cast<size_t>(k)];
        int32_t left = n.gpu_left[static_cast<size_t>(i)];
        if (p.gpu_milli <= left) {
          --need;
          use.push_back(i);
          free_used += left == kMilli;
        }
      }
      if (need != 0) return 0;
      if (free_used > 0) return std::max<int64_t>(kMaxNodeScore / 2 - free_used, kMaxNodeScore / 3);
      int64_t free_ratio = 0;
      for (int i : use) free_ratio += int64_t{n.gpu_left[static_cast<size_t>(i)]} * 100 / kMilli;
      return std::max<int64_t>(kMaxNodeScore - free_ratio / 10, kMaxNodeScore / 2);
    }
    case Policy::kGpuClustering: {
      int tag = AffinityTag(p);
      if (tag < 0) return 0;
      int64_t base = kMaxNodeScore / 4 * (kMaxSpecGpu - n.TotalGpuLeft()) / kMaxSpecGpu;
      int kinds = n.AffinityKinds();
      if (n.affinity[static_cast<size_t>(tag)] > 0) {
        return base + (kinds == 1 ? kMaxNodeScore * 3 / 4 : kMaxNodeScore * 2 / 4);
      }
      return base + (kinds == 0 ? kMaxNodeScore / 4 : 0);
    }
  }
  return 0;
}

std::vector<int> SelectGpus(Policy policy, const GpuNode& n, const PodShape& p,
                            const std::vector<TypicalPod>& typical,
                            const std::function<uint64_t(uint64_t)>& random) {
  if (p.num_gpu == 0) return {};
  if (!p.IsShare()) return FirstFreeGpus(n, p);
  if (policy == Policy::kFGD) {
    int gpu = -1;
    FgdScore(n, p, typical, &gpu);
    return {gpu};
  }
  if (policy == Policy::kRandom && random) {
    // allocateGpuIdBasedOnRandomFit: reservoir over the devices that fit.
    int chosen = -1;
    uint64_t fitting = 0;
    for (int i = 0; i < n.gpu_count; ++i) {
      if (n.gpu_left[static_cast<size_t>(i)] >= p.gpu_milli && random(++fitting) == 0) chosen = i;
    }
    return {chosen};
  }
  // Best fit: the device with the least milli-GPU left that still fits, first by index.
  int best = -1;
  for (int i = 0; i < n.gpu_count; ++i) {
    int32_t left = n.gpu_left[static_cast<size_t>(i)];
    if (left >= p.gpu_milli && (best < 0 || left < n.gpu_left[static_cast<size_t>(best)])) best = i;
  }
  return {best};
}

void Allocate(GpuNode* n, const PodShape& p, const std::vector<int>& gpus) {
  n->cpu_left -= p.cpu_milli;
  n->memory_left -= p.memory_mib;
  for (int g : gpus) n->gpu_left[static_cast<size_t>(g)] -= p.gpu_milli;
  int tag = AffinityTag(p);
  if (tag >= 0) ++n->affinity[static_cast<size_t>(tag)];
  ++n->version;
}

}  // namespace gputwin::gpushare

namespace gputwin::gpushare {

void NormalizeScores(std::vector<int64_t>* scores) {
  if (scores->empty()) return;
  int64_t hi = *std::max_element(scores->begin(), scores->end());
  int64_t lo = *std::min_element(scores->begin(), scores->end());
  for (auto& s : *scores) s = hi == lo ? 0 : (s - lo) * 100 / (hi - lo);
}

}  // namespace gputwin::gpushare
