// The run's metrics as one Prometheus TSDB block (`gputwin run --metrics-tsdb DIR`): a
// Prometheus started with --storage.tsdb.path=DIR serves it as it is, no promtool step.
// The layout is tsdb/docs/format: chunks/ (the spool's segment files, written while the
// run scrapes), an index (symbols, series with their chunks, label indices, postings and
// their offset tables, TOC; format v2), meta.json and an empty tombstones file. Unlike
// OpenMetrics text it carries staleness markers, so a series whose target went away ends
// where the live Prometheus would end it. Written by hand: no C++ library writes blocks.
#pragma once

#include <cstdint>
#include <string>

#include "core/time.h"

namespace gputwin::telemetry {

class Registry;

class TsdbBlockWriter {
 public:
  // Creates DIR/<ULID>.tmp-for-creation/chunks (Prometheus skips such folders) and spools
  // the registry's samples there. The ULID is derived from `start` and `seed`, so the same
  // run gives the same block.
  TsdbBlockWriter(const std::string& data_dir, Time start, uint64_t seed, Registry* registry);
  ~TsdbBlockWriter();  // removes the unfinished block unless Commit() succeeded
  TsdbBlockWriter(const TsdbBlockWriter&) = delete;
  TsdbBlockWriter& operator=(const TsdbBlockWriter&) = delete;

  // Writes the index, meta.json and tombstones and renames the block into place; returns
  // its path.
  std::string Commit();
  const std::string& ulid() const { return ulid_; }

  struct Stats {
    uint64_t series = 0, chunks = 0, samples = 0, bytes = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  Registry* registry_;
  std::string data_dir_, ulid_, tmp_;
  bool committed_ = false;
  Stats stats_;
};

// A ULID (26 Crockford base-32 characters) for a millisecond time and 80 random bits.
std::string MakeUlid(int64_t ms, uint64_t hi16, uint64_t lo64);

}  // namespace gputwin::telemetry
