#include "sidecar/pubsub/cloudevent.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::pubsub {
namespace {

json::Document parse(const std::string& s) {
  json::Document d;
  d.Parse(s.c_str());
  return d;
}

TEST(CloudEventTest, WrapsJsonPayload) {
  EnvelopeRequest r{"checkout", "pubsub", "orders", "application/json", R"({"id":1})", {}, "", ""};
  auto env = newEnvelope(r);
  ASSERT_TRUE(env.ok());
  auto d = parse(*env);
  EXPECT_STREQ(d["specversion"].GetString(), "1.0");
  EXPECT_STREQ(d["source"].GetString(), "checkout");
  EXPECT_STREQ(d["type"].GetString(), "com.dapr.event.sent");
  EXPECT_STREQ(d["topic"].GetString(), "orders");
  EXPECT_STREQ(d["pubsubname"].GetString(), "pubsub");
  EXPECT_EQ(d["data"]["id"].GetInt(), 1);
  EXPECT_EQ(std::string(d["id"].GetString()).size(), 36u);
  EXPECT_TRUE(d.HasMember("time"));
  EXPECT_TRUE(d.HasMember("traceparent"));
}

TEST(CloudEventTest, TextAndBinaryPayloads) {
  auto text = parse(*newEnvelope({"a", "p", "t", "", "hello", {}, "", ""}));
  EXPECT_STREQ(text["datacontenttype"].GetString(), "text/plain");
  EXPECT_STREQ(text["data"].GetString(), "hello");
  auto bin = parse(*newEnvelope({"a", "p", "t", "application/octet-stream", "hi", {}, "", ""}));
  EXPECT_STREQ(bin["data_base64"].GetString(), "aGk=");
  auto bad_json = parse(*newEnvelope({"a", "p", "t", "application/json", "{oops", {}, "", ""}));
  EXPECT_STREQ(bad_json["data"].GetString(), "{oops");
}

TEST(CloudEventTest, MetadataOverrides) {
  auto d = parse(*newEnvelope({"a",
                               "p",
                               "t",
                               "",
                               "x",
                               {{"cloudevent.id", "my-id"}, {"cloudevent.type", "my.type"}},
                               "",
                               ""}));
  EXPECT_STREQ(d["id"].GetString(), "my-id");
  EXPECT_STREQ(d["type"].GetString(), "my.type");
}

TEST(CloudEventTest, CompletesCallerEvent) {
  auto d = parse(*completeCallerEnvelope({"a",
                                          "p",
                                          "t",
                                          "application/cloudevents+json",
                                          R"({"id":"x","subject":"s","data":1})",
                                          {},
                                          "",
                                          ""}));
  EXPECT_STREQ(d["id"].GetString(), "x");
  EXPECT_STREQ(d["subject"].GetString(), "s");
  EXPECT_STREQ(d["topic"].GetString(), "t");
  EXPECT_STREQ(d["source"].GetString(), "Dapr");
  EXPECT_FALSE(completeCallerEnvelope({"a", "p", "t", "", "[1]", {}, "", ""}).ok());
}

}  // namespace
}  // namespace outrigger::sidecar::pubsub
