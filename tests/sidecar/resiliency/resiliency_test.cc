#include "sidecar/resiliency/resiliency.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::resiliency {
namespace {

runtime::Resource resource(const std::string& yaml) {
  runtime::Resource r;
  r.source = "res.yaml";
  r.kind = "Resiliency";
  r.name = "r";
  r.node = YAML::Load(yaml);
  return r;
}

TEST(ResiliencyTest, TargetsAndDefaults) {
  auto res = Resiliency::load({resource(R"(
spec:
  policies:
    timeouts: {short: 2s, DefaultTimeoutPolicy: 9s}
    retries:
      few: {policy: exponential, maxInterval: 3s, maxRetries: 2}
      DefaultStatestoreComponentOutboundRetryPolicy: {duration: 1s, maxRetries: 1}
    circuitBreakers:
      cb: {trip: consecutiveFailures > 3, timeout: 10s}
  targets:
    apps: {orders: {timeout: short, retry: few, circuitBreaker: cb}}
    components: {store1: {outbound: {retry: few}}}
)")},
                              "me");
  ASSERT_TRUE(res.ok()) << res.status().message();
  auto app = (*res)->app("orders");
  ASSERT_TRUE(app);
  EXPECT_EQ(*app->timeout_ms, 2000);
  EXPECT_TRUE(app->retry->exponential);
  EXPECT_TRUE(app->breaker);
  auto store1 = (*res)->componentOutbound("store1", "state");
  EXPECT_EQ(store1->retry->max_retries, 2);
  auto store2 = (*res)->componentOutbound("store2", "state");
  ASSERT_TRUE(store2);
  EXPECT_EQ(store2->retry->max_retries, 1);  // the statestore default
  EXPECT_EQ(*store2->timeout_ms, 9000);      // the generic default
  auto other = (*res)->app("other");
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->retry);
}

TEST(ResiliencyTest, ScopedAwayResourcesAreIgnored) {
  auto res = Resiliency::load(
      {resource("spec: {policies: {timeouts: {DefaultTimeoutPolicy: 1s}}}\nscopes: [x]")}, "me");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ((*res)->count(), 0u);
  EXPECT_EQ((*res)->app("a"), nullptr);
}

TEST(ResiliencyTest, ErrorsNameFileAndField) {
  struct Case {
    const char* yaml;
    const char* field;
  } cases[] = {
      {"spec: {policies: {timeouts: {t: soon}}}", "spec.policies.timeouts.t"},
      {"spec: {policies: {retries: {r: {policy: linear}}}}", "spec.policies.retries.r.policy"},
      {"spec: {policies: {circuitBreakers: {c: {trip: 'errors > 1'}}}}",
       "spec.policies.circuitBreakers.c.trip"},
      {"spec: {targets: {apps: {a: {retry: nope}}}}", "retry"},
  };
  for (const auto& c : cases) {
    auto res = Resiliency::load({resource(c.yaml)}, "me");
    ASSERT_FALSE(res.ok()) << c.yaml;
    EXPECT_NE(res.status().message().find(c.field), std::string::npos) << res.status().message();
    EXPECT_NE(res.status().message().find("res.yaml"), std::string::npos);
  }
}

}  // namespace
}  // namespace outrigger::sidecar::resiliency
