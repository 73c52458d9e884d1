#include "telemetry/registry.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace gputwin::telemetry {

const char* MetricTypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "";
}

Registry::MetricId Registry::Declare(const std::string& owner, MetricDesc desc) {
  auto [it, added] = by_name_.emplace(desc.name, static_cast<MetricId>(families_.size()));
  assert(added && "a metric family is declared once");
  (void)added;
  families_.push_back(Family{std::move(desc), owner, {}});
  return it->second;
}

Registry::MetricId Registry::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  assert(it != by_name_.end() && "metric families are declared before use");
  return it->second;
}

Registry::SeriesId Registry::At(MetricId family, const Labels& labels) {
  return AtFor(families_[family].owner, family, labels);
}

Registry::SeriesId Registry::Up(const std::string& owner, const std::string& job,
                                const std::string& instance) {
  auto family = Lookup("up");
  if (!family) {
    // Prometheus writes it for every target; no HELP of its own in the TSDB.
    MetricDesc d;
    d.name = "up";
    d.help = "Whether the last scrape of the target succeeded.";
    d.type = MetricType::kGauge;
    d.label_names = {"instance", "job"};
    family = Declare("prometheus", std::move(d));
  }
  const SeriesId s = AtFor(owner, *family, {{"instance", instance}, {"job", job}});
  up_owner_.emplace(s, owner);
  Revive(s);  // the same target back (a node name reused)
  series_[s].value = 1;
  return s;
}

const std::string& Registry::OwnerOf(SeriesId s) const {
  auto it = up_owner_.find(s);
  return it != up_owner_.end() ? it->second : families_[series_[s].family].owner;
}

Registry::SeriesId Registry::AtFor(const std::string& owner, MetricId family,
                                   const Labels& labels) {
  std::string key = std::to_string(family);
  for (const auto& [k, v] : labels) key += "\x1f" + k + "=" + v;
  auto [it, added] = by_key_.emplace(std::move(key), static_cast<SeriesId>(series_.size()));
  if (added) {
    Series s;
    s.family = family;
    s.labels = labels;
    const auto& desc = families_[family].desc;
    if (desc.type == MetricType::kHistogram) {
      s.histogram.name = desc.name;
      s.histogram.labels = labels;
      s.histogram.bounds = desc.buckets;
      s.histogram.counts.assign(desc.buckets.size() + 1, 0);
    }
    const bool histogram = desc.type == MetricType::kHistogram;
    series_.push_back(std::move(s));
    families_[family].series.push_back(it->second);
    auto& os = owner_series_[owner];
    (histogram ? os.histograms : os.pending).push_back(it->second);
  }
  return it->second;
}

