#include "telemetry/sample_spool.h"

#include <bit>
#include <limits>
#include <stdexcept>

#include "core/errors.h"

namespace gputwin::telemetry {
namespace {

constexpr uint64_t kStaleNaN = 0x7ff0000000000002ULL;  // Prometheus's value.StaleNaN
constexpr uint32_t kMagicChunks = 0x85BD40DD;
constexpr size_t kPendingMax = 1 << 20;

int64_t Millis(Time t) {
  return t.ns >= 0 ? t.ns / 1'000'000 : -((-t.ns + 999'999) / 1'000'000);
}

void PutUvarint(std::vector<uint8_t>* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

}  // namespace

bool SampleSpool::IsStale(double v) {
  return std::bit_cast<uint64_t>(v) == kStaleNaN;
}

SampleSpool::SampleSpool(std::string chunk_dir) : dir_(std::move(chunk_dir)) {}

SampleSpool::~SampleSpool() {
  for (auto& s : segments_) {
    if (s.file) std::fclose(s.file);
  }
}

uint32_t SampleSpool::AddStream() {
  streams_.emplace_back();
  return static_cast<uint32_t>(streams_.size() - 1);
}

void SampleSpool::Append(uint32_t stream, Time at, double value) {
  auto& s = streams_[stream];
  const int64_t t = Millis(at);
  if (t <= s.last) return;
  Add(s, t, value);
}

void SampleSpool::AppendStale(uint32_t stream, Time at) {
  auto& s = streams_[stream];
  if (s.last == INT64_MIN) return;  // never sampled: nothing to end
  Add(s, std::max(Millis(at), s.last + 1), std::bit_cast<double>(kStaleNaN));
}

void SampleSpool::Add(Stream& s, int64_t t, double v) {
  if (sealed_) throw std::logic_error("sample spool: append after seal");
  s.open.Append(t, v);
  s.last = t;
  ++samples_;
  if (s.open.count() >= kSamplesPerChunk || s.open.Full()) Cut(s);
}

void SampleSpool::NewSegment() {
  Flush();
  Segment seg;
  if (dir_.empty()) {
    seg.file = std::tmpfile();
  } else {
    char name[16];
    std::snprintf(name, sizeof name, "%06zu", segments_.size() + 1);
    seg.file = std::fopen((dir_ + "/" + name).c_str(), "w+b");
  }
  if (!seg.file) throw std::runtime_error("metrics spool: cannot create a chunk segment file");
  segments_.push_back(seg);
  // The segment header: magic, format version 1, 3 bytes of padding.
  pending_ = {static_cast<uint8_t>(kMagicChunks >> 24),
              static_cast<uint8_t>(kMagicChunks >> 16),
              static_cast<uint8_t>(kMagicChunks >> 8),
              static_cast<uint8_t>(kMagicChunks),
              1,
              0,
              0,
              0};
  segments_.back().size = pending_.size();
}

void SampleSpool::Cut(Stream& s) {
  const auto data = s.open.bytes();
  const uint64_t need = 10 + 1 + data.size() + 4;
  if (segments_.empty() || segments_.back().size + need > kSegmentSize) NewSegment();
  auto& seg = segments_.back();
  const uint64_t offset = seg.size;
  const size_t before = pending_.size();
  PutUvarint(&pending_, data.size());
  pending_.push_back(1);  // EncXOR
  pending_.insert(pending_.end(), data.begin(), data.end());
  const size_t encoding_at = pending_.size() - data.size() - 1;
  const uint32_t crc = Crc32c(&pending_[encoding_at], data.size() + 1);
  for (int shift = 24; shift >= 0; shift -= 8)
    pending_.push_back(static_cast<uint8_t>(crc >> shift));
  seg.size += pending_.size() - before;
  s.chunks.push_back(
      {s.open.mint(), s.open.maxt(), (static_cast<uint64_t>(segments_.size() - 1) << 32) | offset});
  s.open.Reset();
  if (pending_.size() >= kPendingMax) Flush();
}

void SampleSpool::Flush() const {
  if (pending_.empty() || segments_.empty()) return;
  std::FILE* f = segments_.back().file;
  if (std::fseek(f, 0, SEEK_END) != 0 ||
      std::fwrite(pending_.data(), 1, pending_.size(), f) != pending_.size() ||
      std::fflush(f) != 0) {
    throw std::runtime_error("metrics spool: write failed (disk full?)");
  }
  pending_.clear();
}

void SampleSpool::Seal() {
  for (auto& s : streams_) {
    if (s.open.count() > 0) Cut(s);
  }
  Flush();
  sealed_ = true;
}

uint64_t SampleSpool::chunk_bytes() const {
  uint64_t n = 0;
  for (const auto& s : segments_) n += s.size;
  return n;
}

void SampleSpool::ReadChunk(uint64_t ref, std::vector<uint8_t>* data) const {
  const auto& seg = segments_[ref >> 32];
  const long offset = static_cast<long>(ref & 0xffffffffu);
  uint8_t head[11];
  const size_t got =
      std::fseek(seg.file, offset, SEEK_SET) == 0 ? std::fread(head, 1, sizeof head, seg.file) : 0;
  uint64_t len = 0;
  size_t n = 0;
  for (int shift = 0; n < got; shift += 7) {
    len |= uint64_t{head[n] & 0x7fu} << shift;
    if (head[n++] < 0x80) break;
  }
  data->resize(len);
  if (n == 0 || std::fseek(seg.file, offset + static_cast<long>(n) + 1, SEEK_SET) != 0 ||
      std::fread(data->data(), 1, len, seg.file) != len) {
    throw std::runtime_error("metrics spool: read failed");
  }
}

}  // namespace gputwin::telemetry
