// Prometheus's own storage formats, written by the twin: XOR chunks and a TSDB block,
// read back by the twin's decoder and by the real promtool.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "telemetry/registry.h"
#include "telemetry/tsdb_block.h"
#include "telemetry/xor_chunk.h"

namespace gputwin::telemetry {
namespace {
namespace fs = std::filesystem;

// Timestamps whose deltas of deltas fall in each of xor.go's buckets (0, 14, 17, 20 and
// 64 bits, both signs), and values that are equal, close, far, negative, tiny and huge.
std::vector<std::pair<int64_t, double>> Awkward() {
  std::vector<std::pair<int64_t, double>> out;
  int64_t t = 1'767'225'600'000;
  double v = 1;
  const int64_t deltas[] = {30'000,  30'000, 30'000,        1,      8'000,  8'193,  65'000, 1'000,
                            500'000, 30'000, 4'000'000'000, 30'000, 29'999, 30'001, 1,      100'000,
                            3};
  const double values[] = {1,    1,      1.5,    -2.25, 1e300, 1e-300, 0,   0,      42,
                           42.5, 1 / 3., 2 / 3., -0.0,  7,     7,      1e9, 1e9 + 1};
  out.emplace_back(t, v);
  for (size_t i = 0; i < std::size(deltas); ++i) {
    t += deltas[i];
    out.emplace_back(t, values[i]);
  }
  return out;
}

TEST(XorChunk, EverySampleReadsBackExactly) {
  XorChunkEncoder enc;
  const auto samples = Awkward();
  for (const auto& [t, v] : samples) enc.Append(t, v);
  EXPECT_EQ(enc.count(), samples.size());
  EXPECT_EQ(enc.mint(), samples.front().first);
  EXPECT_EQ(enc.maxt(), samples.back().first);
  std::vector<std::pair<int64_t, double>> got;
  ASSERT_TRUE(
      XorChunkDecoder(enc.bytes().data(), enc.bytes().size()).ForEach([&](int64_t t, double v) {
        got.emplace_back(t, v);
      }));
  ASSERT_EQ(got.size(), samples.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, samples[i].first) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(got[i].second), std::bit_cast<uint64_t>(samples[i].second))
        << i;
  }
  // A regular series of equal values: 2 bytes of count, the first timestamp as a 3-byte
  // varint (zigzag 2,000,000) and its 8-byte value, the first delta as a 3-byte uvarint
  // (30,000) and 1 bit for the equal value, then 2 bits a sample (delta of delta 0, value
  // unchanged) for 118 more: 16 bytes + 237 bits = 46 bytes.
  enc.Reset();
  for (int i = 0; i < 120; ++i) enc.Append(1'000'000 + 30'000 * i, 5);
  EXPECT_EQ(enc.bytes().size(), 46u);
}

TEST(Crc32c, MatchesTheCastagnoliCheckValue) {
  // The CRC-32C of "123456789" is 0xE3069283 (RFC 3720, the catalogue's check value).
  const std::string s = "123456789";
  EXPECT_EQ(Crc32c(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xE3069283u);
}

TEST(MakeUlid, EncodesTimeFirstInCrockfordBase32) {
  // 2026-01-01T00:00:00Z = 1767225600000 ms; ULIDs sort by time.
  const std::string a = MakeUlid(1'767'225'600'000, 0, 0);
  const std::string b = MakeUlid(1'767'225'600'001, 0, 0);
  EXPECT_EQ(a.size(), 26u);
  EXPECT_LT(a, b);
  EXPECT_EQ(a.substr(10), std::string(16, '0'));
  EXPECT_EQ(MakeUlid(0, 0, 1), "00000000000000000000000001");
}

bool OnPath(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// A block of a gauge sampled at awkward instants, a counter that ends (a staleness
// marker at the next scrape), and a histogram, dumped by promtool: every sample as written.
TEST(TsdbBlock, PromtoolReadsEverySampleBack) {
  if (!OnPath("promtool")) {
    GTEST_SKIP() << "promtool is not installed (Debian's prometheus package; scripts/setup.sh "
                    "installs it)";
  }
  const fs::path dir = fs::temp_directory_path() / ("gputwin-block-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Registry r;
  const auto gauge = r.Declare("a", {"awkward_gauge", "h", MetricType::kGauge, {"k"}, {}, ""});
  const auto counter =
      r.Declare("b", {"ended_total", "h", MetricType::kCounter, {"pod", "empty"}, {}, ""});
  const auto hist =
      r.Declare("b", {"wait_seconds", "h", MetricType::kHistogram, {}, {1, 2.5}, "seconds"});
  const auto samples = Awkward();
  std::string ulid;
  {
    TsdbBlockWriter block(dir.string(), Time{samples.front().first * 1'000'000}, 7, &r);
    const auto g = r.At(gauge, {{"k", "v"}});
    for (const auto& [t, v] : samples) {
      r.Set(g, v);
      r.Sample("a", Time{t * 1'000'000});
    }
    const auto c = r.At(counter, {{"pod", "p"}, {"empty", ""}});
    const auto h = r.At(hist, {});
    r.Add(c, 3);
    r.Observe(h, 2);
    r.Sample("b", Time{1'767'225'600'000'000'000});
    r.Retire(c, Time{1'767'225'610'000'000'000});
    r.Sample("b", Time{1'767'225'630'000'000'000});  // the marker goes here
    ulid = block.ulid();
    EXPECT_EQ(fs::path(block.Commit()), dir / ulid);
  }
  EXPECT_FALSE(fs::exists(dir / (ulid + ".tmp-for-creation")));
  fs::create_directories(dir / "wal");  // promtool opens the folder as a database
  const fs::path dump = dir / "dump.txt";
  ASSERT_EQ(std::system(("promtool tsdb dump " + dir.string() + " > " + dump.string() + " 2> " +
                         (dir / "dump.err").string())
                            .c_str()),
            0);
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> got;
  std::ifstream in(dump);
  for (std::string line; std::getline(in, line);) {
    const size_t close = line.rfind('}');
    std::istringstream rest(line.substr(close + 1));
    std::string value;
    int64_t t = 0;
    rest >> value >> t;
    got[line.substr(0, close + 1)].emplace_back(t, value);
  }
  const auto& g = got[R"({__name__="awkward_gauge", k="v"})"];
  ASSERT_EQ(g.size(), samples.size());
  for (size_t i = 0; i < g.size(); ++i) {
    EXPECT_EQ(g[i].first, samples[i].first) << i;
    EXPECT_EQ(std::stod(g[i].second), samples[i].second) << i;
  }
  // The empty label is no label; the counter ends with a staleness marker (NaN) at the
  // scrape after it was retired.
  const auto& c = got[R"({__name__="ended_total", pod="p"})"];
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], (std::pair<int64_t, std::string>{1'767'225'600'000, "3"}));
  EXPECT_EQ(c[1], (std::pair<int64_t, std::string>{1'767'225'630'000, "NaN"}));
  // The histogram: cumulative buckets with Go's `le`, then _count and _sum.
  EXPECT_EQ(got[R"({__name__="wait_seconds_bucket", le="1"})"][0].second, "0");
  EXPECT_EQ(got[R"({__name__="wait_seconds_bucket", le="2.5"})"][0].second, "1");
  EXPECT_EQ(got[R"({__name__="wait_seconds_bucket", le="+Inf"})"][0].second, "1");
  EXPECT_EQ(got[R"({__name__="wait_seconds_count"})"][1].second, "1");
  EXPECT_EQ(got[R"({__name__="wait_seconds_sum"})"][0].second, "2");
  EXPECT_EQ(got.size(), 7u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gputwin::telemetry
