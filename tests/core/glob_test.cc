// Shell-style globs as scenario actions and expectations use them (`pods: "train-*"`).
#include "core/glob.h"

#include <gtest/gtest.h>

#include <string>

namespace gputwin {
namespace {

TEST(Glob, StarsAndQuestionMarks) {
  EXPECT_TRUE(Glob("train-*", "train-worker-0"));
  EXPECT_TRUE(Glob("*", ""));
  EXPECT_TRUE(Glob("a*b*c", "axxbyyc"));
  EXPECT_TRUE(Glob("a*b*c", "abc"));
  EXPECT_TRUE(Glob("?-0", "a-0"));
  EXPECT_TRUE(Glob("*-0-*", "lws-0-1"));
  EXPECT_FALSE(Glob("*-0-*", "lws-0"));
  EXPECT_FALSE(Glob("a*b", "axxbc"));
  EXPECT_FALSE(Glob("?", ""));
  EXPECT_FALSE(Glob("abc", "ab"));
  EXPECT_TRUE(Glob("a**", "a"));
  EXPECT_TRUE(Glob("*a*a*", "banana"));
  EXPECT_FALSE(Glob("*a*a*a*a", "banana"));
}

TEST(Glob, ManyStarsAgainstALongNameEndQuickly) {
  // 17 stars and a long name without the final letter: the recursive matcher tried every
  // split of the name among the stars (exponential); this must answer at once.
  std::string pattern;
  for (int i = 0; i < 17; ++i) pattern += "*a";
  pattern += "*b";
  const std::string name(400, 'a');
  EXPECT_FALSE(Glob(pattern.c_str(), name.c_str()));
  EXPECT_TRUE(Glob(pattern.c_str(), (name + "b").c_str()));
}

}  // namespace
}  // namespace gputwin
