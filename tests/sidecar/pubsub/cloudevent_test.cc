#include "sidecar/pubsub/cloudevent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

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

// Seconds since the epoch of an RFC 3339 UTC time as the envelope writes it; -1 if it is not one.
int64_t epochOf(const std::string& rfc3339) {
  std::tm tm{};
  const char* end = strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return -1;
  return timegm(&tm);
}

TEST(CloudEventTest, TtlSetsExpiration) {
  int64_t before = std::time(nullptr);
  auto d = parse(*newEnvelope({"a", "p", "t", "", "x", {{"ttlInSeconds", "60"}}, "", ""}));
  int64_t after = std::time(nullptr);
  ASSERT_TRUE(d.HasMember("expiration"));
  int64_t exp = epochOf(d["expiration"].GetString());
  EXPECT_GE(exp, before + 60) << d["expiration"].GetString();
  EXPECT_LE(exp, after + 60) << d["expiration"].GetString();
  // The caller's own CloudEvent gets it too.
  auto c = parse(*completeCallerEnvelope({"a",
                                          "p",
                                          "t",
                                          "application/cloudevents+json",
                                          R"({"id":"x","data":1})",
                                          {{"ttlInSeconds", "3600"}},
                                          "",
                                          ""}));
  ASSERT_TRUE(c.HasMember("expiration"));
  EXPECT_GE(epochOf(c["expiration"].GetString()), before + 3600);
  // Without a TTL (or with an empty one) there is no expiration.
  EXPECT_FALSE(parse(*newEnvelope({"a", "p", "t", "", "x", {}, "", ""})).HasMember("expiration"));
  EXPECT_FALSE(parse(*newEnvelope({"a", "p", "t", "", "x", {{"ttlInSeconds", ""}}, "", ""}))
                   .HasMember("expiration"));
}

TEST(CloudEventTest, BadTtlIsRejected) {
  for (const char* bad : {"soon", "-1", "0", "1.5", "10s", " 5", "99999999999999999999"}) {
    auto env = newEnvelope({"a", "p", "t", "", "x", {{"ttlInSeconds", bad}}, "", ""});
    ASSERT_FALSE(env.ok()) << bad;
    EXPECT_EQ(env.status().errorCode(), "ERR_PUBSUB_REQUEST_METADATA") << bad;
    EXPECT_EQ(env.status().httpStatus(), 400) << bad;
    EXPECT_FALSE(ttlInSeconds({{"ttlInSeconds", bad}}).ok()) << bad;
  }
  EXPECT_EQ(*ttlInSeconds({{"ttlInSeconds", "7"}}), std::optional<int64_t>(7));
  EXPECT_EQ(*ttlInSeconds({}), std::nullopt);
}

// A caller's own CloudEvent that is not a JSON object is the client's error: 400 (Dapr says 500).
TEST(CloudEventTest, CallerEventThatIsNotAJsonObjectIsABadRequest) {
  for (const std::string& body : {std::string("not json"), std::string("[1]"),
                                  std::string("{\"id\":"), std::string(100000, '[')}) {
    auto env =
        completeCallerEnvelope({"a", "p", "t", "application/cloudevents+json", body, {}, "", ""});
    ASSERT_FALSE(env.ok()) << body.substr(0, 20);
    EXPECT_EQ(env.status().errorCode(), "ERR_PUBSUB_CLOUD_EVENTS_SER") << body.substr(0, 20);
    EXPECT_EQ(env.status().httpStatus(), 400) << body.substr(0, 20);
  }
}

// JSON data nested past the limit is refused rather than enveloped: the envelope, a level deeper,
// must still parse where it is delivered. Data that is not JSON at all still goes as a string.
TEST(CloudEventTest, JsonDataNestedTooDeepIsABadRequest) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  auto deepest =
      newEnvelope({"a", "p", "t", "application/json", nested(json::kMaxDepth - 1), {}, "", ""});
  ASSERT_TRUE(deepest.ok()) << deepest.status().message();
  EXPECT_TRUE(json::parse(*deepest).ok());
  for (const std::string& data : {nested(json::kMaxDepth), std::string(4 << 20, '[')}) {
    auto env = newEnvelope({"a", "p", "t", "application/json", data, {}, "", ""});
    ASSERT_FALSE(env.ok());
    EXPECT_EQ(env.status().errorCode(), "ERR_PUBSUB_CLOUD_EVENTS_SER");
    EXPECT_EQ(env.status().httpStatus(), 400);
    EXPECT_THAT(env.status().message(), ::testing::HasSubstr("nested deeper than"));
  }
}

}  // namespace
}  // namespace outrigger::sidecar::pubsub
