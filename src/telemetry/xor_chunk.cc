#include "telemetry/xor_chunk.h"

#include <array>
#include <bit>
#include <cstring>
#include <stdexcept>

namespace gputwin::telemetry {

void XorChunkEncoder::Reset() {
  buf_[0] = buf_[1] = 0;  // the sample count
  size_ = 2;
  free_bits_ = 0;
  count_ = 0;
  mint_ = t_ = 0;
  t_delta_ = 0;
  v_bits_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
}

void XorChunkEncoder::WriteBit(bool bit) {
  WriteBits(bit ? 1 : 0, 1);
}

void XorChunkEncoder::WriteBits(uint64_t u, int nbits) {
  // Most significant first: fill the last byte's free bits, then whole bytes, then the
  // rest into a new byte.
  if (nbits < 64) u &= (uint64_t{1} << nbits) - 1;
  if (free_bits_ > 0) {
    const int take = nbits < free_bits_ ? nbits : free_bits_;
    free_bits_ -= take;
    nbits -= take;
    buf_[size_ - 1] |= static_cast<uint8_t>((u >> nbits) << free_bits_);
    if (nbits == 0) return;
    u &= (uint64_t{1} << nbits) - 1;
  }
  while (nbits >= 8) {
    nbits -= 8;
    buf_[size_++] = static_cast<uint8_t>(u >> nbits);
  }
  if (nbits > 0) {
    free_bits_ = 8 - nbits;
    buf_[size_++] = static_cast<uint8_t>(u << free_bits_);
  }
}

void XorChunkEncoder::WriteValue(double v) {
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  const uint64_t delta = bits ^ v_bits_;
  v_bits_ = bits;
  if (delta == 0) {
    WriteBit(false);
    return;
  }
  WriteBit(true);
  uint8_t leading = static_cast<uint8_t>(std::countl_zero(delta));
  const uint8_t trailing = static_cast<uint8_t>(std::countr_zero(delta));
  if (leading >= 32) leading = 31;  // 5 bits hold it
  if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
    WriteBit(false);
    WriteBits(delta >> trailing_, 64 - leading_ - trailing_);
    return;
  }
  leading_ = leading;
  trailing_ = trailing;
  WriteBit(true);
  WriteBits(leading, 5);
  const int sigbits = 64 - leading - trailing;
  WriteBits(static_cast<uint64_t>(sigbits), 6);  // 64 is written as 0
  WriteBits(delta >> trailing, sigbits);
}

namespace {
bool BitRange(int64_t x, int nbits) {
  return -((int64_t{1} << (nbits - 1)) - 1) <= x && x <= (int64_t{1} << (nbits - 1));
}
}  // namespace

void XorChunkEncoder::Append(int64_t t, double v) {
  if (Full()) throw std::logic_error("XOR chunk full: cut it before appending");
  uint64_t t_delta = 0;
  if (count_ == 0) {
    // Go's binary.PutVarint: zigzag, then 7 bits a byte.
    uint64_t z = (static_cast<uint64_t>(t) << 1) ^ static_cast<uint64_t>(t >> 63);
    while (z >= 0x80) {
      WriteByte(static_cast<uint8_t>(z | 0x80));
      z >>= 7;
    }
    WriteByte(static_cast<uint8_t>(z));
    v_bits_ = std::bit_cast<uint64_t>(v);
    WriteBits(v_bits_, 64);
    mint_ = t;
  } else if (count_ == 1) {
    t_delta = static_cast<uint64_t>(t - t_);
    uint64_t z = t_delta;
    while (z >= 0x80) {
      WriteByte(static_cast<uint8_t>(z | 0x80));
      z >>= 7;
    }
    WriteByte(static_cast<uint8_t>(z));
    WriteValue(v);
  } else {
    t_delta = static_cast<uint64_t>(t - t_);
    const auto dod = static_cast<int64_t>(t_delta - t_delta_);
    if (dod == 0) {
      WriteBit(false);
    } else if (BitRange(dod, 14)) {
      WriteBits(0b10, 2);
      WriteBits(static_cast<uint64_t>(dod), 14);
    } else if (BitRange(dod, 17)) {
      WriteBits(0b110, 3);
      WriteBits(static_cast<uint64_t>(dod), 17);
    } else if (BitRange(dod, 20)) {
      WriteBits(0b1110, 4);
      WriteBits(static_cast<uint64_t>(dod), 20);
    } else {
      WriteBits(0b1111, 4);
      WriteBits(static_cast<uint64_t>(dod), 64);
    }
    WriteValue(v);
  }
  t_ = t;
  t_delta_ = t_delta;
  ++count_;
  buf_[0] = static_cast<uint8_t>(count_ >> 8);
  buf_[1] = static_cast<uint8_t>(count_);
}

