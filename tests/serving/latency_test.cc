// The latency histogram's buckets: 1 % wide from 100 µs, found by table lookup instead of a
// logarithm; checked against the definition b = 1 + floor(ln(v / 100 µs) / ln 1.01).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "serving/latency.h"

namespace gputwin::serving {
namespace {

using H = LatencyHistogram;

TEST(LatencyHistogramTest, BucketMatchesTheLogarithmicDefinition) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-4.5, 5.0);
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    const double v = std::pow(10.0, exponent(rng));
    const double l = std::log(v / H::kMin) / std::log(H::kGrowth);
    // Within rounding of an edge either neighbour is right.
    if (std::abs(l - std::round(l)) < 1e-9) continue;
    int want = v <= H::kMin ? 0 : 1 + static_cast<int>(std::floor(l));
    want = std::min(want, H::kBuckets - 1);
    ASSERT_EQ(H::Bucket(v), want) << v;
    ++checked;
  }
  EXPECT_GT(checked, 199000);
}

TEST(LatencyHistogramTest, EdgesAndExtremes) {
  EXPECT_EQ(H::Bucket(0), 0);
  EXPECT_EQ(H::Bucket(-1), 0);
  EXPECT_EQ(H::Bucket(H::kMin), 0);
  EXPECT_EQ(H::Bucket(std::nextafter(H::kMin, 1.0)), 1);
  // 1e-4 × 1.01^100 ≈ 2.7048e-4 starts bucket 101.
  EXPECT_EQ(H::Bucket(1e-4 * std::pow(1.01, 100) * (1 + 1e-12)), 101);
  EXPECT_EQ(H::Bucket(1e-4 * std::pow(1.01, 100) * (1 - 1e-12)), 100);
  EXPECT_EQ(H::Bucket(1e9), H::kBuckets - 1);
  EXPECT_EQ(H::Bucket(INFINITY), H::kBuckets - 1);
}

TEST(LatencyHistogramTest, PercentilesWithinHalfAPercent) {
  // 1..1000 ms evenly: p50 = 500 ms, p99 = 990 ms (nearest rank), each within 0.5 %.
  H h;
  for (int ms = 1; ms <= 1000; ++ms) h.Observe(ms / 1000.0);
  EXPECT_NEAR(h.Quantile(0.5), 0.500, 0.500 * 0.005);
  EXPECT_NEAR(h.Quantile(0.99), 0.990, 0.990 * 0.005);
  // The bucket's middle, never above the largest value seen.
  EXPECT_NEAR(h.Quantile(1.0), 1.0, 0.005);
  EXPECT_LE(h.Quantile(1.0), 1.0);
  H one;
  one.Observe(0.0123);
  EXPECT_LE(one.Quantile(0.5), 0.0123);
  EXPECT_NEAR(one.Quantile(0.5), 0.0123, 0.0123 * 0.005);
  EXPECT_EQ(h.count(), 1000u);
}

}  // namespace
}  // namespace gputwin::serving
