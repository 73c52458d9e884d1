// The run's metrics as OpenMetrics text (`gputwin run --metrics FILE`) that
// `promtool tsdb create-blocks-from openmetrics` turns into blocks a real Prometheus serves.
// Samples are spooled as compressed chunks while the run records them (sample_spool.h),
// and written at the end family by family (sorted by name), series by series (sorted by
// labels), each series in time order, then `# EOF`.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "telemetry/sample_spool.h"
#include "telemetry/series.h"

namespace gputwin::telemetry {

class Registry;

// Every spooled stream as Prometheus stores it: f(stream, metric name, labels), families
// by name, series by labels; a histogram as its _bucket streams (with `le`, as the
// exporting client writes it), then _count and _sum.
void ForEachSpooledStream(
    const Registry& registry,
    const std::function<void(uint32_t stream, const std::string& name, const Labels& labels,
                             const std::string& le)>& f);

// Writes every family of the registry that has spooled samples (the registry must have
// had EnableSpool() before the run).
void WriteOpenMetrics(std::ostream& out, const Registry& registry);

}  // namespace gputwin::telemetry
