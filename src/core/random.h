// Seeded random streams, one per component. A stream's seed is derived from the run's
// seed and the component's name, so adding a component never shifts another's numbers.
// The generators and distributions are written out here (not <random>'s distributions,
// whose output differs between standard libraries) so results are byte-identical anywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace gputwin {

class RandomStream {
 public:
  RandomStream(uint64_t run_seed, std::string_view component) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the component name
    for (unsigned char c : component) h = (h ^ c) * 0x100000001b3ULL;
    uint64_t x = run_seed ^ h;
    for (auto& word : s_) word = SplitMix(&x);
  }

  // xoshiro256** (Blackman and Vigna).
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), unbiased (Lemire's method with rejection).
  uint64_t Below(uint64_t n) {
    if (n <= 1) return 0;
    for (;;) {
      unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
      uint64_t low = static_cast<uint64_t>(m);
      if (low >= n || low >= (0 - n) % n) return static_cast<uint64_t>(m >> 64);
    }
  }
  // Exponential with the given mean (inter-arrival times of a Poisson process).
  double Exponential(double mean) { return -std::log1p(-Uniform()) * mean; }
  // Standard normal (Box-Muller; one of the pair is discarded to keep the stream simple).
  double Normal() {
    const double u = 1.0 - Uniform(), v = Uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

}  // namespace gputwin
