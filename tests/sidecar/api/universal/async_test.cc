#include "sidecar/api/universal/async.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::api::universal {
namespace {

// A component call under an outbound policy hands back the value it produced: the policy looks
// at each attempt's status, which for a value is OK.
TEST(RunOnComponentTest, ValueSurvivesAPolicy) {
  auto policy = std::make_shared<resiliency::Policy>();
  policy->timeout_ms = 5000;
  std::optional<StatusOr<int>> got;
  runOnComponent<StatusOr<int>>(
      nullptr, [] { return StatusOr<int>(42); }, [&](StatusOr<int> r) { got = std::move(r); },
      policy);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status().message();
  EXPECT_EQ(**got, 42);
}

TEST(RunOnComponentTest, ErrorSurvivesAPolicy) {
  auto policy = std::make_shared<resiliency::Policy>();
  policy->timeout_ms = 5000;
  std::optional<StatusOr<int>> got;
  runOnComponent<StatusOr<int>>(
      nullptr, [] { return StatusOr<int>(notFoundError("gone")); },
      [&](StatusOr<int> r) { got = std::move(r); }, policy);
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
  EXPECT_EQ(got->status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace outrigger::sidecar::api::universal
