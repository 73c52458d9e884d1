// Every sample a run scrapes, kept for the metrics outputs with bounded memory: each
// stream (one series as Prometheus stores it) fills a Prometheus XOR chunk in memory and,
// at 120 samples as Prometheus cuts them, writes it to segment files laid out as a TSDB
// block's chunks/ (header, then length, encoding, data and CRC32C per chunk). The
// OpenMetrics writer reads the chunks back; the TSDB block writer uses the files as they
// are. A week of 1,000 GPUs is a few bytes per sample on disk, and a few hundred bytes per
// stream in memory.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/time.h"
#include "telemetry/xor_chunk.h"

namespace gputwin::telemetry {

class SampleSpool {
 public:
  // Segments go to `chunk_dir` as 000001, 000002, ... (a block's chunks/ folder, which
  // must exist), or to anonymous temporary files when it is empty.
  explicit SampleSpool(std::string chunk_dir = "");
  ~SampleSpool();
  SampleSpool(const SampleSpool&) = delete;
  SampleSpool& operator=(const SampleSpool&) = delete;

  // A new stream; returns its key.
  uint32_t AddStream();
  // Samples at milliseconds that do not move forward are dropped (Prometheus refuses
  // them too).
  void Append(uint32_t stream, Time at, double value);
  // Prometheus's staleness marker: the series ends here (a target gone). At the same
  // millisecond as the last sample it goes 1 ms later.
  void AppendStale(uint32_t stream, Time at);
  static bool IsStale(double v);
  // A hint: `stream` is appended to soon (a scrape walks thousands of streams).
  void Prefetch(uint32_t stream) const {
    if (stream < streams_.size()) {
      const char* p = reinterpret_cast<const char*>(&streams_[stream]);
      __builtin_prefetch(p);
      __builtin_prefetch(p + 64);
      __builtin_prefetch(p + 128);
      __builtin_prefetch(p + 192);
      __builtin_prefetch(p + 256);
    }
  }

  // Calls `f(at, value)` for every sample of the stream in time order, staleness markers
  // left out (OpenMetrics cannot carry them).
  template <typename F>
  void ForEach(uint32_t stream, F&& f) const {
    Flush();
    const auto& s = streams_[stream];
    auto each = [&](int64_t t, double v) {
      if (!IsStale(v)) f(Time{t * 1'000'000}, v);
    };
    std::vector<uint8_t> buf;
    for (const auto& c : s.chunks) {
      ReadChunk(c.ref, &buf);
      XorChunkDecoder(buf.data(), buf.size()).ForEach(each);
    }
    if (s.open.count() > 0) {
      XorChunkDecoder(s.open.bytes().data(), s.open.bytes().size()).ForEach(each);
    }
  }

  struct ChunkMeta {
    int64_t mint = 0, maxt = 0;  // ms, inclusive
    uint64_t ref = 0;            // segment index << 32 | offset, as a block's index has it
  };
  // Writes every stream's open chunk; nothing may be appended afterwards.
  void Seal();
  const std::vector<ChunkMeta>& Chunks(uint32_t stream) const { return streams_[stream].chunks; }
  size_t streams() const { return streams_.size(); }
  uint64_t samples() const { return samples_; }
  uint64_t chunk_bytes() const;  // bytes in the segment files
  // Makes everything written visible to readers of the files.
  void Flush() const;

  static constexpr uint16_t kSamplesPerChunk = 120;    // Prometheus's target
  static constexpr uint64_t kSegmentSize = 512 << 20;  // DefaultChunkSegmentSize

 private:
  struct Stream {
    XorChunkEncoder open;
    std::vector<ChunkMeta> chunks;
    int64_t last = INT64_MIN;  // ms of the last sample
  };
  struct Segment {
    std::FILE* file = nullptr;
    uint64_t size = 0;  // bytes, header included
  };
  void Add(Stream& s, int64_t t, double v);
  void Cut(Stream& s);
  void ReadChunk(uint64_t ref, std::vector<uint8_t>* data) const;
  void NewSegment();

  std::string dir_;
  std::vector<Stream> streams_;
  std::vector<Segment> segments_;
  mutable std::vector<uint8_t> pending_;  // bytes not yet written to the last segment
  uint64_t samples_ = 0;
  bool sealed_ = false;
};

}  // namespace gputwin::telemetry
