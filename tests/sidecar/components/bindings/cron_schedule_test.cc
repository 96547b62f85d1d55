#include "sidecar/components/bindings/cron/cron_schedule.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::components::bindings::cron {
namespace {

// 2026-01-01T00:00:00Z, a Thursday.
constexpr int64_t kNewYear = 1767225600;

TEST(CronScheduleTest, Every) {
  auto s = CronSchedule::parse("@every 15s");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->next(kNewYear), kNewYear + 15);
  EXPECT_FALSE(CronSchedule::parse("@every 10ms").ok());
}

TEST(CronScheduleTest, FiveAndSixFields) {
  auto five = CronSchedule::parse("30 * * * *");  // minute 30 of every hour
  ASSERT_TRUE(five.ok());
  EXPECT_EQ(five->next(kNewYear), kNewYear + 30 * 60);
  auto six = CronSchedule::parse("*/10 * * * * *");
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(six->next(kNewYear), kNewYear + 10);
  auto daily = CronSchedule::parse("@daily");
  EXPECT_EQ(daily->next(kNewYear), kNewYear + 86400);
}

TEST(CronScheduleTest, NamesAndWeekdays) {
  auto mon = CronSchedule::parse("0 0 9 * * MON");
  ASSERT_TRUE(mon.ok());
  // The first Monday after Thursday 1 January 2026 is 5 January.
  EXPECT_EQ(mon->next(kNewYear), kNewYear + 4 * 86400 + 9 * 3600);
  auto feb = CronSchedule::parse("0 0 0 1 FEB *");
  ASSERT_TRUE(feb.ok());
  EXPECT_EQ(feb->next(kNewYear), kNewYear + 31 * 86400);
}

TEST(CronScheduleTest, RejectsBadSchedules) {
  for (const char* bad : {"", "* * *", "61 * * * *", "* * * * * * *", "@sometimes", "*/0 * * * *",
                          "5-1 * * * *", "x * * * *"}) {
    EXPECT_FALSE(CronSchedule::parse(bad).ok()) << bad;
  }
  // Numbers beyond int: a step fires once, a value is refused (not wrapped around to 1).
  auto huge_step = CronSchedule::parse("0 */3333333331 * * * *");
  ASSERT_TRUE(huge_step.ok());
  EXPECT_EQ(huge_step->next(kNewYear), kNewYear + 3600);
  EXPECT_FALSE(CronSchedule::parse("4294967297 * * * *").ok());
  auto never = CronSchedule::parse("0 0 0 30 FEB *");
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->next(kNewYear), -1);
}

}  // namespace
}  // namespace outrigger::sidecar::components::bindings::cron
