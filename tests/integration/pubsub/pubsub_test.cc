// Pub/sub through the real outriggerd with the in-memory broker: delivery, routing, retries,
// dead-lettering, backpressure and bad subscription files.

#include <gtest/gtest.h>

#include <atomic>

#include "common/json/json.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

const char* kComponents = R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - name: maxQueueSize
    value: "3"
  - name: publishTimeout
    value: 300ms
  - name: retryInterval
    value: 20ms
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: orders
spec:
  pubsubname: pubsub
  topic: orders
  routes:
    rules:
    - match: event.data.kind == "big"
      path: /big
    default: /orders
  deadLetterTopic: dead
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: dead
spec:
  pubsubname: pubsub
  topic: dead
  routes:
    default: /dead
)";

class PubSubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("outrigger-pubsub");
    writeFile(dir_ + "/components.yaml", kComponents);
  }
  bool startSidecar() {
    return sidecar_.start({"--app-id", "orders-app", "--app-port", std::to_string(app_.port()),
                           "--resources-path", dir_});
  }
  http::Response publish(const std::string& topic, const std::string& body) {
    return sidecar_.request(verb::post, "/v1.0/publish/pubsub/" + topic, body);
  }
  static size_t count(const std::vector<Received>& r, const std::string& path) {
    return std::count_if(r.begin(), r.end(), [&](const Received& x) { return x.target == path; });
  }
  std::string dir_;
  TestApp app_;
  SidecarProcess sidecar_;
};

TEST_F(PubSubTest, DeliversCloudEventsAndRoutes) {
  ASSERT_TRUE(startSidecar()) << sidecar_.log();
  EXPECT_EQ(publish("orders", R"({"kind":"big","n":1})").result_int(), 204u);
  EXPECT_EQ(publish("orders", R"({"kind":"small","n":2})").result_int(), 204u);
  ASSERT_TRUE(app_.waitFor([](auto& r) {
    return count(r, "/big") == 1 && count(r, "/orders") == 1;
  })) << sidecar_.log();
  for (const auto& r : app_.received()) {
    if (r.target != "/big") continue;
    EXPECT_EQ(r.content_type, "application/cloudevents+json");
    json::Document ev;
    ev.Parse(r.body.c_str());
    ASSERT_TRUE(ev.IsObject());
    EXPECT_STREQ(ev["source"].GetString(), "orders-app");
    EXPECT_STREQ(ev["topic"].GetString(), "orders");
    EXPECT_STREQ(ev["pubsubname"].GetString(), "pubsub");
    EXPECT_EQ(ev["data"]["n"].GetInt(), 1);
  }
  auto md = sidecar_.request(verb::get, "/v1.0/metadata");
  EXPECT_NE(md.body().find("\"topic\":\"orders\""), std::string::npos) << md.body();
  EXPECT_NE(md.body().find("DECLARATIVE"), std::string::npos);
}

TEST_F(PubSubTest, RetriesUntilTheAppSucceeds) {
  std::atomic<int> failures{0};
  app_.setBehaviour([&](const http::Request& req) {
    if (req.target() == "/orders" && failures++ < 3) return http::makeResponse(500);
    if (req.target() == "/orders" && failures.load() == 4) {
      failures++;
      return http::makeResponse(200, R"({"status":"RETRY"})", "application/json");
    }
    return http::makeResponse(200);
  });
  // Without a resiliency policy a failed delivery goes to the dead-letter topic; use a
  // subscription without one here.
  writeFile(dir_ + "/components.yaml",
            std::string(kComponents)
                .replace(std::string(kComponents).find("  deadLetterTopic: dead\n"), 23, ""));
  ASSERT_TRUE(startSidecar()) << sidecar_.log();
  ASSERT_EQ(publish("orders", R"({"n":7})").result_int(), 204u);
  ASSERT_TRUE(app_.waitFor([](auto& r) { return count(r, "/orders") >= 5; })) << sidecar_.log();
  // Acknowledged only after success: nothing more arrives once the app said OK.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(count(app_.received(), "/orders"), 5u);
  EXPECT_EQ(count(app_.received(), "/dead"), 0u);
}

