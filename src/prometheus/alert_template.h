// Prometheus alerting and recording rules' label and annotation templates (Go text/template
// with Prometheus's functions), the subset the twin renders: {{ $labels.NAME }}, {{ $value }},
// {{ humanize $value }}, {{ humanizePercentage $value }}, {{ printf "%.Nf" $value }}.
#pragma once

#include <string>

#include "telemetry/series.h"

namespace gputwin::prometheus {

// `text` with each action replaced; std::invalid_argument for an action outside the subset
// or an unclosed {{.
std::string RenderTemplate(const std::string& text, const telemetry::Labels& labels, double value);

}  // namespace gputwin::prometheus
