// The six GPU-sharing score plugins on a 3-node toy case, every score worked out by hand
// from the public simulator's formulas (hkust-adsl/kubernetes-scheduler-simulator,
// pkg/simulator/plugin/*_score.go, pkg/utils/frag.go).
//
//   node A: T4, 16 CPU (12 left), GPUs [600, 1000] milli left, one share pod on it
//   node B: T4, 16 CPU (16 left), GPUs [1000, 1000]
//   node C: T4, 32 CPU (24 left), GPUs [0, 1000, 1000, 1000], one 1-GPU pod on it
//   pod P:  2 CPU, 500 milli of one GPU
#include <gtest/gtest.h>

#include "gpushare/gpushare.h"

namespace gputwin::gpushare {
namespace {

GpuNode Node(const char* name, int64_t cpu_cap, int64_t cpu_left, std::vector<int32_t> gpus) {
  GpuNode n;
  n.name = name;
  n.model = "T4";
  n.cpu_capacity = cpu_cap;
  n.cpu_left = cpu_left;
  n.memory_left = 64 * 1024;
  n.gpu_count = static_cast<int32_t>(gpus.size());
  for (size_t i = 0; i < gpus.size(); ++i) n.gpu_left[i] = gpus[i];
  return n;
}

struct Toy : ::testing::Test {
  GpuNode a = Node("A", 16000, 12000, {600, 1000});
  GpuNode b = Node("B", 16000, 16000, {1000, 1000});
  GpuNode c = Node("C", 32000, 24000, {0, 1000, 1000, 1000});
  PodShape p;
  void SetUp() override {
    a.affinity[0] = 1;  // a share-gpu pod
    c.affinity[1] = 1;  // a 1-gpu pod
    p.cpu_milli = 2000;
    p.memory_mib = 1024;
    p.gpu_milli = 500;
    p.num_gpu = 1;
  }
};

TEST_F(Toy, DotProduct) {
  // int(100 × (1 − (cpuLeft/128000 · cpu/128000 + gpuLeft/8000 · gpu/8000) / 2))
  EXPECT_EQ(Score(Policy::kDotProduct, a, p, {}), 99);  // 1 − 0.0139648/2 = 0.99302
  EXPECT_EQ(Score(Policy::kDotProduct, b, p, {}), 99);  // 1 − 0.0175781/2 = 0.99121
  EXPECT_EQ(Score(Policy::kDotProduct, c, p, {}), 98);  // 1 − 0.0263672/2 = 0.98682
  PodShape big = p;
  big.cpu_milli = 10000;  // A: 0.99009 → 99, B: 0.98730 → 98, C: 0.98096 → 98
  EXPECT_EQ(Score(Policy::kDotProduct, a, big, {}), 99);
  EXPECT_EQ(Score(Policy::kDotProduct, b, big, {}), 98);
  EXPECT_EQ(Score(Policy::kDotProduct, c, big, {}), 98);
  // Best-fit device: the one with the least left that still fits.
  EXPECT_EQ(SelectGpus(Policy::kDotProduct, a, p, {}), std::vector<int>{0});
  EXPECT_EQ(SelectGpus(Policy::kDotProduct, c, p, {}), std::vector<int>{1});
}

TEST_F(Toy, BestFit) {
  // (1 − Σ (free − req)/maxSpec × 0.5) × 100: A 89.22, B 85.16, C 75.78.
  EXPECT_EQ(Score(Policy::kBestFit, a, p, {}), 89);
  EXPECT_EQ(Score(Policy::kBestFit, b, p, {}), 85);
  EXPECT_EQ(Score(Policy::kBestFit, c, p, {}), 75);
  EXPECT_TRUE(NormalizesScores(Policy::kBestFit));  // then A 100, B 71, C 0
}

TEST_F(Toy, GpuPacking) {
  // A: a shared device fits: 100 − (600·100/1000)/10 = 94. B: a free node: 33 − 2 = 31.
  // C: needs a fully free device on a used node: max(50 − 1, 33) = 49.
  EXPECT_EQ(Score(Policy::kGpuPacking, a, p, {}), 94);
  EXPECT_EQ(Score(Policy::kGpuPacking, b, p, {}), 31);
  EXPECT_EQ(Score(Policy::kGpuPacking, c, p, {}), 49);
}

TEST_F(Toy, GpuClustering) {
  // base = 25 · (8000 − GPU left) / 8000; same sole affinity +75, no affinity +25,
  // other affinities +0.
  EXPECT_EQ(Score(Policy::kGpuClustering, a, p, {}), 20 + 75);
  EXPECT_EQ(Score(Policy::kGpuClustering, b, p, {}), 18 + 25);
  EXPECT_EQ(Score(Policy::kGpuClustering, c, p, {}), 15 + 0);
}

TEST_F(Toy, FragmentationGradientDescent) {
  // Typical pods: half like P, half 4 CPU + one whole GPU.
  PodShape whole;
  whole.cpu_milli = 4000;
  whole.gpu_milli = 1000;
  whole.num_gpu = 1;
  std::vector<TypicalPod> typical = {{p, 0.5}, {whole, 0.5}};
  // Fragment of A: P fits (nothing below 500 left); a whole GPU fits and the 600 device is
  // its fragment: 0.5 × 600 = 300.
  EXPECT_DOUBLE_EQ(FragAmount(a, typical), 300);
  EXPECT_DOUBLE_EQ(FragAmount(b, typical), 0);
  EXPECT_DOUBLE_EQ(FragAmount(c, typical), 0);
  // P on A's device 0 leaves [100, 1000]: fragment 0.5·100 + 0.5·100 = 100, gain 200 →
  // sigmoid(0.2) = 0.5498 → 54. On device 1 ([600, 500]) no whole GPU is left: 0.5·1100 =
  // 550, gain −250 → sigmoid(−0.25) = 0.4378 → 43. A scores 54 on device 0.
  EXPECT_EQ(Score(Policy::kFGD, a, p, typical), 54);
  EXPECT_EQ(SelectGpus(Policy::kFGD, a, p, typical), std::vector<int>{0});
  // B and C: P leaves a 500 fragment for whole-GPU pods: gain −250 → 43.
  EXPECT_EQ(Score(Policy::kFGD, b, p, typical), 43);
  EXPECT_EQ(Score(Policy::kFGD, c, p, typical), 43);
}

TEST_F(Toy, FilterAndTypes) {
  EXPECT_TRUE(Fits(a, p));
  PodShape two = p;
  two.gpu_milli = 1000;
  two.num_gpu = 2;
  EXPECT_FALSE(Fits(a, two));  // only one fully free device
  EXPECT_TRUE(Fits(b, two));
  EXPECT_EQ(SelectGpus(Policy::kBestFit, c, two, {}), (std::vector<int>{1, 2}));
  PodShape typed = p;
  typed.gpu_type = "V100M16|V100M32";
  EXPECT_FALSE(Fits(a, typed));
  typed.gpu_type = "V100M16|T4";
  EXPECT_TRUE(Fits(a, typed));
  PodShape hungry = p;
  hungry.cpu_milli = 13000;
  EXPECT_FALSE(Fits(a, hungry));
  EXPECT_TRUE(Accessible("", ""));
  EXPECT_FALSE(Accessible("", "T4"));
}

TEST(TypicalPods, MostFrequentShapesUpToThreshold) {
  // GetTypicalPods: shapes by decreasing count, added one at a time until 95% of pods are
  // covered, then renormalised. 10 pods: 6 × X, 3 × Y, 1 × Z → X and Y cover 90% < 95%,
  // so Z is added too: 100%, frequencies 0.6, 0.3, 0.1.
  PodShape x, y, z;
  x.cpu_milli = 1000;
  y.cpu_milli = 2000;
  z.cpu_milli = 3000;
  std::vector<PodShape> pods(6, x);
  pods.insert(pods.end(), 3, y);
  pods.push_back(z);
  auto t = TypicalPods(pods, 95);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_DOUBLE_EQ(t[0].frequency, 0.6);
  EXPECT_EQ(t[2].shape.cpu_milli, 3000);
  // At 80% X and Y suffice (90%) and are renormalised to 2/3 and 1/3.
  auto t80 = TypicalPods(pods, 80);
  ASSERT_EQ(t80.size(), 2u);
  EXPECT_DOUBLE_EQ(t80[0].frequency, 0.6 / 0.9);
}

}  // namespace
}  // namespace gputwin::gpushare
