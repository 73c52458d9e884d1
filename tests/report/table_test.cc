// Report tables keep their columns in line when a name is wider than the usual width.
#include <gtest/gtest.h>

#include <sstream>

#include "report/table.h"

namespace gputwin::report {
namespace {

TEST(TextTable, AWideNameWidensItsColumnForEveryRow) {
  TextTable t({{"NAME", 8}, {"STATUS", 6}, {"FAILED", 6, true}});
  t.Add({"short", "Failed (PodFailurePolicy)", "3"});
  t.Add({"default/job-backoff-limit-per-index-failindex", "Complete", "0"});
  std::istringstream lines(t.Render());
  std::string header, a, b;
  std::getline(lines, header);
  std::getline(lines, a);
  std::getline(lines, b);
  // Every line is as long (the last column is right-aligned) and STATUS starts where
  // each row's status starts.
  EXPECT_EQ(header.size(), a.size());
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(header.find("STATUS"), a.find("Failed"));
  EXPECT_EQ(header.find("STATUS"), b.find("Complete"));
  EXPECT_EQ(header.substr(0, 6), "  NAME");
  EXPECT_EQ(b.back(), '0');
}

TEST(TextTable, NarrowCellsKeepTheUsualWidths) {
  TextTable t({{"NAME", 10}, {"N", 4, true}, {"WHY", 0, false, 2}});
  t.Add({"a", "1", "because"});
  EXPECT_EQ(t.Render(), "  NAME          N  WHY\n  a             1  because\n");
}

}  // namespace
}  // namespace gputwin::report
