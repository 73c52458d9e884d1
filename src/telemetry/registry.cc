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
  hot_[s].value = 1;
  return s;
}

const std::string& Registry::OwnerOf(SeriesId s) const {
  auto it = up_owner_.find(s);
  return it != up_owner_.end() ? it->second : families_[series_[s].family].owner;
}

size_t Registry::LabelsHash::operator()(const Labels& l) const {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over names and values, separated
  for (const auto& [k, v] : l) {
    for (unsigned char c : k) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (unsigned char c : v) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0x1e) * 1099511628211ULL;
  }
  return h;
}

Registry::SeriesId Registry::AtFor(const std::string& owner, MetricId family,
                                   const Labels& labels) {
  const uint64_t key = LabelsHash{}(labels)*31 + family;
  for (auto [it, end] = by_key_.equal_range(key); it != end; ++it) {
    const Series& x = series_[it->second];
    if (x.family == family && x.labels == labels) return it->second;
  }
  const auto id = static_cast<SeriesId>(series_.size());
  by_key_.emplace(key, id);
  const Labels& interned = *label_sets_.insert(labels).first;
  Series s(family, interned);
  const auto& desc = families_[family].desc;
  const bool histogram = desc.type == MetricType::kHistogram;
  if (histogram) {
    s.histogram.name = desc.name;
    s.histogram.labels = labels;
    s.histogram.bounds = desc.buckets;
    s.histogram.counts.assign(desc.buckets.size() + 1, 0);
  }
  series_.push_back(std::move(s));
  hot_.emplace_back();
  families_[family].series.push_back(id);
  auto& os = owner_series_[owner];
  (histogram ? os.histograms : os.pending).push_back(id);
  return id;
}

void Registry::Sample(const std::string& owner, Time now, bool sorted) {
  auto& record = recorded_[owner];
  auto& os = owner_series_[owner];
  // Histograms are not in the counter/gauge record; their snapshots are kept an hour.
  size_t kept = 0;
  for (SeriesId s : os.histograms) {
    auto& h = series_[s];
    if (hot_[s].retired) {
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
    if (!hot_[s].retired) fresh.push_back(s);
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
    if (!hot_[s].recorded) record.push_back(s);
    hot_[s].recorded = true;
    if (!hot_[s].listed) os.active.push_back(s);
    hot_[s].listed = true;
  }
  // Without PromQL readers, an owner with a retention keeps only its last sample (in the
  // hot array, which LastSample reads).
  const bool history = keep_history_ || os.retention.ns == 0;
  kept = 0;
  const size_t n = os.active.size();
  for (size_t i = 0; i < n; ++i) {
    const SeriesId s = os.active[i];
    // Memory, not arithmetic, bounds a scrape of thousands of series: fetch ahead.
    if (i + 8 < n) __builtin_prefetch(&hot_[os.active[i + 8]]);
    if (spool_ && i + 4 < n) spool_->Prefetch(hot_[os.active[i + 4]].stream);
    Hot& h = hot_[s];
    if (h.retired) {
      h.listed = false;
      if (spool_ && h.stream != kNoStream) spool_->AppendStale(h.stream, now);
      continue;
    }
    os.active[kept++] = s;
    h.last_value = h.value;
    h.last_ns = now.ns;
    if (spool_) spool_->Append(h.stream != kNoStream ? h.stream : Stream(s), now, h.value);
    if (!history) continue;
    auto& samples = series_[s].samples;
    samples.emplace_back(now, h.value);
    // Trimmed in batches: once the oldest is two windows old, down to one window.
    if (os.retention.ns > 0 && now - samples.front().first > os.retention + os.retention) {
      const Time keep_from = now + Duration{-os.retention.ns};
      auto it = std::find_if(samples.begin(), samples.end(),
                             [&](const auto& x) { return x.first >= keep_from; });
      samples.erase(samples.begin(), it);
    }
  }
  os.active.resize(kept);
}

uint32_t Registry::Stream(SeriesId s) {
  if (hot_[s].stream == kNoStream) {
    const auto& d = families_[series_[s].family].desc;
    // A histogram: a stream per bucket (+Inf included), then _count and _sum.
    const size_t n = d.type == MetricType::kHistogram ? d.buckets.size() + 3 : 1;
    hot_[s].stream = spool_->AddStream();
    for (size_t i = 1; i < n; ++i) spool_->AddStream();
  }
  return hot_[s].stream;
}

void Registry::Revive(SeriesId s) {
  auto& x = series_[s];
  if (!hot_[s].retired) return;
  hot_[s].retired = false;
  // Retired and revived between two scrapes, it is still listed: nothing to add.
  auto& os = owner_series_[OwnerOf(s)];
  if (families_[x.family].desc.type == MetricType::kHistogram) {
    if (std::find(os.histograms.begin(), os.histograms.end(), s) == os.histograms.end()) {
      os.histograms.push_back(s);
    }
  } else if (!hot_[s].listed) {
    os.pending.push_back(s);
  }
}

void Registry::Retire(SeriesId s, Time now) {
  Hot& h = hot_[s];
  if (h.retired) return;
  h.retired = true;
  if (!h.recorded) return;
  // A NaN ends it for PromQL (a staleness marker in the twin's own history).
  h.last_value = std::numeric_limits<double>::quiet_NaN();
  h.last_ns = now.ns;
  auto& samples = series_[s].samples;
  if (keep_history_ || !samples.empty()) samples.emplace_back(now, h.last_value);
}

std::vector<std::string> Registry::RecordingOwners() const {
  std::vector<std::string> out;
  for (const auto& [owner, ids] : recorded_) out.push_back(owner);
  return out;
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
