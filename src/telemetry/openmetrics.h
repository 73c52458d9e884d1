// The run's metrics as OpenMetrics text (`gputwin run --metrics FILE`) that
// `promtool tsdb create-blocks-from openmetrics` turns into blocks a real Prometheus serves.
// Samples are spooled to a temporary file as the run records them (a small buffer per
// series in memory), and written at the end family by family (sorted by name), series by
// series (sorted by labels), each series in time order, then `# EOF`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <iosfwd>
#include <utility>
#include <vector>

#include "core/time.h"

namespace gputwin::telemetry {

class Registry;

// Append-only per-stream sample storage on disk with bounded memory: each stream keeps up
// to kBuffer samples in memory and writes them out as a block when full.
class SampleSpool {
 public:
  SampleSpool();
  ~SampleSpool();
  SampleSpool(const SampleSpool&) = delete;
  SampleSpool& operator=(const SampleSpool&) = delete;

  // A new stream (one output line series); returns its key.
  uint32_t AddStream();
  void Append(uint32_t stream, Time at, double value);
  // Calls `f(at, value)` for every sample of the stream, in the order appended.
  template <typename F>
  void ForEach(uint32_t stream, F&& f) const {
    const auto& s = streams_[stream];
    std::vector<Sample> block;
    for (const auto& [offset, count] : s.blocks) {
      ReadBlock(offset, count, &block);
      for (const auto& x : block) f(Time{x.ns}, x.value);
    }
    for (const auto& x : s.buffer) f(Time{x.ns}, x.value);
  }
  size_t streams() const { return streams_.size(); }
  uint64_t samples() const { return samples_; }

 private:
  static constexpr size_t kBuffer = 64;
  struct Sample {
    int64_t ns;
    double value;
  };
  struct Stream {
    std::vector<std::pair<uint64_t, uint32_t>> blocks;  // file offset, samples
    std::vector<Sample> buffer;
  };
  void ReadBlock(uint64_t offset, uint32_t count, std::vector<Sample>* out) const;
  std::vector<Stream> streams_;
  std::FILE* file_ = nullptr;
  uint64_t end_ = 0;  // bytes written
  uint64_t samples_ = 0;
};

// Writes every family of the registry that has spooled samples (the registry must have
// had EnableSpool() before the run).
void WriteOpenMetrics(std::ostream& out, const Registry& registry);

}  // namespace gputwin::telemetry
