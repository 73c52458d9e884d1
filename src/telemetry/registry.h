// One metric registry per run, as a Prometheus client registry (Kueue's
// pkg/metrics/metrics.go declares every series this way): each metric family is declared
// once with its name, help, type, unit, label names and buckets; components record into
// its series; a scrape (Sample) takes the value of every counter and gauge series of a
// component at an instant. Writers read the families, the series and their samples.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/time.h"
#include "telemetry/openmetrics.h"
#include "telemetry/series.h"

namespace gputwin::telemetry {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };
const char* MetricTypeName(MetricType t);

struct MetricDesc {
  std::string name;  // as upstream exposes it: kueue_pending_workloads
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<double> buckets;  // histograms: upper bounds, +Inf implied
  std::string unit;             // "seconds", "bytes", ...; "" for a count
};

class Registry {
 public:
  using MetricId = uint32_t;
  using SeriesId = uint32_t;

  struct Family {
    MetricDesc desc;
    std::string owner;  // the component that records it: kueue, karpenter, ...
    std::vector<SeriesId> series;
  };
  struct Series {
    Series(MetricId f, const Labels& l) : family(f), labels(l) {}
    MetricId family = 0;
    // One per scrape of its owner, for PromQL's ranges (empty for an owner with a
    // retention when nothing evaluates PromQL: LastSample has its last one).
    std::vector<std::pair<Time, double>> samples;
    // Label sets are interned: the 20 DCGM fields of a GPU share one.
    const Labels& labels;
    Histogram histogram;  // histograms
    // Histograms: cumulative bucket counts (then count and sum) per scrape, kept for an
    // hour so range queries (rate of _bucket) can read them.
    std::vector<std::pair<Time, std::vector<double>>> histogram_samples;
  };

  // Declares a family for `owner`. Declaring a name twice is a programmer error.
  MetricId Declare(const std::string& owner, MetricDesc desc);
  // The family of that name, which must have been declared.
  MetricId Find(const std::string& name) const;
  // The family of that name, if declared.
  std::optional<MetricId> Lookup(const std::string& name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    return it->second;
  }
  // The series of a family with these labels (one value per declared label name),
  // created on first use.
  SeriesId At(MetricId family, const Labels& labels);

  // The `up` series Prometheus writes for one scrape target of `owner` (the target's job
  // and instance): 1 at each of the owner's scrapes; Retire it when the target goes away.
  SeriesId Up(const std::string& owner, const std::string& job, const std::string& instance);

  void Set(SeriesId s, double v) { hot_[s].value = v; }
  void Add(SeriesId s, double v) { hot_[s].value += v; }
  double Value(SeriesId s) const { return hot_[s].value; }
  bool Retired(SeriesId s) const { return hot_[s].retired; }
  // The series' last scrape (NaN once retired), if it was ever scraped.
  std::optional<std::pair<Time, double>> LastSample(SeriesId s) const {
    const Hot& h = hot_[s];
    if (!h.recorded) return std::nullopt;
    return std::pair<Time, double>{Time{h.last_ns}, h.last_value};
  }
  void Observe(SeriesId s, double v) { series_[s].histogram.Observe(v); }
  void Merge(SeriesId s, const std::vector<uint64_t>& counts, double sum, uint64_t count) {
    series_[s].histogram.Merge(counts, sum, count);
  }
  const std::vector<double>& Buckets(SeriesId s) const { return series_[s].histogram.bounds; }
  // The series' target is gone (a pod deleted): a NaN staleness marker ends it, as
  // Prometheus writes one when a target disappears.
  void Retire(SeriesId s, Time now);

  // A scrape of `owner`: every counter and gauge series it has gets a sample (now, value).
  // Series scraped for the first time join the record after the others, in the order
  // they were created or, with `sorted`, in (name, labels) order.
  void Sample(const std::string& owner, Time now, bool sorted = false);

