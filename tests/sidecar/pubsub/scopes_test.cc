#include "sidecar/pubsub/scopes.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::pubsub {
namespace {

runtime::Properties props(std::map<std::string, std::string> m) {
  runtime::Properties p;
  for (auto& [k, v] : m) p.set(k, v);
  return p;
}

TEST(ScopesTest, PublishingScopes) {
  auto p = props({{"publishingScopes", "app1=t1,t2;app2="}});
  EXPECT_TRUE(topicAllowed(p, "app1", "t1", TopicOperation::kPublish));
  EXPECT_FALSE(topicAllowed(p, "app1", "t3", TopicOperation::kPublish));
  EXPECT_FALSE(topicAllowed(p, "app2", "t1", TopicOperation::kPublish));
  EXPECT_TRUE(topicAllowed(p, "app3", "anything", TopicOperation::kPublish));
  EXPECT_TRUE(topicAllowed(p, "app2", "t1", TopicOperation::kSubscribe));
}

TEST(ScopesTest, AllowedAndProtectedTopics) {
  auto p =
      props({{"allowedTopics", "a,b"}, {"protectedTopics", "b"}, {"subscriptionScopes", "app1=b"}});
  EXPECT_TRUE(topicAllowed(p, "x", "a", TopicOperation::kPublish));
  EXPECT_FALSE(topicAllowed(p, "x", "c", TopicOperation::kPublish));
  EXPECT_FALSE(topicAllowed(p, "x", "b", TopicOperation::kSubscribe));
  EXPECT_TRUE(topicAllowed(p, "app1", "b", TopicOperation::kSubscribe));
}

}  // namespace
}  // namespace outrigger::sidecar::pubsub
