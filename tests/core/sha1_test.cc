// SHA-1 against the test vectors of FIPS 180-4's examples (and RFC 3174).
#include "core/sha1.h"

#include <gtest/gtest.h>

namespace gputwin {
namespace {

TEST(Sha1, FipsVectors) {
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

}  // namespace
}  // namespace gputwin
