#include "telemetry/tsdb_block.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "core/random.h"
#include "telemetry/openmetrics.h"
#include "telemetry/registry.h"
#include "telemetry/xor_chunk.h"

namespace gputwin::telemetry {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kMagicIndex = 0xBAAAD700;

// The index file, built in memory (a few bytes per series and chunk) and written at once.
class Buf {
 public:
  size_t size() const { return b_.size(); }
  void Be32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b_.push_back(static_cast<uint8_t>(v >> s));
  }
  void Be64(uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) b_.push_back(static_cast<uint8_t>(v >> s));
  }
  void Byte(uint8_t v) { b_.push_back(v); }
  void Uvarint(uint64_t v) {
    while (v >= 0x80) {
      b_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    b_.push_back(static_cast<uint8_t>(v));
  }
  void Varint(int64_t v) {
    Uvarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Str(const std::string& s) {
    Uvarint(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
  }
  void Pad(size_t align) {
    while (b_.size() % align != 0) b_.push_back(0);
  }
  // A section whose 4-byte length (of what follows it, before the CRC) is filled in later.
  size_t BeginSection() {
    const size_t at = b_.size();
    Be32(0);
    return at;
  }
  void EndSection(size_t at) {
    const size_t len = b_.size() - at - 4;
    for (int i = 0; i < 4; ++i) b_[at + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
    Be32(Crc32c(&b_[at + 4], len));
  }
  void Append(const Buf& o) { b_.insert(b_.end(), o.b_.begin(), o.b_.end()); }
  uint32_t Crc(size_t from) const { return Crc32c(&b_[from], b_.size() - from); }
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  std::vector<uint8_t> b_;
};

void WriteFile(const fs::path& p, const std::vector<uint8_t>& data) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f || std::fwrite(data.data(), 1, data.size(), f) != data.size() || std::fclose(f) != 0) {
    throw std::runtime_error("cannot write " + p.string());
  }
}

}  // namespace

std::string MakeUlid(int64_t ms, uint64_t hi16, uint64_t lo64) {
  static const char* kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  // 128 bits: 48 of time, 80 of randomness; 26 characters of 5 bits (the first holds 3).
  const unsigned __int128 v = (static_cast<unsigned __int128>(static_cast<uint64_t>(ms)) << 80) |
                              (static_cast<unsigned __int128>(hi16 & 0xffff) << 64) | lo64;
  std::string out(26, '0');
  for (int i = 25; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kAlphabet[static_cast<unsigned>((v >> (5 * (25 - i))) & 31)];
  }
  return out;
}

TsdbBlockWriter::TsdbBlockWriter(const std::string& data_dir, Time start, uint64_t seed,
                                 Registry* registry)
    : registry_(registry), data_dir_(data_dir) {
  const int64_t ms = start.ns / 1'000'000;
  RandomStream rng(seed, "tsdb-block");
  const uint64_t hi = rng.Next(), lo = rng.Next();
  ulid_ = MakeUlid(ms, hi, lo);
  tmp_ = (fs::path(data_dir) / (ulid_ + ".tmp-for-creation")).string();
  std::error_code ec;
  fs::remove_all(tmp_, ec);
  fs::create_directories(fs::path(tmp_) / "chunks", ec);
  if (ec) throw std::runtime_error("cannot create " + tmp_ + ": " + ec.message());
  registry_->EnableSpool((fs::path(tmp_) / "chunks").string());
}

TsdbBlockWriter::~TsdbBlockWriter() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
}

