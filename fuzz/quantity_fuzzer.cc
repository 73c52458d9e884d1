// Kubernetes quantities (core/quantity.h). Besides crashes and sanitizer reports, checks the
// properties apimachinery's resource.Quantity guarantees for what the twin holds:
//   - the value is exact: ceil(value × 1000), rounded away from zero as MilliValue() does,
//     checked against a slow decimal reference below;
//   - parse(format(q)) == q, with and without binary suffixes, for every parsed q and for
//     any int64 milli-value;
//   - a sign changes only the sign: parse("-" + s) == -parse(s), parse("+" + s) == parse(s).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/quantity.h"

namespace {

using gputwin::FormatQuantity;
using gputwin::ParseQuantity;
using gputwin::Quantity;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::abort();
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// The magnitude of ceil(|value| × 1000) as decimal digits (no leading zeros, "0" for zero),
// computed digit by digit: no limit on the input's length or exponent. nullopt when `s` is
// not a quantity the reference understands (the grammar is the parser's to check).
struct Reference {
  bool negative = false;
  std::string digits;  // the milli-value's magnitude
};
std::optional<Reference> ReferenceParse(std::string_view s) {
  Reference r;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) r.negative = s[i++] == '-';
  std::string mantissa;
  long long point = -1;  // digits after the point
  for (; i < s.size() && (IsDigit(s[i]) || s[i] == '.'); ++i) {
    if (s[i] == '.') {
      if (point >= 0) return std::nullopt;
      point = 0;
      continue;
    }
    mantissa += s[i];
    if (point >= 0) ++point;
  }
  if (mantissa.empty()) return std::nullopt;
  const std::string_view suffix = s.substr(i);
  long long exp10 = -(point < 0 ? 0 : point) + 3, exp2 = 0;
  static constexpr struct {
    std::string_view name;
    int exp10, exp2;
  } kTable[] = {{"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},
                {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},   {"T", 12, 0},
                {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
                {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60}};
  bool known = false;
  for (const auto& e : kTable) {
    if (e.name == suffix) {
      exp10 += e.exp10;
      exp2 = e.exp2;
      known = true;
    }
  }
  if (!known) {
    if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) return std::nullopt;
    size_t j = 1;
    const bool neg = suffix[j] == '-';
    if (suffix[j] == '-' || suffix[j] == '+') ++j;
    if (j == suffix.size() || suffix.size() - j > 6) return std::nullopt;
    long long e = 0;
    for (; j < suffix.size(); ++j) {
      if (!IsDigit(suffix[j])) return std::nullopt;
      e = e * 10 + (suffix[j] - '0');
    }
    exp10 += neg ? -e : e;
  }
  // mantissa × 2^exp2, digit by digit (most significant first).
  for (long long k = 0; k < exp2; ++k) {
    int carry = 0;
    for (size_t d = mantissa.size(); d-- > 0;) {
      const int v = (mantissa[d] - '0') * 2 + carry;
      mantissa[d] = static_cast<char>('0' + v % 10);
      carry = v / 10;
    }
    if (carry) mantissa.insert(mantissa.begin(), static_cast<char>('0' + carry));
  }
  mantissa.erase(0, std::min(mantissa.find_first_not_of('0'), mantissa.size()));
  if (mantissa.empty()) {
    r.digits = "0";
    return r;
  }
  if (exp10 >= 0) {
    if (exp10 > 40) exp10 = 40;  // far past int64 either way
    r.digits = mantissa + std::string(static_cast<size_t>(exp10), '0');
    return r;
  }
  // Drop -exp10 digits, rounding up when any dropped digit is not zero.
  const size_t drop = static_cast<size_t>(-exp10);
  std::string whole = drop >= mantissa.size() ? "0" : mantissa.substr(0, mantissa.size() - drop);
  const std::string dropped = drop >= mantissa.size() ? mantissa : mantissa.substr(whole.size());
  if (dropped.find_first_not_of('0') != std::string::npos) {
    size_t d = whole.size();
    while (d > 0 && whole[d - 1] == '9') whole[--d] = '0';
    if (d == 0) {
      whole.insert(whole.begin(), '1');
    } else {
      ++whole[d - 1];
    }
  }
  whole.erase(0, std::min(whole.find_first_not_of('0'), whole.size() - 1));
  r.digits = whole;
  return r;
}

std::string Digits(int64_t v) {
  // |v| as digits, INT64_MIN included.
  const uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  return std::to_string(u);
}

void CheckRoundTrip(Quantity q, const std::string& origin) {
  for (bool binary : {false, true}) {
    const std::string text = FormatQuantity(q, binary);
    std::string error;
    auto back = ParseQuantity(text, &error);
    if (!back || *back != q) {
      Fail("round trip: " + origin + " -> milli " + std::to_string(q.milli) + " -> \"" + text +
           "\" -> " + (back ? std::to_string(back->milli) : "error: " + error));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Any int64 milli-value formats to text that parses back to it (INT64_MIN has no
  // positive counterpart and is never produced by parsing).
  if (size >= 8) {
    int64_t milli = 0;
    std::memcpy(&milli, data, 8);
    if (milli != std::numeric_limits<int64_t>::min()) CheckRoundTrip(Quantity{milli}, "int64");
  }
  const std::string s(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto q = ParseQuantity(s, &error);
  if (!q) {
    if (error.empty()) Fail("no error for \"" + s + "\"");
    // Refused as too large: the reference must agree that it is.
    if (error.find("too large") != std::string::npos) {
      if (auto ref = ReferenceParse(s); ref && ref->digits.size() < 19) {
        Fail("\"" + s + "\" refused as too large, but it is " + ref->digits + "m");
      }
    }
    return 0;
  }
  if (auto ref = ReferenceParse(s)) {
    const bool negative = ref->negative && ref->digits != "0";
    if (Digits(q->milli) != ref->digits || (q->milli < 0) != negative) {
      Fail("\"" + s + "\" parsed as " + std::to_string(q->milli) + "m, exactly it is " +
           (negative ? "-" : "") + ref->digits + "m");
    }
  }
  CheckRoundTrip(*q, "\"" + s + "\"");
  if (!s.empty() && s[0] != '-' && s[0] != '+') {
    auto neg = ParseQuantity("-" + s, nullptr);
    auto pos = ParseQuantity("+" + s, nullptr);
    if (!neg || neg->milli != -q->milli || !pos || *pos != *q) {
      Fail("sign: \"" + s + "\" is " + std::to_string(q->milli) + "m but with a sign it is " +
           (neg ? std::to_string(neg->milli) : "refused") + " / " +
           (pos ? std::to_string(pos->milli) : "refused"));
    }
  }
  return 0;
}
