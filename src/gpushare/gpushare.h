// GPU-sharing placement as in Alibaba's GPU-sharing clusters and the public simulator of
// "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation Gradient
// Descent" (Weng et al., ATC'23; hkust-adsl/kubernetes-scheduler-simulator): a pod asks
// for a share of one GPU (gpu_milli < 1000) or for whole GPUs; nodes keep the milli-GPU
// left on each device. Score plugins: Random, DotProduct, GpuClustering, GpuPacking,
// BestFit and FGD, each with the simulator's exact arithmetic and GPU selection.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gputwin::gpushare {

inline constexpr int32_t kMilli = 1000;
inline constexpr int kMaxGpusPerNode = 8;
inline constexpr int64_t kMaxSpecCpu = 128000;  // normalisation constants of the simulator
inline constexpr int64_t kMaxSpecGpu = 8000;

// What a pod asks for, as the simulator's PodResource (memory only filters).
struct PodShape {
  int64_t cpu_milli = 0, memory_mib = 0;
  int32_t gpu_milli = 0;  // per GPU, 0..1000
  int32_t num_gpu = 0;
  std::string gpu_type;  // "" or models joined by '|'
  bool IsShare() const { return num_gpu == 1 && gpu_milli < kMilli; }
  int64_t TotalGpuMilli() const { return int64_t{gpu_milli} * num_gpu; }
  // The fields the scores read (PodResource): cpu, milli, count, type.
  bool SameScoringShape(const PodShape& o) const {
    return cpu_milli == o.cpu_milli && gpu_milli == o.gpu_milli && num_gpu == o.num_gpu &&
           gpu_type == o.gpu_type;
  }
};

// Affinity tags of GpuClustering: share-gpu, or "<n>-gpu" for whole GPUs.
inline int AffinityTag(const PodShape& p) {
  return p.num_gpu == 0 ? -1 : p.IsShare() ? 0 : p.num_gpu;
}

struct GpuNode {
  std::string name, model;
  int64_t cpu_capacity = 0, cpu_left = 0, memory_left = 0;
  int32_t gpu_count = 0;
  std::array<int32_t, kMaxGpusPerNode> gpu_left{};      // milli-GPU left per device index
  std::array<int32_t, kMaxGpusPerNode + 1> affinity{};  // GPU pods per tag on this node
  uint32_t version = 0;  // bumped on every change: score memos compare it

  int64_t TotalGpuLeft() const;
  int FullyFreeGpus() const;
  int AffinityKinds() const;
};

// IsNodeAccessibleToPodByType: a pod with no type runs anywhere; a typed pod only on a
// node of one of its models.
bool Accessible(const std::string& node_model, const std::string& pod_type);

// The Open-Gpu-Share filter plus the default CPU/memory fit.
bool Fits(const GpuNode& n, const PodShape& p);

// Typical pods (GetTypicalPods): the most frequent pod shapes covering `threshold`% of
// all pods (added one at a time), with their renormalised frequencies.
struct TypicalPod {
  PodShape shape;
  double frequency = 0;
};
std::vector<TypicalPod> TypicalPods(const std::vector<PodShape>& pods, int threshold_percent = 95);

// The node's GPU fragmentation against the typical pods (NodeGpuShareFragAmountScore).
double FragAmount(const GpuNode& n, const std::vector<TypicalPod>& typical);

enum class Policy { kRandom, kDotProduct, kGpuClustering, kGpuPacking, kBestFit, kFGD };
const char* PolicyName(Policy p);
bool ParsePolicy(const std::string& name, Policy* out);

// A node's raw score for a pod under a policy (before NormalizeScore, which only BestFit
// uses). Random is decided by the caller (a uniform pick among feasible nodes).
int64_t Score(Policy policy, const GpuNode& n, const PodShape& p,
              const std::vector<TypicalPod>& typical);
bool NormalizesScores(Policy policy);
// The simulator's NormalizeScore: min-max to [0, 100] in integers (close scores may merge).
void NormalizeScores(std::vector<int64_t>* scores);

// Which devices the pod gets on the chosen node (the plugin's gpuSelMethod: FGD for FGD,
// random for Random, best-fit for the others). `random` draws for Random. Returns indices.
std::vector<int> SelectGpus(Policy policy, const GpuNode& n, const PodShape& p,
                            const std::vector<TypicalPod>& typical,
                            const std::function<uint64_t(uint64_t)>& random = {});

void Allocate(GpuNode* n, const PodShape& p, const std::vector<int>& gpus);

}  // namespace gputwin::gpushare
