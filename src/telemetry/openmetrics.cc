#include "telemetry/openmetrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <stdexcept>
#include <string>

#include "telemetry/registry.h"

namespace gputwin::telemetry {

namespace {

// OpenMetrics escapes label values and help text alike: backslash, double quote, newline.
std::string Escape(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);  // shortest text that reads back as the same double
}

// Seconds since the epoch with milliseconds, as OpenMetrics timestamps are written.
std::string Timestamp(Time t) {
  const int64_t ms = t.ns >= 0 ? t.ns / 1'000'000 : -((-t.ns + 999'999) / 1'000'000);
  const int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  return fmt::format("{}.{:03}", s, ms - s * 1000);
}

// A bucket bound as the exporting client library writes it: Go's client (Kueue,
// Karpenter, KEDA) as strconv 'g' (1, 2.5, 2560); Python's prometheus_client (vLLM) as
// floatToGoString (1.0, 2.5, 2560.0).
std::string BucketBound(double b, bool python) {
  if (std::isinf(b)) return b > 0 ? "+Inf" : "-Inf";
  if (python && b == std::floor(b) && std::fabs(b) < 1e6) return fmt::format("{:.1f}", b);
  return fmt::format("{}", b);
}

std::string LabelText(const Labels& labels, const std::string& extra_key = "",
                      const std::string& extra_value = "") {
  std::string out;
  for (const auto& [k, v] : labels) {
    out += out.empty() ? "{" : ",";
    out += k + "=\"" + Escape(v) + "\"";
  }
  if (!extra_key.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_key + "=\"" + extra_value + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

}  // namespace

// The families with spooled samples, by name, each with its spooled series by labels.
std::vector<std::pair<Registry::MetricId, std::vector<Registry::SeriesId>>> SpooledFamilies(
    const Registry& registry) {
  std::vector<Registry::MetricId> order(registry.families().size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Registry::MetricId>(i);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) {
    return registry.family(a).desc.name < registry.family(b).desc.name;
  });
  std::vector<std::pair<Registry::MetricId, std::vector<Registry::SeriesId>>> out;
  for (auto id : order) {
    std::vector<Registry::SeriesId> series;
    for (auto s : registry.family(id).series) {
      if (registry.SpoolStream(s) != Registry::kNoStream) series.push_back(s);
    }
    if (series.empty()) continue;
    std::sort(series.begin(), series.end(), [&](auto a, auto b) {
      return registry.series(a).labels < registry.series(b).labels;
    });
    out.emplace_back(id, std::move(series));
  }
  return out;
}

void ForEachSpooledStream(
    const Registry& registry,
    const std::function<void(uint32_t stream, const std::string& name, const Labels& labels,
                             const std::string& le)>& f) {
  for (const auto& [id, series] : SpooledFamilies(registry)) {
    const auto& fam = registry.family(id);
    const auto& d = fam.desc;
    for (auto s : series) {
      const auto& labels = registry.series(s).labels;
      const uint32_t first = registry.SpoolStream(s);
      if (d.type != MetricType::kHistogram) {
        f(first, d.name, labels, "");
        continue;
      }
      for (size_t b = 0; b <= d.buckets.size(); ++b) {
        f(first + static_cast<uint32_t>(b), d.name + "_bucket", labels,
          b < d.buckets.size() ? BucketBound(d.buckets[b], fam.owner == "vllm") : "+Inf");
      }
      const uint32_t after = first + static_cast<uint32_t>(d.buckets.size()) + 1;
      f(after, d.name + "_count", labels, "");
      f(after + 1, d.name + "_sum", labels, "");
    }
  }
}

void WriteOpenMetrics(std::ostream& out, const Registry& registry) {
  const SampleSpool* spool = registry.spool();
  if (!spool) throw std::logic_error("WriteOpenMetrics needs a registry with a spool");
  std::string line;
  for (const auto& [id, series] : SpooledFamilies(registry)) {
    const auto& f = registry.family(id);
    const auto& d = f.desc;
    // OpenMetrics names a counter's family without its _total suffix.
    std::string family = d.name;
    const bool counter = d.type == MetricType::kCounter;
    if (counter && family.size() > 6 && family.ends_with("_total")) {
      family.resize(family.size() - 6);
    }
    const char* type = counter && family == d.name ? "unknown" : MetricTypeName(d.type);
    out << "# HELP " << family << " " << Escape(d.help) << "\n";
    out << "# TYPE " << family << " " << type << "\n";
    // The unit must end the family's name.
    if (!d.unit.empty() && family.ends_with("_" + d.unit)) {
      out << "# UNIT " << family << " " << d.unit << "\n";
    }
    for (auto s : series) {
      const auto& x = registry.series(s);
      const uint32_t first = registry.SpoolStream(s);
      auto emit = [&](uint32_t stream, const std::string& head) {
        spool->ForEach(stream, [&](Time at, double v) {
          line.clear();
          line += head;
          line += ' ';
          line += Value(v);
          line += ' ';
          line += Timestamp(at);
          line += '\n';
          out << line;
        });
      };
      if (d.type != MetricType::kHistogram) {
        emit(first, d.name + LabelText(x.labels));
        continue;
      }
      // Buckets (cumulative, +Inf last), then _count and _sum, as the registry snapshots.
      for (size_t b = 0; b <= d.buckets.size(); ++b) {
        const std::string le =
            b < d.buckets.size() ? BucketBound(d.buckets[b], f.owner == "vllm") : "+Inf";
        emit(first + static_cast<uint32_t>(b), d.name + "_bucket" + LabelText(x.labels, "le", le));
      }
      const uint32_t after = first + static_cast<uint32_t>(d.buckets.size()) + 1;
      emit(after, d.name + "_count" + LabelText(x.labels));
      emit(after + 1, d.name + "_sum" + LabelText(x.labels));
    }
  }
  out << "# EOF\n";
}

}  // namespace gputwin::telemetry
