// The "extreme values" mutator of issue 17: setting the numbers of real manifests to the
// extremes of their types found what byte-level mutation did not (UBSan aborts, hangs, runs
// past 4 GiB). It parses the input as YAML, picks one to three scalars that look like
// numbers (integers, floats, quantities such as "9e15", durations such as "2562047h") and
// writes a type extreme in their place, leaving every other byte as it was; otherwise it
// falls back to libFuzzer's own mutations.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "api/yaml_reader.h"
#include "core/errors.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace gputwin::fuzz {

enum class NumberKind { kNone, kInteger, kFloat, kQuantity, kDuration };

inline bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// What a scalar's text looks like: only the shape matters, the decoder decides the rest.
inline NumberKind Classify(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s.empty() || !(IsDigit(s[0]) || (s[0] == '.' && s.size() > 1 && IsDigit(s[1])))) {
    return NumberKind::kNone;
  }
  size_t i = 0;
  bool dot = false, exponent = false;
  while (i < s.size() && (IsDigit(s[i]) || s[i] == '.')) dot |= s[i++] == '.';
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E') && i + 1 < s.size() &&
      (IsDigit(s[i + 1]) || s[i + 1] == '-' || s[i + 1] == '+')) {
    exponent = true;
    ++i;
    if (s[i] == '-' || s[i] == '+') ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i == s.size()) return dot || exponent ? NumberKind::kFloat : NumberKind::kInteger;
  const std::string_view rest = s.substr(i);
  static constexpr std::string_view kSuffixes[] = {"n", "u",  "m",  "k",  "M",  "G",  "T", "P",
                                                   "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  for (auto suffix : kSuffixes) {
    if (rest == suffix) return NumberKind::kQuantity;  // "5m" may be minutes: types mix below
  }
  // Go durations: digits and units (ns us ms s m h) repeated; "m" is both.
  if (rest.find_first_not_of("0123456789.nsuµmh") == std::string_view::npos) {
    return NumberKind::kDuration;
  }
  return NumberKind::kNone;
}

inline const std::vector<std::string>& Extremes(NumberKind kind) {
  static const std::vector<std::string> kInteger = {"9223372036854775807",
                                                    "-9223372036854775808",
                                                    "9223372036854775808",
                                                    "18446744073709551615",
                                                    "2147483647",
                                                    "2147483648",
                                                    "-2147483648",
                                                    "4294967295",
                                                    "4294967296",
                                                    "0",
                                                    "-1",
                                                    "1",
                                                    "1e23"};
  static const std::vector<std::string> kFloat = {"1e308",  "-1e308",  "1.7976931348623157e308",
                                                  "5e-324", "-5e-324", "1e-300",
                                                  ".nan",   "nan",     ".inf",
                                                  "-.inf",  "0.0",     "-0.0",
                                                  "1e400",  "9.3e18"};
  static const std::vector<std::string> kQuantity = {"9223372036854775807",
                                                     "9223372036854775807m",
                                                     "-9223372036854775807m",
                                                     "9e15",
                                                     "9e18",
                                                     "8Ei",
                                                     "16Ei",
                                                     "1n",
                                                     "-1",
                                                     "0",
                                                     "0.000000001",
                                                     "1e1000",
                                                     "9223372036854775807k",
                                                     "1Ei",
                                                     "1e-1000",
                                                     "-9e18"};
  static const std::vector<std::string> kDuration = {"2562047h",
                                                     "2562047h47m16.854775807s",
                                                     "-2562047h47m16.854775808s",
                                                     "2562048h",
                                                     "9223372036854775807ns",
                                                     "1ns",
                                                     "0s",
                                                     "-1ns",
                                                     "0.000000001s",
                                                     "1ns1ns",
                                                     "-2562047h",
                                                     "9223372036854775.807ms",
                                                     "1000000000000000000000h"};
  switch (kind) {
    case NumberKind::kInteger:
      return kInteger;
    case NumberKind::kFloat:
      return kFloat;
    case NumberKind::kQuantity:
      return kQuantity;
    case NumberKind::kDuration:
      return kDuration;
    case NumberKind::kNone:
      break;
  }
  return kInteger;
}

struct NumberSite {
  size_t pos, length;
  NumberKind kind;
};

// The numeric scalars of `text` whose bytes can be found where the parser saw them (a
// plain or quoted scalar on one line, after an anchor if any).
inline std::vector<NumberSite> FindNumbers(const std::string& text) {
  std::vector<NumberSite> out;
  std::vector<YAML::Node> docs;
  try {
    docs = api::LoadAllDocuments(text, "mutator");  // not YAML::LoadAll: it can loop forever
  } catch (const InputError&) {
    return out;
  }
  size_t budget = 20'000;  // aliases can make a tree far larger than the text
  std::vector<YAML::Node> stack(docs.rbegin(), docs.rend());
  while (!stack.empty() && budget-- > 0) {
    YAML::Node n = stack.back();
    stack.pop_back();
    if (n.IsMap()) {
      for (const auto& kv : n) stack.push_back(kv.second);
      continue;
    }
    if (n.IsSequence()) {
      for (const auto& c : n) stack.push_back(c);
      continue;
    }
    if (!n.IsScalar()) continue;
    const std::string& s = n.Scalar();
    const NumberKind kind = Classify(s);
    if (kind == NumberKind::kNone || n.Mark().pos < 0) continue;
    size_t pos = static_cast<size_t>(n.Mark().pos);
    if (pos < text.size() && text[pos] == '&') {  // an anchor before the value
      pos = text.find_first_of(" \t\n", pos);
      if (pos == std::string::npos) continue;
      pos = text.find_first_not_of(" \t", pos);
      if (pos == std::string::npos) continue;
    }
    if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) ++pos;
    if (text.compare(pos, s.size(), s) != 0) continue;
    out.push_back({pos, s.size(), kind});
  }
  std::sort(out.begin(), out.end(),
            [](const NumberSite& a, const NumberSite& b) { return a.pos < b.pos; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const NumberSite& a, const NumberSite& b) { return a.pos == b.pos; }),
            out.end());
  return out;
}

// Half the time, or when no number is found, libFuzzer's own mutations.
inline size_t MutateExtremes(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  std::minstd_rand rng(seed);
  if (rng() % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<NumberSite> sites = FindNumbers(text);
  if (sites.empty()) return LLVMFuzzerMutate(data, size, max_size);
  // One to three sites, written back to front so earlier positions stay valid.
  std::shuffle(sites.begin(), sites.end(), rng);
  sites.resize(std::min<size_t>(sites.size(), 1 + rng() % 3));
  std::sort(sites.begin(), sites.end(),
            [](const NumberSite& a, const NumberSite& b) { return a.pos > b.pos; });
  for (const auto& site : sites) {
    // Mostly the extremes of the scalar's own type, sometimes another type's.
    const NumberKind kind = rng() % 4 == 0 ? static_cast<NumberKind>(1 + rng() % 4) : site.kind;
    const auto& values = Extremes(kind);
    text.replace(site.pos, site.length, values[rng() % values.size()]);
  }
  if (text.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, text.data(), text.size());
  return text.size();
}

}  // namespace gputwin::fuzz
