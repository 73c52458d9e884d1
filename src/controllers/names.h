// Object names as the upstream controllers make them.
#pragma once

#include <cstdint>
#include <string>

namespace gputwin::controllers {

// A 5-character suffix from apimachinery's rand.String alphabet (no vowels, no
// confusable digits), derived from a counter so runs are reproducible.
inline std::string NameSuffix(uint64_t seed, uint64_t n, int len = 5) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  uint64_t x = seed ^ (n * 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  std::string out;
  for (int i = 0; i < len; ++i) {
    out.push_back(kAlphabet[x % 27]);
    x /= 27;
  }
  return out;
}

inline uint64_t HashString(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace gputwin::controllers
