// Cron schedules as robfig/cron v3's standard parser reads them (KEDA's cron scaler), with
// next activations worked out by hand on a calendar.
#include <gtest/gtest.h>

#include "core/cron_schedule.h"

namespace gputwin {
namespace {

Time At(const char* rfc3339) {
  std::string err;
  return *ParseRFC3339(rfc3339, &err);
}

// 2026-01-01 is a Thursday.
TEST(CronSchedule, NextActivationsInUtc) {
  const auto weekdays9 = CronSchedule::Parse("0 9 * * 1-5");
  // Thursday 10:00 -> Friday 09:00; Friday 09:00 exactly -> Monday 09:00 (strictly after).
  EXPECT_EQ(weekdays9.Next(At("2026-01-01T10:00:00Z"), "UTC"), At("2026-01-02T09:00:00Z"));
  EXPECT_EQ(weekdays9.Next(At("2026-01-02T09:00:00Z"), "UTC"), At("2026-01-05T09:00:00Z"));
  // Seconds past a minute round up to the next matching minute.
  const auto every15 = CronSchedule::Parse("*/15 * * * *");
  EXPECT_EQ(every15.Next(At("2026-01-01T10:14:59Z"), "UTC"), At("2026-01-01T10:15:00Z"));
  EXPECT_EQ(every15.Next(At("2026-01-01T10:15:00Z"), "UTC"), At("2026-01-01T10:30:00Z"));
  // Names, lists and "N/step" (N to the max).
  const auto named = CronSchedule::Parse("30 8/6 * JAN,mar sun");
  EXPECT_EQ(named.Next(At("2026-01-01T00:00:00Z"), "UTC"), At("2026-01-04T08:30:00Z"));
  EXPECT_EQ(named.Next(At("2026-01-04T08:30:00Z"), "UTC"), At("2026-01-04T14:30:00Z"));
  EXPECT_EQ(named.Next(At("2026-01-25T20:30:00Z"), "UTC"), At("2026-03-01T08:30:00Z"));
  EXPECT_EQ(CronSchedule::Parse("@daily").Next(At("2026-01-01T00:00:00Z"), "UTC"),
            At("2026-01-02T00:00:00Z"));
}

// Day of month and day of week both restricted: either matches (the 13th or a Friday).
// With one of them a star, both must.
TEST(CronSchedule, DayOfMonthOrDayOfWeek) {
  const auto either = CronSchedule::Parse("0 0 13 * 5");
  EXPECT_EQ(either.Next(At("2026-01-01T00:00:00Z"), "UTC"), At("2026-01-02T00:00:00Z"));  // Fri
  EXPECT_EQ(either.Next(At("2026-01-12T00:00:00Z"), "UTC"), At("2026-01-13T00:00:00Z"));  // Tue
  const auto both = CronSchedule::Parse("0 0 13 * ?");
  EXPECT_EQ(both.Next(At("2026-01-01T00:00:00Z"), "UTC"), At("2026-01-13T00:00:00Z"));
}

// Local time of the zone: 09:00 in Berlin is 08:00 UTC in winter, 07:00 UTC in summer
// (CEST from 2026-03-29). New York: 02:30 on 2026-03-08 does not exist (clocks go from 02:00
// to 03:00); the activation lands after the gap, never before.
TEST(CronSchedule, TimeZones) {
  const auto nine = CronSchedule::Parse("0 9 * * *");
  EXPECT_EQ(nine.Next(At("2026-01-01T00:00:00Z"), "Europe/Berlin"), At("2026-01-01T08:00:00Z"));
  EXPECT_EQ(nine.Next(At("2026-06-01T00:00:00Z"), "Europe/Berlin"), At("2026-06-01T07:00:00Z"));
  const auto gap = CronSchedule::Parse("30 2 * * *");
  const Time next = gap.Next(At("2026-03-08T06:00:00Z"), "America/New_York");  // 01:00 EST
  EXPECT_GE(next, At("2026-03-08T07:00:00Z"));                                 // 03:00 EDT
  EXPECT_LE(next, At("2026-03-08T07:30:00Z"));
  EXPECT_TRUE(CronSchedule::ValidZone("Asia/Kolkata"));
  EXPECT_FALSE(CronSchedule::ValidZone("Mars/Olympus_Mons"));
}

TEST(CronSchedule, ErrorsAsRobfigCronWordsThem) {
  auto message = [](const char* spec) {
    try {
      CronSchedule::Parse(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("0 9 * *"), "expected exactly 5 fields, found 4: 0 9 * *");
  EXPECT_EQ(message("0 24 * * *"), "end of range (24) above maximum (23): 24");
  EXPECT_EQ(message("0 9 0 * *"), "beginning of range (0) below minimum (1): 0");
  EXPECT_EQ(message("0 9-8 * * *"), "beginning of range (9) beyond end of range (8): 9-8");
  EXPECT_EQ(message("x 9 * * *"), "failed to parse int from x");
  EXPECT_NE(message("@every 5m").find("not modelled"), std::string::npos);
}

}  // namespace
}  // namespace gputwin
