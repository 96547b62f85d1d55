#include "common/logging/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace outrigger::logging {
namespace {

using ::testing::HasSubstr;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, FirstPassesThenOnePerIntervalWithTheCount) {
  RateLimiter limiter(std::chrono::seconds(10));
  Clock::time_point t0 = Clock::now();
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.allow(t0, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  for (int i = 0; i < 1000; ++i)
    EXPECT_FALSE(limiter.allow(t0 + std::chrono::seconds(9), &suppressed));
  EXPECT_TRUE(limiter.allow(t0 + std::chrono::seconds(10), &suppressed));
  EXPECT_EQ(suppressed, 1000u);
  EXPECT_FALSE(limiter.allow(t0 + std::chrono::seconds(11), &suppressed));
  EXPECT_TRUE(limiter.allow(t0 + std::chrono::seconds(60), &suppressed));
  EXPECT_EQ(suppressed, 1u);
}

TEST(RateLimiter, ConcurrentCallersLetOneThrough) {
  RateLimiter limiter(std::chrono::hours(1));
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      uint64_t suppressed = 0;
      for (int i = 0; i < 10000; ++i) passed += limiter.allow(&suppressed) ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 1);
}

void failSomething(int i) { LOG_WARN_EVERY(3600) << "accept failed: attempt " << i; }

TEST(LogEvery, EachCallSiteLogsItsFirstLineOnly) {
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 500; ++i) failSomething(i);
  LOG_WARN_EVERY(3600) << "another site";
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, HasSubstr("accept failed: attempt 0"));
  EXPECT_EQ(out.find("attempt 1\""), std::string::npos) << out;
  EXPECT_THAT(out, HasSubstr("another site"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
}

TEST(LogEvery, FilteredLevelsCostNothingAndCountNothing) {
  setLevel(Level::kError);
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 10; ++i) LOG_WARN_EVERY(1) << "hidden";
  std::string out = ::testing::internal::GetCapturedStderr();
  setLevel(Level::kInfo);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace outrigger::logging
