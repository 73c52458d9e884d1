// Go's time.ParseDuration / Duration.String examples (src/time/time_test.go) and RFC 3339.
#include <gtest/gtest.h>

#include <limits>

#include "core/time.h"

namespace gputwin {
namespace {

Duration D(const char* s) {
  std::string err;
  auto d = ParseDuration(s, &err);
  EXPECT_TRUE(d.has_value()) << s << ": " << err;
  return d.value_or(Duration{});
}

TEST(ParseDuration, GoExamples) {
  EXPECT_EQ(D("0").ns, 0);
  EXPECT_EQ(D("5s").ns, 5'000'000'000);
  EXPECT_EQ(D("90s"), Duration::Seconds(90));
  EXPECT_EQ(D("5m"), Duration::Minutes(5));
  EXPECT_EQ(D("720h"), Duration::Hours(720));
  EXPECT_EQ(D("1h30m"), Duration::Minutes(90));
  EXPECT_EQ(D("1.5h"), Duration::Minutes(90));
  EXPECT_EQ(D("-1.5h"), Duration::Minutes(-90));
  EXPECT_EQ(D("+5s"), Duration::Seconds(5));
  EXPECT_EQ(D("300ms").ns, 300'000'000);
  EXPECT_EQ(D("1\xC2\xB5s").ns, 1'000);  // µs
  EXPECT_EQ(D("1us").ns, 1'000);
  EXPECT_EQ(D("2h45m").ns, (2 * 3600 + 45 * 60) * 1'000'000'000LL);
  EXPECT_EQ(D(".5s").ns, 500'000'000);
  EXPECT_EQ(D("1.004s").ns, 1'004'000'000);
  EXPECT_EQ(D("100.00100s").ns, 100'001'000'000);
  EXPECT_EQ(D("9223372036854775807ns").ns, INT64_MAX);
}

TEST(ParseDuration, RejectsWhatGoRejects) {
  for (const char* bad : {"", "3", "-", "s", ".", "-.", ".s", "+.s", "1x", "1d", "3000000h",
                          "9223372036854775808ns"}) {
    std::string err;
    EXPECT_FALSE(ParseDuration(bad, &err).has_value()) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(FormatDuration, MatchesGoString) {
  EXPECT_EQ(FormatDuration(Duration{0}), "0s");
  EXPECT_EQ(FormatDuration(Duration::Minutes(90)), "1h30m0s");
  EXPECT_EQ(FormatDuration(Duration::Minutes(2)), "2m0s");
  EXPECT_EQ(FormatDuration(Duration::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(Duration::Milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(Duration{1}), "1ns");
  EXPECT_EQ(FormatDuration(Duration{1100}), "1.1\xC2\xB5s");
  EXPECT_EQ(FormatDuration(Duration::Hours(-2)), "-2h0m0s");
}

TEST(RFC3339, ParsesAndFormats) {
  std::string err;
  auto t = ParseRFC3339("2026-01-01T00:00:00Z", &err);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ns, 1767225600LL * 1'000'000'000);
  EXPECT_EQ(FormatRFC3339(*t), "2026-01-01T00:00:00Z");
  auto offset = ParseRFC3339("2026-01-01T02:00:00.5+02:00", &err);
  ASSERT_TRUE(offset);
  EXPECT_EQ(FormatRFC3339(*offset), "2026-01-01T00:00:00.5Z");
  EXPECT_EQ(FormatRFC3339(Time{0}), "1970-01-01T00:00:00Z");
  auto leap = ParseRFC3339("2024-02-29T23:59:59Z", &err);
  ASSERT_TRUE(leap);
  EXPECT_EQ(FormatRFC3339(*leap + Duration::Seconds(1)), "2024-03-01T00:00:00Z");
  EXPECT_FALSE(ParseRFC3339("2025-02-29T00:00:00Z", &err));
  EXPECT_FALSE(ParseRFC3339("2026-01-01 00:00:00", &err));
  EXPECT_FALSE(ParseRFC3339("2026-13-01T00:00:00Z", &err));
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

// Prometheus's durations (model.ParseDuration), as rule files and PromQL ranges write them.
TEST(PrometheusDuration, UnitsAndCompounds) {
  auto parse = [](const std::string& s) {
    size_t pos = 0;
    auto d = ParsePrometheusDuration(s, &pos);
    return d && pos == s.size() ? d->ns : int64_t{-1};
  };
  EXPECT_EQ(parse("30s"), Duration::Seconds(30).ns);
  EXPECT_EQ(parse("1h30m"), Duration::Minutes(90).ns);
  EXPECT_EQ(parse("100ms"), Duration::Milliseconds(100).ns);
  EXPECT_EQ(parse("1d"), Duration::Hours(24).ns);
  EXPECT_EQ(parse("2w"), Duration::Hours(24 * 14).ns);
  EXPECT_EQ(parse("1y"), Duration::Hours(24 * 365).ns);
  EXPECT_EQ(parse("5"), -1);  // a number without its unit
  EXPECT_EQ(parse("5x"), -1);
  EXPECT_EQ(parse(""), -1);
  // Past the int64 range of nanoseconds (found by fuzz/duration_fuzzer.cc: the product
  // overflowed, undefined behaviour), refused as model.ParseDuration's "out of range".
  EXPECT_EQ(parse("106751d23h47m16s"), Duration::Seconds(9'223'372'036).ns);
  EXPECT_EQ(parse("292y"), Duration::Hours(24 * 365 * 292).ns);
  EXPECT_EQ(parse("293y"), -1);
  EXPECT_EQ(parse("99999999999999999999s"), -1);
  EXPECT_EQ(parse("200y200y"), -1);
}

TEST(ParseDuration, RoundTripsEveryInt64) {
  // Go parses its own minimum back; the twin refused it (and the fuzzer's round trip
  // ParseDuration(FormatDuration(d)) == d caught it).
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(D("-2562047h47m16.854775808s").ns, kMin);
  EXPECT_EQ(D("-9223372036854775808ns").ns, kMin);
  std::string err;
  EXPECT_FALSE(ParseDuration("9223372036854775808ns", &err));
  for (int64_t ns : {kMin, kMin + 1, std::numeric_limits<int64_t>::max(), int64_t{-1}}) {
    EXPECT_EQ(D(FormatDuration(Duration{ns}).c_str()).ns, ns);
  }
  // A fraction of an hour with 31 digits: frac × unit wrapped 128 bits.
  EXPECT_EQ(D("0.9999999999999999999999999999999h").ns, 3'599'999'999'999);
}

TEST(RFC3339, OutsideTheInt64RangeOfNanosecondsIsRefused) {
  // Go's time.Time holds year 9999; the twin's instants are int64 nanoseconds (1677-2262).
  // seconds × 1e9 overflowed (UBSan) before; now a clear error.
  std::string err;
  EXPECT_FALSE(ParseRFC3339("9999-12-31T23:59:59Z", &err));
  EXPECT_EQ(err,
            "\"9999-12-31T23:59:59Z\" is outside the times the twin can hold "
            "(1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z)");
  EXPECT_FALSE(ParseRFC3339("1677-09-21T00:12:43Z", &err));
  EXPECT_TRUE(ParseRFC3339("2262-04-11T23:47:16.854775807Z", &err));
  EXPECT_TRUE(ParseRFC3339("1677-09-21T00:12:43.145224192Z", &err));
}

}  // namespace
}  // namespace gputwin

namespace gputwin {
namespace {

TEST(TimeArithmetic, SaturatesAtTheEndsOfTime) {
  // A manifest can hold durations whose sums leave int64 (2,562,047h is about INT64_MAX ns);
  // the sum is the end of time rather than a wrapped instant in the past.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const Time late{kMax - 10};
  EXPECT_EQ((late + Duration::Hours(1)).ns, kMax);
  EXPECT_EQ((Time{kMin + 10} + Duration::Hours(-1)).ns, kMin);
  EXPECT_EQ(Duration::Hours(2'562'048).ns, kMax);
  EXPECT_EQ(Duration::Seconds(-kMax).ns, kMin);
  EXPECT_EQ((Duration::Hours(2'000'000) * 4).ns, kMax);
  EXPECT_EQ((Time{kMax} - Time{kMin}).ns, kMax);
  EXPECT_EQ((Time{kMin} - Time{1}).ns, kMin);
  // Ordinary values are exact.
  EXPECT_EQ((Time{100} + Duration::Seconds(1)).ns, 1'000'000'100);
  EXPECT_EQ(Duration::Hours(2'562'047).ns, 2'562'047LL * 3600 * 1'000'000'000);
}

}  // namespace
}  // namespace gputwin