  // `owner`'s series keep only the samples of the last `window` in memory (PromQL's
  // ranges and lookback read no further); the spool, when enabled, still gets them all.
  void SetRetention(const std::string& owner, Duration window) {
    owner_series_[owner].retention = window;
  }
  // Whether owners with a retention keep it (PromQL reads their ranges); when nothing
  // evaluates PromQL they keep only their last sample (what the HPA reads). On by default.
  void KeepQueryHistory(bool keep) { keep_history_ = keep; }
  // A retired series comes back (an alert that fires again, a recording rule's series
  // that reappears): it is sampled again from the owner's next scrape.
  void Revive(SeriesId s);
  // Something evaluates PromQL over the exporters' series (alert rules): they run even
  // when no metrics file is written.
  void WantExporters() { exporters_wanted_ = true; }
  bool exporters_wanted() const { return exporters_wanted_ || spool_ != nullptr; }
  // Keeps every sample from now on in a spool for WriteOpenMetrics (`--metrics FILE`) and
  // WriteTsdbBlock (`--metrics-tsdb DIR`): its chunk segments go to `chunk_dir` (a block's
  // chunks/ folder) or to temporary files. A series that ended gets Prometheus's staleness
  // marker at its owner's next scrape, as a target gone from a scrape does.
  void EnableSpool(const std::string& chunk_dir = "") {
    spool_ = std::make_unique<SampleSpool>(chunk_dir);
  }
  const SampleSpool* spool() const { return spool_.get(); }
  SampleSpool* mutable_spool() { return spool_.get(); }
  static constexpr uint32_t kNoStream = UINT32_MAX;
  // The series' first spool stream (a histogram has one per bucket, then count and sum).
  uint32_t SpoolStream(SeriesId s) const { return hot_[s].stream; }

  const Family& family(MetricId m) const { return families_[m]; }
  const Series& series(SeriesId s) const { return series_[s]; }
  const std::vector<Family>& families() const { return families_; }
  // The counter and gauge series of `owner`, in the order they were first scraped.
  const std::vector<SeriesId>& Recorded(const std::string& owner) const;
  // The histogram series of `owner`: families in declaration order, each family's series
  // in creation order.
  std::vector<SeriesId> Histograms(const std::string& owner) const;
  // The owners that recorded counter or gauge series, by name.
  std::vector<std::string> RecordingOwners() const;
  // Whether `owner`'s series hold every sample of the run in memory (no retention window).
  bool KeepsEverySample(const std::string& owner) const {
    auto it = owner_series_.find(owner);
    return it == owner_series_.end() || it->second.retention.ns == 0;
  }

 private:
  std::vector<Family> families_;
  std::unordered_map<std::string, MetricId> by_name_;
  std::vector<Series> series_;
  struct LabelsHash {
    size_t operator()(const Labels& l) const;
  };
  std::unordered_set<Labels, LabelsHash> label_sets_;   // interned (nodes never move)
  std::unordered_multimap<uint64_t, SeriesId> by_key_;  // hash of family and labels
  std::map<std::string, std::vector<SeriesId>> recorded_;
  // Per owner: series not scraped yet, histograms, and recorded series still alive, so a
  // scrape costs what the owner has now, not every series the run ever had.
  struct OwnerSeries {
    std::vector<SeriesId> pending, histograms, active;
    Duration retention{0};  // 0: keep every sample
  };
  std::map<std::string, OwnerSeries> owner_series_;
  std::unique_ptr<SampleSpool> spool_;
  bool exporters_wanted_ = false;
  bool keep_history_ = true;
  // What every scrape touches of a series, packed densely (a scrape walks thousands).
  struct Hot {
    double value = 0;       // counters and gauges, as set now
    double last_value = 0;  // at the last scrape
    int64_t last_ns = 0;
    uint32_t stream = kNoStream;  // its first spool stream
    bool recorded = false;        // scraped at least once
    bool retired = false;         // its target is gone: no more samples
    bool listed = false;          // in its owner's active list
  };
  std::vector<Hot> hot_;        // by series
  uint32_t Stream(SeriesId s);  // its first spool stream, created on first use
  SeriesId AtFor(const std::string& owner, MetricId family, const Labels& labels);
  const std::string& OwnerOf(SeriesId s) const;
  std::unordered_map<SeriesId, std::string> up_owner_;  // `up` series: the job's owner
};

}  // namespace gputwin::telemetry
