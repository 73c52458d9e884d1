#include "core/quantity.h"

#include <algorithm>
#include <limits>
#include <string>

#include "core/ascii.h"

namespace gputwin {
namespace {

using i128 = __int128;

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

  // Exact, however many digits or whatever the exponent: value = digits × 10^exp10 × 2^exp2
  // with the point removed from the digits; milli = ceil(|value| × 1000), as MilliValue()
  // rounds (away from zero). Integer arithmetic on a bounded number of places overflowed
  // or dropped digits that the exponent made significant ("0.<36 zeros>5e40").
  auto overflow = [&]() {
    return fail("quantity \"" + std::string(str) + "\" is too large (overflows int64 milli-units)");
  };
  std::string digits(num);
  digits += denom;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  if (digits.empty()) return Quantity{0};
  int64_t exp10 = 3 - static_cast<int64_t>(denom.size()) + (base == 10 ? exp : 0);
  for (int i = 0; base == 2 && i < exp; ++i) {  // × 2, place by place
    int carry = 0;
    for (size_t k = digits.size(); k-- > 0;) {
      const int v = (digits[k] - '0') * 2 + carry;
      digits[k] = static_cast<char>('0' + v % 10);
      carry = v / 10;
    }
    if (carry) digits.insert(digits.begin(), '1');
  }
  // With no leading zero, digits × 10^exp10 >= 10^(size - 1 + exp10).
  std::string_view whole = digits;
  bool round_up = false;
  if (exp10 < 0) {
    const size_t drop = static_cast<size_t>(-exp10);
    if (drop >= digits.size()) return Quantity{positive ? 1 : -1};  // below 1m, not zero
    whole = std::string_view(digits).substr(0, digits.size() - drop);
    round_up = digits.find_first_not_of('0', whole.size()) != std::string::npos;
    exp10 = 0;
  }
  if (static_cast<int64_t>(whole.size()) + exp10 > 19) return overflow();
  i128 milli = 0;
  for (char c : whole) milli = milli * 10 + (c - '0');
  for (int64_t i = 0; i < exp10; ++i) milli *= 10;
  milli += round_up ? 1 : 0;
  if (milli > std::numeric_limits<int64_t>::max()) return overflow();
  const int64_t v = static_cast<int64_t>(milli);
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
