// TextArena keeps text behind views for a whole run: every view handed out must still read
// its text after many more (the arena grows by blocks and never moves what it holds), and
// Word must give one copy per distinct text.
#include "core/text_arena.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gputwin {
namespace {

TEST(TextArena, ViewsStayValidAcrossBlocks) {
  TextArena arena;
  std::vector<std::string> texts;
  std::vector<std::string_view> views;
  // ~1.3 MB of messages: about twenty 64 KiB blocks.
  for (int i = 0; i < 20000; ++i) {
    texts.push_back("The workload is admitted (" + std::to_string(i) + "s after it was queued)");
    views.push_back(arena.Keep(texts.back()));
  }
  for (size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(views[i], texts[i]) << i;
}

TEST(TextArena, TextLongerThanABlock) {
  TextArena arena;
  const std::string_view before = arena.Keep("before");
  const std::string big(200000, 'x');
  const std::string_view kept = arena.Keep(big);
  const std::string_view after = arena.Keep("after");
  EXPECT_EQ(kept, big);
  EXPECT_EQ(before, "before");
  EXPECT_EQ(after, "after");
}

TEST(TextArena, EmptyTextIsEmpty) {
  TextArena arena;
  EXPECT_TRUE(arena.Keep("").empty());
  EXPECT_TRUE(arena.Word("").empty());
}

TEST(TextArena, WordKeepsOneCopyPerText) {
  TextArena arena;
  const std::string_view a = arena.Word(std::string("QuotaReserved"));
  const std::string_view b = arena.Word(std::string("QuotaReserved"));
  const std::string_view c = arena.Word(std::string("Admitted"));
  EXPECT_EQ(a, "QuotaReserved");
  EXPECT_EQ(a.data(), b.data());  // the same characters, not a second copy
  EXPECT_EQ(c, "Admitted");
  EXPECT_NE(a.data(), c.data());
}

TEST(TextArena, ViewsSurviveAMoveOfTheArena) {
  TextArena arena;
  const std::string_view kept = arena.Keep("Workload created for Job research/train-1");
  const std::string_view word = arena.Word("Created");
  TextArena moved = std::move(arena);
  EXPECT_EQ(kept, "Workload created for Job research/train-1");
  EXPECT_EQ(moved.Word("Created").data(), word.data());
  // The arena moved from starts afresh: its text lands in a block of its own.
  const std::string_view fresh = arena.Keep("fresh");  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(fresh, "fresh");
  EXPECT_EQ(kept, "Workload created for Job research/train-1");
  EXPECT_NE(arena.Word("Created").data(), word.data());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace gputwin
