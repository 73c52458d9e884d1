// Kubernetes resource quantities ("500m", "2", "32Gi", "1.5G", "1e3"), parsed with the
// grammar of k8s.io/apimachinery/pkg/api/resource and held exactly as milli-units.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gputwin {

struct Quantity {
  int64_t milli = 0;  // value × 1000, rounded up as MilliValue() does

  // Value() in Kubernetes: the whole-unit value, rounded up (without adding 999, which
  // overflowed near the int64 range).
  int64_t Value() const { return milli / 1000 + (milli % 1000 > 0 ? 1 : 0); }
  bool IsInteger() const { return milli % 1000 == 0; }
  auto operator<=>(const Quantity&) const = default;
};

// Parses like resource.ParseQuantity. Errors use apimachinery's wording
// ("quantities must match the regular expression ...", "unable to parse quantity's suffix")
// or say that the value overflows the twin's int64 milli-units.
std::optional<Quantity> ParseQuantity(std::string_view s, std::string* error);

// Canonical-ish text: "500m", "2", "32Gi" (binary suffix when `binary` and exact).
std::string FormatQuantity(Quantity q, bool binary = false);

}  // namespace gputwin
