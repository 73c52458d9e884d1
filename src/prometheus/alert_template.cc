#include "prometheus/alert_template.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <regex>
#include <stdexcept>

namespace gputwin::prometheus {
namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// Prometheus's humanize: SI prefixes, four significant digits.
std::string Humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return fmt::format("{:.4g}", v);
  static const char* big[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
  static const char* small[] = {"", "m", "u", "n", "p", "f", "a", "z", "y"};
  int i = 0;
  if (std::fabs(v) >= 1) {
    while (std::fabs(v) >= 1000 && i < 8) v /= 1000, ++i;
    return fmt::format("{:.4g}{}", v, big[i]);
  }
  while (std::fabs(v) < 1 && i < 8) v *= 1000, ++i;
  return fmt::format("{:.4g}{}", v, small[i]);
}

}  // namespace

std::string RenderTemplate(const std::string& text, const telemetry::Labels& labels, double value) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == std::string::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, open - i);
    const size_t close = text.find("}}", open);
    if (close == std::string::npos) throw std::invalid_argument("unclosed {{ in template");
    std::string action = text.substr(open + 2, close - open - 2);
    if (!action.empty() && action.front() == '-') action.erase(0, 1);
    if (!action.empty() && action.back() == '-') action.pop_back();
    while (!action.empty() && action.front() == ' ') action.erase(0, 1);
    while (!action.empty() && action.back() == ' ') action.pop_back();
    static const std::regex label_re(R"(\$labels\.([A-Za-z_][A-Za-z0-9_]*))");
    static const std::regex printf_re(
        R"re(printf\s+"(%[-+ 0#]*[0-9]*(\.[0-9]+)?[fgde])"\s+\$value)re");
    std::smatch m;
    if (std::regex_match(action, m, label_re)) {
      auto it = labels.find(m[1].str());
      out += it == labels.end() ? "" : it->second;
    } else if (action == "$value") {
      out += FormatValue(value);
    } else if (action == "humanize $value") {
      out += Humanize(value);
    } else if (action == "humanizePercentage $value") {
      out += fmt::format("{:.4g}%", value * 100);
    } else if (std::regex_match(action, m, printf_re)) {
      const std::string spec = m[1].str();
      // Go's fmt takes a width or precision up to 10^6 (larger ones print %!(BADWIDTH) or
      // %!(BADPREC)); C's printf would try to allocate them. Each run of digits is one.
      int64_t number = 0;
      for (char c : spec) {
        number = c >= '0' && c <= '9' ? number * 10 + (c - '0') : 0;
        if (number > 1'000'000) {
          throw std::invalid_argument("printf width or precision past 1000000 in \"{{" + action +
                                      "}}\" (Go's fmt prints %!(BADWIDTH) or %!(BADPREC))");
        }
      }
      const int n = std::snprintf(nullptr, 0, spec.c_str(), value);
      std::string formatted(static_cast<size_t>(std::max(n, 0)), '\0');
      std::snprintf(formatted.data(), formatted.size() + 1, spec.c_str(), value);
      out += formatted;
    } else {
      throw std::invalid_argument("template action \"{{" + action +
                                  "}}\" is not in the twin's subset ($labels.NAME, $value, "
                                  "humanize, humanizePercentage, printf)");
    }
    i = close + 2;
  }
  return out;
}

}  // namespace gputwin::prometheus
