// Prometheus's XOR chunk (tsdb/chunkenc/xor.go, encoding 1): Gorilla's compression of a
// float series with millisecond timestamps — the first timestamp as a varint, the second
// as a delta, then deltas of deltas in 1/14/17/20/64-bit buckets; each value XORed with
// the previous one, as 1 bit when equal, else its meaningful bits with the leading and
// trailing zero counts reused when they fit. A 2-byte big-endian sample count leads.
// Written by hand: no C++ library writes Prometheus chunks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gputwin::telemetry {

class XorChunkEncoder {
 public:
  XorChunkEncoder() { Reset(); }
  void Reset();
  // Timestamps must increase.
  void Append(int64_t t_ms, double v);
  uint16_t count() const { return count_; }
  int64_t mint() const { return mint_; }
  int64_t maxt() const { return t_; }
  // The chunk's bytes (header included), ready to store.
  std::span<const uint8_t> bytes() const { return {buf_, size_}; }
  // Another sample might not fit: cut the chunk (Prometheus also cuts XOR chunks by size).
  bool Full() const { return size_ > kCapacity - kMaxSampleBytes; }

  // Held inline, so a scrape touching thousands of series touches no other memory.
  static constexpr uint16_t kCapacity = 256;
  static constexpr uint16_t kMaxSampleBytes = 20;  // 4 + 64 bits of time, 2 + 11 + 64 of value

 private:
  void WriteBit(bool bit);
  void WriteBits(uint64_t u, int nbits);
  void WriteByte(uint8_t b) { WriteBits(b, 8); }
  void WriteValue(double v);

  uint16_t size_ = 0;
  uint16_t count_ = 0;
  int free_bits_ = 0;  // unused low bits of the last byte
  int64_t mint_ = 0, t_ = 0;
  uint64_t t_delta_ = 0;
  uint64_t v_bits_ = 0;
  uint8_t leading_ = 0xff, trailing_ = 0;
  uint8_t buf_[kCapacity];
};

// Calls f(t_ms, value) for every sample of a chunk's bytes. Returns false when the bytes
// are not a well-formed XOR chunk.
class XorChunkDecoder {
 public:
  XorChunkDecoder(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename F>
  bool ForEach(F&& f) {
    if (size_ < 2) return false;
    const uint16_t n = static_cast<uint16_t>(data_[0] << 8 | data_[1]);
    pos_ = 16;
    for (uint16_t i = 0; i < n; ++i) {
      if (!Next(i)) return false;
      f(t_, v_);
    }
    return true;
  }

 private:
  bool Next(uint16_t i);
  bool ReadBit(bool* bit);
  bool ReadBits(int nbits, uint64_t* out);
  bool ReadVarint(int64_t* out);
  bool ReadUvarint(uint64_t* out);
  bool ReadValue();

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;  // bit position
  int64_t t_ = 0;
  uint64_t t_delta_ = 0;
  double v_ = 0;
  uint64_t v_bits_ = 0;
  uint8_t leading_ = 0, trailing_ = 0;
};

// CRC-32 with the Castagnoli polynomial, as Prometheus checks its chunks and index.
uint32_t Crc32c(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace gputwin::telemetry
