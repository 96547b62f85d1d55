#include "sidecar/resiliency/policy.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::resiliency {
namespace {

TEST(PolicyTest, RetriesUntilSuccessWithinMaxRetries) {
  Policy p;
  p.retry = RetrySpec{false, 1, 10, 3, {}};
  int calls = 0;
  Status st = p.run([&] { return ++calls < 3 ? unavailableError("no") : okStatus(); });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 3);
  calls = 0;
  st = p.run([&] { return ++calls, unavailableError("no"); });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(calls, 4);  // one try + three retries
}

TEST(PolicyTest, PermanentErrorsAreNotRetried) {
  Policy p;
  p.retry = RetrySpec{false, 1, 10, 5, {}};
  int calls = 0;
  Status st = p.run([&] { return ++calls, abortedError("etag mismatch"); });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST(PolicyTest, CircuitBreakerOpensAndFailsFast) {
  auto trip = TripExpression::parse("consecutiveFailures > 2");
  ASSERT_TRUE(trip.ok());
  Policy p;
  p.breaker = std::make_shared<CircuitBreaker>(1, 0, 60000, *trip);
  int calls = 0;
  for (int i = 0; i < 5; ++i) p.run([&] { return ++calls, unavailableError("down"); });
  EXPECT_EQ(calls, 3);  // the breaker opened after the third failure
  EXPECT_EQ(p.breaker->state(), "open");
}

TEST(PolicyTest, TripExpressions) {
  EXPECT_TRUE(TripExpression::parse("consecutiveFailures >= 3 && requests > 10").ok());
  EXPECT_FALSE(TripExpression::parse("consecutiveFailures > x").ok());
  EXPECT_FALSE(TripExpression::parse("errors > 3").ok());
  EXPECT_FALSE(TripExpression::parse("").ok());
  TripExpression::Counts c;
  c.consecutive_failures = 4;
  c.requests = 5;
  EXPECT_FALSE(TripExpression::parse("consecutiveFailures >= 3 && requests > 10")->evaluate(c));
  EXPECT_TRUE(TripExpression::parse("consecutiveFailures >= 3 || requests > 10")->evaluate(c));
}

TEST(PolicyTest, ExponentialBackoffIsCapped) {
  RetrySpec r{true, 0, 2000, -1, {}};
  EXPECT_LE(r.backoff(1).count(), 750);
  EXPECT_LE(r.backoff(30).count(), 2000);
}

}  // namespace
}  // namespace outrigger::sidecar::resiliency
