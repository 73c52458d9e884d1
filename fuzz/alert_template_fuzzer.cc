// A Prometheus rule's label and annotation templates (prometheus/alert_template.h), as the
// rule manager renders them at every evaluation with the alert's labels and value: each
// template is rendered or refused with std::invalid_argument (ValidateRules turns that into
// an InputError naming the rule); anything else is a finding.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "prometheus/alert_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gputwin;
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const telemetry::Labels kLabels = {
      {"alertname", "GpuIdle"}, {"namespace", "team-a"}, {"pod", std::string(63, 'p')}};
  static const double kValues[] = {0,
                                   0.5,
                                   -1.25e-30,
                                   1e308,
                                   -1e308,
                                   std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity()};
  for (double v : kValues) {
    try {
      (void)prometheus::RenderTemplate(text, kLabels, v);
    } catch (const std::invalid_argument&) {
      return 0;  // refused: the same for every value
    }
  }
  return 0;
}