TEST_F(PubSubTest, DropAndFailuresGoToTheDeadLetterTopic) {
  app_.setBehaviour([](const http::Request& req) {
    if (req.target() == "/big")
      return http::makeResponse(200, R"({"status":"DROP"})", "application/json");
    if (req.target() == "/orders") return http::makeResponse(500);
    return http::makeResponse(200);
  });
  ASSERT_TRUE(startSidecar()) << sidecar_.log();
  ASSERT_EQ(publish("orders", R"({"kind":"big"})").result_int(), 204u);
  ASSERT_EQ(publish("orders", R"({"kind":"small"})").result_int(), 204u);
  ASSERT_TRUE(app_.waitFor([](auto& r) { return count(r, "/dead") == 2; })) << sidecar_.log();
}

TEST_F(PubSubTest, SlowAppPushesBackInsteadOfGrowingQueues) {
  std::atomic<bool> release{false};
  app_.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post) return http::makeResponse(404);  // e.g. GET /dapr/subscribe
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return http::makeResponse(200);
  });
  ASSERT_TRUE(startSidecar()) << sidecar_.log();
  // Publishing before the subscription exists would drop the messages: wait until it is listed.
  bool subscribed = false;
  for (int i = 0; i < 500 && !subscribed; ++i) {
    subscribed = sidecar_.request(verb::get, "/v1.0/metadata").body().find("\"topic\":\"dead\"") !=
                 std::string::npos;
    if (!subscribed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(subscribed) << sidecar_.log();
  int accepted = 0, refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto res = publish("dead", R"({"i":)" + std::to_string(i) + "}");
    if (res.result_int() == 204) {
      accepted++;
    } else {
      refused++;
      EXPECT_EQ(res.result_int(), 500u);
      EXPECT_NE(res.body().find("ERR_PUBSUB_PUBLISH_MESSAGE"), std::string::npos) << res.body();
    }
  }
  // One message in delivery plus a queue of three: the rest are refused, not buffered.
  EXPECT_LE(accepted, 4);
  EXPECT_GE(refused, 6);
  release = true;
  ASSERT_TRUE(
      app_.waitFor([&](auto& r) { return count(r, "/dead") == static_cast<size_t>(accepted); }));
}

TEST_F(PubSubTest, PublishErrors) {
  ASSERT_TRUE(startSidecar()) << sidecar_.log();
  auto unknown = sidecar_.request(verb::post, "/v1.0/publish/nope/orders", "{}");
  EXPECT_EQ(unknown.result_int(), 404u);
  EXPECT_NE(unknown.body().find("ERR_PUBSUB_NOT_FOUND"), std::string::npos);
  auto raw =
      sidecar_.request(verb::post, "/v1.0/publish/pubsub/orders?metadata.rawPayload=maybe", "{}");
  EXPECT_EQ(raw.result_int(), 400u);
  EXPECT_NE(raw.body().find("ERR_PUBSUB_REQUEST_METADATA"), std::string::npos);
  auto bulk_bad =
      sidecar_.request(verb::post, "/v1.0-alpha1/publish/bulk/pubsub/orders", R"([{"event":1}])");
  EXPECT_EQ(bulk_bad.result_int(), 400u);
  auto bulk =
      sidecar_.request(verb::post, "/v1.0-alpha1/publish/bulk/pubsub/orders",
                       R"([{"entryID":"a","event":{"kind":"big"},"contentType":"application/json"},
                                   {"entryId":"b","event":"plain","contentType":"text/plain"}])");
  EXPECT_EQ(bulk.result_int(), 204u) << bulk.body();
  ASSERT_TRUE(
      app_.waitFor([](auto& r) { return count(r, "/big") == 1 && count(r, "/orders") == 1; }));
}