std::string TsdbBlockWriter::Commit() {
  SampleSpool* spool = registry_->mutable_spool();
  spool->Seal();
  // The series as Prometheus stores them: __name__ among the labels, empty values dropped
  // (a label with an empty value is no label), sorted by label set. Strings are referenced,
  // not copied: a week of a large cluster has hundreds of thousands of series.
  std::unordered_set<std::string> owned;  // metric names with suffixes, `le` values
  struct Raw {
    const std::string* name;
    const Labels* labels;
    const std::string* le;  // nullptr: none
    uint32_t stream;
  };
  std::vector<Raw> raw;
  ForEachSpooledStream(*registry_, [&](uint32_t stream, const std::string& name,
                                       const Labels& labels, const std::string& le) {
    if (spool->Chunks(stream).empty()) return;
    raw.push_back({&*owned.insert(name).first, &labels,
                   le.empty() ? nullptr : &*owned.insert(le).first, stream});
  });
  static const std::string kName = "__name__", kLe = "le";
  // Symbols: every name and value, sorted; referenced by position (index format v2).
  std::unordered_set<std::string_view> unique = {kName};
  for (const auto& r : raw) {
    unique.insert(*r.name);
    if (r.le) {
      unique.insert(kLe);
      unique.insert(*r.le);
    }
    for (const auto& [k, v] : *r.labels) {
      if (v.empty()) continue;
      unique.insert(k);
      unique.insert(v);
    }
  }
  std::vector<std::string_view> symbols(unique.begin(), unique.end());
  std::sort(symbols.begin(), symbols.end());
  std::unordered_map<std::string_view, uint32_t> symbol_ref;
  for (size_t i = 0; i < symbols.size(); ++i) symbol_ref.emplace(symbols[i], uint32_t(i));
  // Each series as (name, value) symbol pairs: symbols are in string order, so comparing
  // the pairs compares the label sets as Prometheus does.
  struct Entry {
    std::vector<std::pair<uint32_t, uint32_t>> labels;
    uint32_t stream;
  };
  std::vector<Entry> entries;
  entries.reserve(raw.size());
  for (const auto& r : raw) {
    Entry e;
    e.stream = r.stream;
    e.labels.reserve(r.labels->size() + 2);
    e.labels.emplace_back(symbol_ref.at(kName), symbol_ref.at(*r.name));
    if (r.le) e.labels.emplace_back(symbol_ref.at(kLe), symbol_ref.at(*r.le));
    for (const auto& [k, v] : *r.labels) {
      if (!v.empty()) e.labels.emplace_back(symbol_ref.at(k), symbol_ref.at(v));
    }
    std::sort(e.labels.begin(), e.labels.end());
    entries.push_back(std::move(e));
  }
  std::vector<Raw>().swap(raw);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.labels < b.labels; });

  Buf b;
  b.Be32(kMagicIndex);
  b.Byte(2);  // index format v2
  const uint64_t toc_symbols = b.size();
  {
    const size_t at = b.BeginSection();
    b.Be32(static_cast<uint32_t>(symbols.size()));
    for (const auto& sym : symbols) b.Str(std::string(sym));
    b.EndSection(at);
  }
  // Series, each 16-byte aligned; its ID is its offset / 16.
  b.Pad(16);
  const uint64_t toc_series = b.size();
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> postings;
  std::vector<uint32_t> all;
  int64_t min_t = INT64_MAX, max_t = INT64_MIN;
  for (const auto& e : entries) {
    b.Pad(16);
    const auto id = static_cast<uint32_t>(b.size() / 16);
    all.push_back(id);
    for (const auto& kv : e.labels) postings[kv].push_back(id);
    Buf body;
    body.Uvarint(e.labels.size());
    for (const auto& [k, v] : e.labels) {
      body.Uvarint(k);
      body.Uvarint(v);
    }
    const auto& chunks = spool->Chunks(e.stream);
    body.Uvarint(chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
      const auto& c = chunks[i];
      if (i == 0) {
        body.Varint(c.mint);
        body.Uvarint(static_cast<uint64_t>(c.maxt - c.mint));
        body.Uvarint(c.ref);
      } else {
        body.Uvarint(static_cast<uint64_t>(c.mint - chunks[i - 1].maxt));
        body.Uvarint(static_cast<uint64_t>(c.maxt - c.mint));
        body.Varint(static_cast<int64_t>(c.ref - chunks[i - 1].ref));
      }
      min_t = std::min(min_t, c.mint);
      max_t = std::max(max_t, c.maxt);
    }
    stats_.chunks += chunks.size();
    b.Uvarint(body.size());
    const size_t from = b.size();
    b.Append(body);
    b.Be32(b.Crc(from));
  }
  // Label indices (no longer read, still written): each name's values.
  std::map<uint32_t, std::vector<uint32_t>> values_of;  // by name, in string order
  for (const auto& [kv, ids] : postings) values_of[kv.first].push_back(kv.second);
  b.Pad(4);
  const uint64_t toc_label_indices = b.size();
  std::vector<std::pair<uint32_t, uint64_t>> label_offsets;
  for (const auto& [name, refs] : values_of) {
    b.Pad(4);
    label_offsets.emplace_back(name, b.size());
    const size_t at = b.BeginSection();
    b.Be32(1);
    b.Be32(static_cast<uint32_t>(refs.size()));
    for (uint32_t r : refs) b.Be32(r);
    b.EndSection(at);
  }
  const uint64_t toc_label_offsets = b.size();
  {
    const size_t at = b.BeginSection();
    b.Be32(static_cast<uint32_t>(label_offsets.size()));
    for (const auto& [name, off] : label_offsets) {
      b.Byte(1);
      b.Str(std::string(symbols[name]));
      b.Uvarint(off);
    }
    b.EndSection(at);
  }
  // Postings: every series first (the empty label pair), then each pair's series.
  b.Pad(4);
  const uint64_t toc_postings = b.size();
  std::vector<std::pair<std::pair<std::string_view, std::string_view>, uint64_t>> posting_offsets;
  auto write_postings = [&](std::string_view name, std::string_view value,
                            const std::vector<uint32_t>& ids) {
    b.Pad(4);
    posting_offsets.push_back({{name, value}, b.size()});
    const size_t at = b.BeginSection();
    b.Be32(static_cast<uint32_t>(ids.size()));
    for (uint32_t id : ids) b.Be32(id);
    b.EndSection(at);
  };
  write_postings("", "", all);
  for (const auto& [kv, ids] : postings) write_postings(symbols[kv.first], symbols[kv.second], ids);
  const uint64_t toc_posting_offsets = b.size();
  {
    const size_t at = b.BeginSection();
    b.Be32(static_cast<uint32_t>(posting_offsets.size()));
    for (const auto& [kv, off] : posting_offsets) {
      b.Byte(2);
      b.Str(std::string(kv.first));
      b.Str(std::string(kv.second));
      b.Uvarint(off);
    }
    b.EndSection(at);
  }
  const size_t toc = b.size();
  for (uint64_t ref : {toc_symbols, toc_series, toc_label_indices, toc_label_offsets, toc_postings,
                       toc_posting_offsets}) {
    b.Be64(ref);
  }
  b.Be32(b.Crc(toc));
  const fs::path dir(tmp_);
  WriteFile(dir / "index", b.bytes());
  // An empty tombstones file: magic, version 1, the CRC32C of no tombstones.
  WriteFile(dir / "tombstones", {0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0});
  stats_.series = entries.size();
  stats_.samples = spool->samples();
  stats_.bytes = spool->chunk_bytes() + b.size();
  if (entries.empty()) min_t = max_t = 0;
  nlohmann::ordered_json meta = {{"ulid", ulid_},
                                 {"minTime", min_t},
                                 {"maxTime", max_t + 1},  // exclusive
                                 {"stats",
                                  {{"numSamples", stats_.samples},
                                   {"numSeries", stats_.series},
                                   {"numChunks", stats_.chunks}}},
                                 {"compaction", {{"level", 1}, {"sources", {ulid_}}}},
                                 {"version", 1}};
  const std::string text = meta.dump(1, '\t') + "\n";
  WriteFile(dir / "meta.json", std::vector<uint8_t>(text.begin(), text.end()));
  const fs::path final_dir = fs::path(data_dir_) / ulid_;
  std::error_code ec;
  fs::remove_all(final_dir, ec);
  fs::rename(dir, final_dir, ec);
  if (ec) throw std::runtime_error("cannot move the block into " + final_dir.string());
  committed_ = true;
  return final_dir.string();
}

}  // namespace gputwin::telemetry
