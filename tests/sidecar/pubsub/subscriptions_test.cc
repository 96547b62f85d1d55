#include "sidecar/pubsub/subscriptions.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::pubsub {
namespace {

runtime::Resource resource(const std::string& yaml) {
  runtime::Resource r;
  r.source = "subs.yaml";
  r.kind = "Subscription";
  r.name = "s";
  r.node = YAML::Load(yaml);
  return r;
}

TEST(SubscriptionsTest, ParsesV2WithRules) {
  auto sub = parseDeclarative(resource(R"(
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: s}
spec:
  pubsubname: ps
  topic: orders
  routes:
    rules:
      - match: event.type == "big"
        path: big
    default: /orders
  deadLetterTopic: dead
scopes: [app1]
)"));
  ASSERT_TRUE(sub.ok()) << sub.status().message();
  EXPECT_EQ(sub->pubsub, "ps");
  EXPECT_EQ(sub->dead_letter_topic, "dead");
  ASSERT_EQ(sub->rules.size(), 2u);
  EXPECT_EQ(sub->rules[0].path, "/big");
  json::Document big, small;
  big.Parse(R"({"type":"big"})");
  small.Parse(R"({"type":"small"})");
  EXPECT_EQ(sub->route(big), "/big");
  EXPECT_EQ(sub->route(small), "/orders");
  EXPECT_EQ(sub->scopes, std::vector<std::string>{"app1"});
}

TEST(SubscriptionsTest, ParsesV1Route) {
  auto sub = parseDeclarative(resource("spec: {pubsubname: ps, topic: t, route: /r}"));
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->rules.size(), 1u);
  EXPECT_EQ(sub->rules[0].path, "/r");
}

TEST(SubscriptionsTest, ErrorsNameTheField) {
  auto missing = parseDeclarative(resource("spec: {topic: t, route: /r}"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("spec.pubsubname"), std::string::npos);
  auto bad = parseDeclarative(resource(
      "spec: {pubsubname: p, topic: t, routes: {rules: [{match: 'size(event) > 1', path: /x}]}}"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("spec.routes.rules[0].match"), std::string::npos);
  EXPECT_NE(bad.status().message().find("subs.yaml"), std::string::npos);
}

TEST(SubscriptionsTest, ParsesProgrammatic) {
  auto subs = parseProgrammatic(R"([
    {"pubsubname":"ps","topic":"a","route":"/a","metadata":{"rawPayload":"true"}},
    {"pubsubname":"ps","topic":"b","routes":{"rules":[{"match":"event.type == 'x'","path":"/x"}],"default":"/b"}},
    {"pubsubname":"ps","topic":"c"}
  ])");
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  ASSERT_EQ(subs->size(), 2u);  // no route at all: discarded
  EXPECT_TRUE((*subs)[0].rawPayload());
  EXPECT_EQ((*subs)[1].rules.size(), 2u);
  EXPECT_FALSE(parseProgrammatic("{").ok());
  EXPECT_FALSE(parseProgrammatic("{}").ok());
}

}  // namespace
}  // namespace outrigger::sidecar::pubsub
