// Latency percentiles over millions of requests in constant memory: a log-bucketed
// histogram, each bucket 1 % wide from 100 µs to ~33 h, so a percentile is exact to within
// 0.5 % (reported at the bucket's geometric middle). Deterministic.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace gputwin::serving {

class LatencyHistogram {
 public:
  static constexpr double kMin = 1e-4, kGrowth = 1.01;
  static constexpr int kBuckets = 2100;  // 1e-4 s × 1.01^2100 ≈ 1.2e5 s

  void Observe(double seconds) {
    ++count_;
    sum_ += seconds;
    if (seconds > max_) max_ = seconds;
    int b = 0;
    if (seconds > kMin) {
      b = 1 + static_cast<int>(std::log(seconds / kMin) / std::log(kGrowth));
      if (b >= kBuckets) b = kBuckets - 1;
    }
    if (counts_.empty()) counts_.assign(kBuckets, 0);
    ++counts_[static_cast<size_t>(b)];
  }
  uint64_t count() const { return count_; }
  double mean() const { return count_ ? sum_ / double(count_) : 0; }
  double max() const { return max_; }
  // The q-quantile (0 < q <= 1), nearest rank; 0 when empty.
  double Quantile(double q) const {
    if (count_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(std::ceil(q * double(count_)));
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += counts_[static_cast<size_t>(b)];
      if (seen >= rank && seen > 0) {
        if (b == 0) return kMin / 2;
        const double lo = kMin * std::pow(kGrowth, b - 1), hi = lo * kGrowth;
        return std::min(std::sqrt(lo * hi), max_);
      }
    }
    return max_;
  }

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0, max_ = 0;
};

}  // namespace gputwin::serving