bool XorChunkDecoder::ReadBit(bool* bit) {
  if (pos_ >= size_ * 8) return false;
  *bit = (data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1;
  ++pos_;
  return true;
}

bool XorChunkDecoder::ReadBits(int nbits, uint64_t* out) {
  if (pos_ + static_cast<size_t>(nbits) > size_ * 8) return false;
  uint64_t u = 0;
  while (nbits > 0) {
    // The rest of the current byte, or as much of it as is wanted.
    const int avail = 8 - static_cast<int>(pos_ & 7);
    const int take = nbits < avail ? nbits : avail;
    const uint64_t byte = data_[pos_ >> 3];
    u = u << take | ((byte >> (avail - take)) & ((1u << take) - 1));
    pos_ += static_cast<size_t>(take);
    nbits -= take;
  }
  *out = u;
  return true;
}

bool XorChunkDecoder::ReadUvarint(uint64_t* out) {
  uint64_t x = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    uint64_t b = 0;
    if (!ReadBits(8, &b)) return false;
    x |= (b & 0x7f) << shift;
    if (b < 0x80) {
      *out = x;
      return true;
    }
  }
  return false;
}

bool XorChunkDecoder::ReadVarint(int64_t* out) {
  uint64_t z = 0;
  if (!ReadUvarint(&z)) return false;
  *out = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
  return true;
}

bool XorChunkDecoder::ReadValue() {
  bool bit = false;
  if (!ReadBit(&bit)) return false;
  if (bit) {
    if (!ReadBit(&bit)) return false;
    if (bit) {
      uint64_t leading = 0, sig = 0;
      if (!ReadBits(5, &leading) || !ReadBits(6, &sig)) return false;
      if (sig == 0) sig = 64;
      leading_ = static_cast<uint8_t>(leading);
      trailing_ = static_cast<uint8_t>(64 - leading - sig);
    }
    uint64_t bits = 0;
    const int sig = 64 - leading_ - trailing_;
    if (!ReadBits(sig, &bits)) return false;
    v_bits_ ^= bits << trailing_;
  }
  v_ = std::bit_cast<double>(v_bits_);
  return true;
}

bool XorChunkDecoder::Next(uint16_t i) {
  if (i == 0) {
    if (!ReadVarint(&t_)) return false;
    if (!ReadBits(64, &v_bits_)) return false;
    v_ = std::bit_cast<double>(v_bits_);
    return true;
  }
  if (i == 1) {
    if (!ReadUvarint(&t_delta_)) return false;
    t_ += static_cast<int64_t>(t_delta_);
    return ReadValue();
  }
  // Delta of delta: 0, 10, 110, 1110 or 1111 first.
  int prefix = 0;
  for (; prefix < 4; ++prefix) {
    bool b = false;
    if (!ReadBit(&b)) return false;
    if (!b) break;
  }
  int64_t dod = 0;
  if (prefix > 0) {
    const int size = prefix == 1 ? 14 : prefix == 2 ? 17 : prefix == 3 ? 20 : 64;
    uint64_t bits = 0;
    if (!ReadBits(size, &bits)) return false;
    if (size == 64) {
      dod = static_cast<int64_t>(bits);
    } else {
      dod = static_cast<int64_t>(bits);
      if (bits > (uint64_t{1} << (size - 1))) dod -= int64_t{1} << size;
    }
  }
  t_delta_ = static_cast<uint64_t>(static_cast<int64_t>(t_delta_) + dod);
  t_ += static_cast<int64_t>(t_delta_);
  return ReadValue();
}

namespace {
std::array<uint32_t, 256> CastagnoliTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

uint32_t Crc32cTable(const uint8_t* data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> kTable = CastagnoliTable();
  for (size_t i = 0; i < size; ++i) crc = kTable[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// SSE 4.2's crc32 instruction computes exactly this polynomial, 8 bytes at a time.
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(const uint8_t* data, size_t size,
                                                          uint32_t crc) {
  uint64_t c = crc;
  for (; size >= 8; data += 8, size -= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    c = __builtin_ia32_crc32di(c, word);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; size > 0; ++data, --size) c32 = __builtin_ia32_crc32qi(c32, *data);
  return c32;
}
#endif
}  // namespace

uint32_t Crc32c(const uint8_t* data, size_t size, uint32_t crc) {
#if defined(__x86_64__)
  static const bool kHardware = __builtin_cpu_supports("sse4.2");
  if (kHardware) return ~Crc32cHardware(data, size, ~crc);
#endif
  return ~Crc32cTable(data, size, ~crc);
}

}  // namespace gputwin::telemetry
