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
    // What every scrape reads first, in one cache line.
    MetricId family = 0;
    bool recorded = false;                         // scraped at least once
    bool retired = false;                          // its target is gone: no more samples
    bool listed = false;                           // in its owner's active list
    double value = 0;                              // counters and gauges
    std::vector<std::pair<Time, double>> samples;  // one per scrape of its owner
    Labels labels;
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

  void Set(SeriesId s, double v) { series_[s].value = v; }
  void Add(SeriesId s, double v) { series_[s].value += v; }
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
  uint32_t SpoolStream(SeriesId s) const {
    return s < spool_stream_.size() ? spool_stream_[s] : kNoStream;
  }

  const Family& family(MetricId m) const { return families_[m]; }
  const Series& series(SeriesId s) const { return series_[s]; }
  const std::vector<Family>& families() const { return families_; }
  // The counter and gauge series of `owner`, in the order they were first scraped.
  const std::vector<SeriesId>& Recorded(const std::string& owner) const;
  // The histogram series of `owner`: families in declaration order, each family's series
  // in creation order.
  std::vector<SeriesId> Histograms(const std::string& owner) const;

 private:
  std::vector<Family> families_;
  std::unordered_map<std::string, MetricId> by_name_;
  std::vector<Series> series_;
  std::unordered_map<std::string, SeriesId> by_key_;  // family id + labels
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
  std::vector<uint32_t> spool_stream_;  // by series
  uint32_t Stream(SeriesId s);          // its first spool stream, created on first use
  SeriesId AtFor(const std::string& owner, MetricId family, const Labels& labels);
  const std::string& OwnerOf(SeriesId s) const;
  std::unordered_map<SeriesId, std::string> up_owner_;  // `up` series: the job's owner
};

}  // namespace gputwin::telemetry