void Registry::Sample(const std::string& owner, Time now, bool sorted) {
  auto& record = recorded_[owner];
  auto& os = owner_series_[owner];
  // Histograms are not in the counter/gauge record; their snapshots are kept an hour.
  size_t kept = 0;
  for (SeriesId s : os.histograms) {
    auto& h = series_[s];
    if (h.retired) {
      if (spool_ && SpoolStream(s) != kNoStream) {
        const uint32_t first = SpoolStream(s);
        for (size_t j = 0; j < families_[h.family].desc.buckets.size() + 3; ++j) {
          spool_->AppendStale(first + static_cast<uint32_t>(j), now);
        }
      }
      continue;
    }
    os.histograms[kept++] = s;
    std::vector<double> snap;
    snap.reserve(h.histogram.counts.size() + 2);
    double cum = 0;
    for (uint64_t c : h.histogram.counts) snap.push_back(cum += double(c));
    snap.push_back(double(h.histogram.count));
    snap.push_back(h.histogram.sum);
    if (spool_) {
      const uint32_t first = Stream(s);
      for (size_t j = 0; j < snap.size(); ++j) {
        spool_->Append(first + static_cast<uint32_t>(j), now, snap[j]);
      }
    }
    h.histogram_samples.emplace_back(now, std::move(snap));
    size_t old = 0;
    while (old < h.histogram_samples.size() &&
           now - h.histogram_samples[old].first > Duration::Hours(1)) {
      ++old;
    }
    if (old > 0)
      h.histogram_samples.erase(h.histogram_samples.begin(),
                                h.histogram_samples.begin() + long(old));
  }
  os.histograms.resize(kept);
  std::vector<SeriesId> fresh;
  for (SeriesId s : os.pending) {
    if (!series_[s].retired) fresh.push_back(s);
  }
  os.pending.clear();
  if (sorted) {
    std::stable_sort(fresh.begin(), fresh.end(), [&](SeriesId a, SeriesId b) {
      const auto& na = families_[series_[a].family].desc.name;
      const auto& nb = families_[series_[b].family].desc.name;
      if (na != nb) return na < nb;
      return series_[a].labels < series_[b].labels;
    });
  }
  for (SeriesId s : fresh) {
    if (!series_[s].recorded) record.push_back(s);
    series_[s].recorded = true;
    if (!series_[s].listed) os.active.push_back(s);
    series_[s].listed = true;
  }
  // Without PromQL readers, one sample is history enough.
  const Duration window =
      keep_history_ || os.retention.ns == 0 ? os.retention : Duration{1'000'000};
  kept = 0;
  for (SeriesId s : os.active) {
    if (series_[s].retired) {
      series_[s].listed = false;
      if (spool_ && SpoolStream(s) != kNoStream) spool_->AppendStale(SpoolStream(s), now);
      continue;
    }
    os.active[kept++] = s;
    auto& samples = series_[s].samples;
    samples.emplace_back(now, series_[s].value);
    if (spool_) spool_->Append(Stream(s), now, series_[s].value);
    // Trimmed in batches: once the oldest is two windows old, down to one window.
    if (window.ns > 0 && now - samples.front().first > window + window) {
      const Time keep_from = now + Duration{-window.ns};
      auto it = std::find_if(samples.begin(), samples.end(),
                             [&](const auto& x) { return x.first >= keep_from; });
      samples.erase(samples.begin(), it);
    }
  }
  os.active.resize(kept);
}

uint32_t Registry::Stream(SeriesId s) {
  if (spool_stream_.size() <= s) spool_stream_.resize(s + 1, kNoStream);
  if (spool_stream_[s] == kNoStream) {
    const auto& d = families_[series_[s].family].desc;
    // A histogram: a stream per bucket (+Inf included), then _count and _sum.
    const size_t n = d.type == MetricType::kHistogram ? d.buckets.size() + 3 : 1;
    spool_stream_[s] = spool_->AddStream();
    for (size_t i = 1; i < n; ++i) spool_->AddStream();
  }
  return spool_stream_[s];
}

void Registry::Revive(SeriesId s) {
  auto& x = series_[s];
  if (!x.retired) return;
  x.retired = false;
  // Retired and revived between two scrapes, it is still listed: nothing to add.
  auto& os = owner_series_[OwnerOf(s)];
  if (families_[x.family].desc.type == MetricType::kHistogram) {
    if (std::find(os.histograms.begin(), os.histograms.end(), s) == os.histograms.end()) {
      os.histograms.push_back(s);
    }
  } else if (!x.listed) {
    os.pending.push_back(s);
  }
}

void Registry::Retire(SeriesId s, Time now) {
  auto& x = series_[s];
  if (x.retired) return;
  x.retired = true;
  if (x.recorded) x.samples.emplace_back(now, std::numeric_limits<double>::quiet_NaN());
}

const std::vector<Registry::SeriesId>& Registry::Recorded(const std::string& owner) const {
  static const std::vector<SeriesId> kNone;
  auto it = recorded_.find(owner);
  return it == recorded_.end() ? kNone : it->second;
}

std::vector<Registry::SeriesId> Registry::Histograms(const std::string& owner) const {
  std::vector<SeriesId> out;
  for (const auto& f : families_) {
    if (f.owner != owner || f.desc.type != MetricType::kHistogram) continue;
    out.insert(out.end(), f.series.begin(), f.series.end());
  }
  return out;
}

}  // namespace gputwin::telemetry
