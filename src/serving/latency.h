// Latency percentiles over millions of requests in constant memory: a log-bucketed
// histogram, each bucket 1 % wide from 100 µs to ~33 h, so a percentile is exact to within
// 0.5 % (reported at the bucket's geometric middle). Deterministic.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace gputwin::serving {

class LatencyHistogram {
 public:
  static constexpr double kMin = 1e-4, kGrowth = 1.01;
  static constexpr int kBuckets = 2100;  // 1e-4 s × 1.01^2100 ≈ 1.2e5 s

  // Bucket 0 holds values up to kMin; bucket b >= 1 holds [kMin·g^(b-1), kMin·g^b).
  void Observe(double seconds) {
    ++count_;
    sum_ += seconds;
    if (seconds > max_) max_ = seconds;
    if (counts_.empty()) counts_.assign(kBuckets, 0);
    ++counts_[static_cast<size_t>(Bucket(seconds))];
  }
  uint64_t count() const { return count_; }
  void Clear() {
    if (count_ == 0) return;
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    sum_ = max_ = 0;
  }
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
        const double lo = Edges().lower[static_cast<size_t>(b)], hi = lo * kGrowth;
        return std::min(std::sqrt(lo * hi), max_);
      }
    }
    return max_;
  }

 private:
  // Four observations per request: the bucket comes from the double's exponent and top 7
  // mantissa bits (a sub-octave 1/128 wide, narrower than a 1 % bucket) looked up in a
  // table, then one comparison with the next bucket's edge; no logarithm.
  static constexpr int kKeyShift = 45;  // 52 mantissa bits - 7
  struct Table {
    std::vector<double> lower;    // lower[b]: the bucket's lower edge (b >= 1)
    std::vector<uint16_t> first;  // bucket of each sub-octave's smallest value
    uint64_t base = 0;            // key of kMin's sub-octave
    Table() {
      lower.resize(kBuckets + 1, 0);
      for (int b = 1; b <= kBuckets; ++b) {
        lower[static_cast<size_t>(b)] = kMin * std::pow(kGrowth, b - 1);
      }
      base = std::bit_cast<uint64_t>(kMin) >> kKeyShift;
      const uint64_t top = std::bit_cast<uint64_t>(lower[kBuckets]) >> kKeyShift;
      first.resize(static_cast<size_t>(top - base + 1));
      for (uint64_t k = base; k <= top; ++k) {
        const double v = std::bit_cast<double>(k << kKeyShift);
        // The last edge <= v.
        const auto it = std::upper_bound(lower.begin() + 1, lower.end(), v);
        first[static_cast<size_t>(k - base)] =
            static_cast<uint16_t>(std::max<ptrdiff_t>(0, it - lower.begin() - 1));
      }
    }
  };
  static const Table& Edges() {
    static const Table table;
    return table;
  }

 public:
  static int Bucket(double v) {
    if (!(v > kMin)) return 0;
    const Table& t = Edges();
    const uint64_t k = (std::bit_cast<uint64_t>(v) >> kKeyShift) - t.base;
    if (k >= t.first.size()) return kBuckets - 1;
    int b = t.first[static_cast<size_t>(k)];
    if (b + 1 < kBuckets && v >= t.lower[static_cast<size_t>(b + 1)]) ++b;
    return std::clamp(b, 1, kBuckets - 1);
  }

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0, max_ = 0;
};

}  // namespace gputwin::serving
