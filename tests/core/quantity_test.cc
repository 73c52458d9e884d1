// resource.ParseQuantity cases (apimachinery quantity_test.go) and MilliValue rounding.
#include <gtest/gtest.h>

#include <limits>

#include "core/quantity.h"

namespace gputwin {
namespace {

int64_t Milli(const char* s) {
  std::string err;
  auto q = ParseQuantity(s, &err);
  EXPECT_TRUE(q.has_value()) << s << ": " << err;
  return q ? q->milli : -1;
}

TEST(Quantity, DecimalAndBinarySuffixes) {
  EXPECT_EQ(Milli("500m"), 500);
  EXPECT_EQ(Milli("2"), 2000);
  EXPECT_EQ(Milli("0.5"), 500);
  EXPECT_EQ(Milli(".5"), 500);
  EXPECT_EQ(Milli("1."), 1000);
  EXPECT_EQ(Milli("32Gi"), 32LL * 1024 * 1024 * 1024 * 1000);
  EXPECT_EQ(Milli("1.5G"), 1'500'000'000LL * 1000);
  EXPECT_EQ(Milli("1e3"), 1'000'000);
  EXPECT_EQ(Milli("1E3"), 1'000'000);
  EXPECT_EQ(Milli("1e-3"), 1);
  EXPECT_EQ(Milli("100Ki"), 102'400'000);
  EXPECT_EQ(Milli("1k"), 1'000'000);
  EXPECT_EQ(Milli("1M"), 1'000'000'000);
  EXPECT_EQ(Milli("+2"), 2000);
  EXPECT_EQ(Milli("-2"), -2000);
  EXPECT_EQ(Milli("0"), 0);
  EXPECT_EQ(Milli("007"), 7000);
}

TEST(Quantity, RoundsUpBelowAMilli) {
  // MilliValue() rounds up: 0.1m is one milli-unit; 1n is too.
  EXPECT_EQ(Milli("0.1m"), 1);
  EXPECT_EQ(Milli("1n"), 1);
  EXPECT_EQ(Milli("1500u"), 2);
  std::string err;
  EXPECT_EQ(ParseQuantity("1500m", &err)->Value(), 2);  // Value() rounds up too
  EXPECT_EQ(ParseQuantity("2", &err)->Value(), 2);
}

TEST(Quantity, RejectsMalformed) {
  for (const char* bad : {"", "two", "1.5.5", "5i", "1Gb", "1 Gi", "Gi", "-", "1e", "1.0e+"}) {
    std::string err;
    EXPECT_FALSE(ParseQuantity(bad, &err).has_value()) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(Quantity, RejectsOverflow) {
  std::string err;
  EXPECT_FALSE(ParseQuantity("99999999999999999999", &err));
  EXPECT_NE(err.find("too large"), std::string::npos);
  EXPECT_FALSE(ParseQuantity("10Ei", &err));
  EXPECT_TRUE(ParseQuantity("8Pi", &err));
}

TEST(Quantity, ExactWhateverTheDigitsAndExponent) {
  // Found by fuzz/quantity_fuzzer.cc. Digits past the 36th place were dropped before the
  // exponent made them count, and 128-bit intermediates overflowed (UBSan) on long inputs;
  // apimachinery's inf.Dec is exact: 0.<36 zeros>5e40 is 5000.
  EXPECT_EQ(Milli("0.0000000000000000000000000000000000005e40"), 5'000'000);
  EXPECT_EQ(Milli("0.0000000000000000000000000000000000000000001"), 1);  // rounds up
  EXPECT_EQ(Milli("100000000000000000000000000000000000000e-35"), 1'000'000);
  EXPECT_EQ(Milli("1.0000000000000000000000000000000000000001Ki"), 1'024'001);
  EXPECT_EQ(Milli("9223372036854775.807"), std::numeric_limits<int64_t>::max());
  std::string err;
  EXPECT_FALSE(ParseQuantity("9223372036854775.8071", &err));
  EXPECT_NE(err.find("too large"), std::string::npos);
  EXPECT_FALSE(ParseQuantity("100000000000000000000000000000000000000000000000000", &err));
}

TEST(Quantity, ValueNearTheInt64Range) {
  // Value() added 999 before dividing, past INT64_MAX for the largest quantities.
  EXPECT_EQ(Quantity{std::numeric_limits<int64_t>::max()}.Value(), 9'223'372'036'854'776);
  EXPECT_EQ(Quantity{std::numeric_limits<int64_t>::min()}.Value(), -9'223'372'036'854'775);
  EXPECT_EQ(Quantity{-1500}.Value(), -1);
}

TEST(Quantity, FormatsWhatParsesBack) {
  // parse(format(q)) == q, as resource.Quantity's String() round-trips.
  for (int64_t milli : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{1000}, int64_t{1024'000},
                        std::numeric_limits<int64_t>::max(),
                        std::numeric_limits<int64_t>::min() + 1, int64_t{1152921504606846976}}) {
    for (bool binary : {false, true}) {
      std::string err;
      auto back = ParseQuantity(FormatQuantity(Quantity{milli}, binary), &err);
      ASSERT_TRUE(back) << milli << ": " << err;
      EXPECT_EQ(back->milli, milli);
    }
  }
}

TEST(Quantity, Formats) {
  EXPECT_EQ(FormatQuantity(Quantity{500}), "500m");
  EXPECT_EQ(FormatQuantity(Quantity{2000}), "2");
  EXPECT_EQ(FormatQuantity(Quantity{32LL * 1024 * 1024 * 1024 * 1000}, true), "32Gi");
  EXPECT_EQ(FormatQuantity(Quantity{1'500'000'000LL * 1000}, true), "1500000000");
}

}  // namespace
}  // namespace gputwin
