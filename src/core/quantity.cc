#include "core/quantity.h"

#include <limits>

namespace gputwin {
namespace {

using i128 = __int128;
constexpr i128 kLimit = static_cast<i128>(1) << 120;  // headroom before any multiply

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
constexpr const char* kFormatWrong =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

// interpretSuffix from apimachinery's suffix.go: base 10 or base 2 and the exponent.
bool InterpretSuffix(std::string_view s, int* base, int* exp) {
  struct Entry {
    std::string_view name;
    int base, exp;
  };
  static constexpr Entry kTable[] = {{"", 10, 0},   {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3},
                                     {"k", 10, 3},  {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12},
                                     {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
                                     {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60}};
  for (const auto& e : kTable) {
    if (e.name == s) {
      *base = e.base;
      *exp = e.exp;
      return true;
    }
  }
  // Decimal exponent: e/E followed by a signed integer.
  if (s.size() >= 2 && (s[0] == 'e' || s[0] == 'E')) {
    size_t i = 1;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') {
      neg = s[i] == '-';
      ++i;
    }
    if (i >= s.size()) return false;
    int v = 0;
    for (; i < s.size(); ++i) {
      if (!IsDigit(s[i])) return false;
      v = v * 10 + (s[i] - '0');
      if (v > 1000) return false;
    }
    *base = 10;
    *exp = neg ? -v : v;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Quantity> ParseQuantity(std::string_view str, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Quantity> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (str.empty()) return fail(kFormatWrong);
  size_t pos = 0, end = str.size();
  bool positive = true;
  if (str[0] == '-' || str[0] == '+') {
    positive = str[0] == '+';
    ++pos;
  }
  // The numerator and optional denominator digits; then the suffix.
  std::string_view num, denom;
  size_t start = pos;
  while (pos < end && IsDigit(str[pos])) ++pos;
  num = str.substr(start, pos - start);
  if (pos < end && str[pos] == '.') {
    ++pos;
    start = pos;
    while (pos < end && IsDigit(str[pos])) ++pos;
    denom = str.substr(start, pos - start);
  }
  if (num.empty() && denom.empty()) {
    // apimachinery accepts "" numerators as 0 only when followed by nothing else;
    // a bare sign, "." or a suffix alone does not match its regular expression.
    return fail(kFormatWrong);
  }
  size_t suffix_start = pos;
  while (pos < end && std::string_view("eEinumkKMGTP").find(str[pos]) != std::string_view::npos) {
    ++pos;
  }
  if (pos < end && (str[pos] == '-' || str[pos] == '+')) ++pos;
  while (pos < end && IsDigit(str[pos])) ++pos;
  if (pos != end) return fail(kFormatWrong);
  std::string_view suffix = str.substr(suffix_start);
  int base = 10, exp = 0;
  if (!InterpretSuffix(suffix, &base, &exp)) return fail("unable to parse quantity's suffix");

  // Exact rational arithmetic: value = digits / 10^len(denom) × base^exp; milli = ceil(value×1000).
  i128 n = 0, d = 1;
  auto overflow = [&]() {
    return fail("quantity \"" + std::string(str) + "\" is too large (overflows int64 milli-units)");
  };
  for (char c : num) {
    n = n * 10 + (c - '0');
    if (n > kLimit) return overflow();
  }
  for (char c : denom) {
    if (d > kLimit / 10) break;  // digits beyond ~36 places only round up below
    n = n * 10 + (c - '0');
    d *= 10;
    if (n > kLimit) return overflow();
  }
  n *= 1000;
  if (base == 10) {
    for (int i = 0; i < exp; ++i) {
      n *= 10;
      if (n > kLimit) return overflow();
    }
    for (int i = 0; i > exp; --i) {
      if (d > kLimit / 10) {
        n = n > 0 ? 1 : 0;  // far below one milli-unit: rounds up to 1m if non-zero
        d = 1;
        break;
      }
      d *= 10;
    }
  } else {
    for (int i = 0; i < exp; ++i) {
      n *= 2;
      if (n > kLimit) return overflow();
    }
  }
  i128 milli = (n + d - 1) / d;  // round up, as MilliValue() does
  if (milli > std::numeric_limits<int64_t>::max()) return overflow();
  int64_t v = static_cast<int64_t>(milli);
  return Quantity{positive ? v : -v};
}

std::string FormatQuantity(Quantity q, bool binary) {
  if (q.milli % 1000 != 0) return std::to_string(q.milli) + "m";
  int64_t v = q.milli / 1000;
  if (binary && v != 0) {
    static constexpr const char* kSuffix[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int k = -1;
    int64_t w = v;
    while (w % 1024 == 0 && k < 5) {
      w /= 1024;
      ++k;
    }
    if (k >= 0) return std::to_string(w) + kSuffix[k];
  }
  return std::to_string(v);
}

}  // namespace gputwin