// metadata.ttlInSeconds: the event carries an `expiration`; one that expired while the app kept
// answering RETRY is dropped, never delivered later, while one without a TTL still is.
TEST_F(PubSubTest, ExpiredEventsAreNotDeliveredLater) {
  std::atomic<bool> available{false};
  std::atomic<int> refused{0};
  app_.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post) return http::makeResponse(404);
    if (!available) {
      refused++;
      return http::makeResponse(200, R"({"status":"RETRY"})", "application/json");
    }
    return http::makeResponse(200);
  });
  ASSERT_TRUE(startSidecar()) << sidecar_.log();
  bool subscribed = false;
  for (int i = 0; i < 500 && !subscribed; ++i) {
    subscribed = sidecar_.request(verb::get, "/v1.0/metadata").body().find("\"topic\":\"dead\"") !=
                 std::string::npos;
    if (!subscribed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(subscribed) << sidecar_.log();
  // The "dead" subscription has no dead-letter topic: the broker redelivers until the app takes it.
  ASSERT_EQ(sidecar_
                .request(verb::post, "/v1.0/publish/pubsub/dead?metadata.ttlInSeconds=1",
                         R"({"which":"short"})")
                .result_int(),
            204u);
  ASSERT_EQ(publish("dead", R"({"which":"kept"})").result_int(), 204u);
  ASSERT_TRUE(app_.waitFor([&](auto&) { return refused.load() >= 2; })) << sidecar_.log();
  // The expiration has a one-second resolution: after 2.5 s the first event has expired.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  size_t before = app_.received().size();
  available = true;
  // The in-memory broker keeps order: once "kept" arrived, "short" was dealt with.
  ASSERT_TRUE(app_.waitFor([&](auto& r) {
    for (size_t i = before; i < r.size(); ++i) {
      if (r[i].body.find("kept") != std::string::npos) return true;
    }
    return false;
  })) << sidecar_.log();
  bool saw_expiration = false;
  auto got = app_.received();
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].method != "POST" || got[i].target != "/dead") continue;  // e.g. GET /dapr/subscribe
    json::Document ev;
    ev.Parse(got[i].body.c_str());
    ASSERT_TRUE(ev.IsObject()) << got[i].body;
    std::string which = ev["data"]["which"].GetString();
    if (which == "short") {
      saw_expiration = ev.HasMember("expiration") && ev["expiration"].IsString();
      EXPECT_LT(i, before) << "the expired event was delivered after the app became available";
    } else {
      EXPECT_FALSE(ev.HasMember("expiration")) << got[i].body;
    }
  }
  EXPECT_TRUE(saw_expiration) << "the event with a TTL carried no expiration";
}

TEST_F(PubSubTest, BadTtlIsRejected) {
  ASSERT_TRUE(startSidecar()) << sidecar_.log();
  for (const char* bad : {"soon", "-5"}) {
    for (const char* raw : {"false", "true"}) {
      auto res =
          sidecar_.request(verb::post,
                           std::string("/v1.0/publish/pubsub/orders?metadata.ttlInSeconds=") + bad +
                               "&metadata.rawPayload=" + raw,
                           "{}");
      EXPECT_EQ(res.result_int(), 400u) << bad;
      EXPECT_NE(res.body().find("ERR_PUBSUB_REQUEST_METADATA"), std::string::npos) << res.body();
    }
  }
  auto bulk = sidecar_.request(
      verb::post, "/v1.0-alpha1/publish/bulk/pubsub/orders",
      R"([{"entryId":"a","event":"x","contentType":"text/plain","metadata":{"ttlInSeconds":"-1"}}])");
  EXPECT_EQ(bulk.result_int(), 400u) << bulk.body();
  EXPECT_NE(bulk.body().find("ERR_PUBSUB_REQUEST_METADATA"), std::string::npos) << bulk.body();
  auto bulk_ok = sidecar_.request(
      verb::post, "/v1.0-alpha1/publish/bulk/pubsub/orders?metadata.ttlInSeconds=60",
      R"([{"entryId":"a","event":{"kind":"big"},"contentType":"application/json"}])");
  EXPECT_EQ(bulk_ok.result_int(), 204u) << bulk_ok.body();
  ASSERT_TRUE(app_.waitFor([](auto& r) { return count(r, "/big") == 1; })) << sidecar_.log();
  for (const auto& r : app_.received()) {
    if (r.target == "/big") {
      EXPECT_NE(r.body.find("\"expiration\""), std::string::npos) << r.body;
    }
  }
}

TEST_F(PubSubTest, BadSubscriptionFailsStartUp) {
  writeFile(dir_ + "/bad.yaml", R"(apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: broken
spec:
  pubsubname: pubsub
  topic: t
  routes:
    rules:
    - match: size(event.data) > 2
      path: /x
)");
  std::string out;
  int code = SidecarProcess::runToExit({"--app-id", "x", "--resources-path", dir_}, &out);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("bad.yaml"), std::string::npos) << out;
  EXPECT_NE(out.find("spec.routes.rules[0].match"), std::string::npos) << out;
}

}  // namespace
}  // namespace outrigger::testing
