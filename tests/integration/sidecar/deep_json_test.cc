// JSON nested far past json::kMaxDepth through the real outriggerd (issue 12 §2): RapidJSON
// recursed once per level and ~70k levels were a SIGSEGV on every JSON route. Now each route
// answers 400 with its Dapr errorCode, such JSON from the broker or the app is handled like any
// other malformed JSON, and the sidecar goes on serving. Also: a CloudEvent body that is not JSON
// is the client's error (400), not 500.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

const char* kResources = R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec: {type: state.in-memory, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: files}
spec: {type: bindings.localstorage, version: v1, metadata: [{name: rootPath, value: "@DIR@/files"}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec: {type: pubsub.in-memory, version: v1, metadata: [{name: retryInterval, value: 20ms}]}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders}
spec: {pubsubname: pubsub, topic: orders, routes: {default: /orders}, deadLetterTopic: dead}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: dead}
spec: {pubsubname: pubsub, topic: dead, routes: {default: /dead}, metadata: {rawPayload: "true"}}
)";

constexpr int kDeep = 100000;
// Deep enough to overflow any thread's stack in a recursive parser (3 MB, under the 4Mi limit).
constexpr int kDeeper = 1500000;

std::string deepArray(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

size_t count(const std::vector<Received>& received, const std::string& target) {
  return std::count_if(received.begin(), received.end(),
                       [&](const Received& r) { return r.target == target; });
}

class DeepJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("outrigger-deep-json");
    std::string resources = kResources;
    resources.replace(resources.find("@DIR@"), 5, dir_);
    writeFile(dir_ + "/resources.yaml", resources);
    // The app answers JSON as deep as the requests: its subscriptions and its delivery statuses
    // are parsed by the sidecar too.
    app_.setBehaviour([](const http::Request& req) {
      if (req.target() == "/orders" || req.target() == "/dapr/subscribe") {
        return http::makeResponse(200, deepArray(kDeeper), "application/json");
      }
      return http::makeResponse(200);
    });
    ASSERT_TRUE(sidecar_.start(
        {"--app-id", "deep", "--app-port", std::to_string(app_.port()), "--resources-path", dir_}))
        << sidecar_.log();
  }

  // The sidecar is alive and still saves and reads state.
  void expectServing() {
    ASSERT_EQ(sidecar_.request(verb::post, "/v1.0/state/statestore", R"([{"key":"k","value":1}])")
                  .result_int(),
              204u)
        << sidecar_.log();
    EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/statestore/k").body(), "1");
  }

  std::string dir_;
  TestApp app_;
  SidecarProcess sidecar_;
};

TEST_F(DeepJsonTest, EveryJsonRouteAnswers400WithItsErrorCode) {
  const std::string deep = deepArray(kDeep);
  struct Case {
    std::string target, body, content_type, error_code;
  };
  const std::string json = "application/json";
  const std::vector<Case> cases = {
      {"/v1.0/state/statestore", deep, json, "ERR_MALFORMED_REQUEST"},
      {"/v1.0/state/statestore", R"([{"key":"a","value":)" + deep + "}]", json,
       "ERR_MALFORMED_REQUEST"},
      {"/v1.0/state/statestore/bulk", R"({"keys":)" + deep + "}", json, "ERR_MALFORMED_REQUEST"},
      {"/v1.0/state/statestore/transaction",
       R"({"operations":[{"operation":"upsert","request":{"key":"a","value":)" + deep + "}}]}",
       json, "ERR_MALFORMED_REQUEST"},
      {"/v1.0-alpha1/state/statestore/query", R"({"filter":{"EQ":{"a":)" + deep + "}}}", json,
       "ERR_MALFORMED_REQUEST"},
      {"/v1.0/bindings/files", R"({"operation":"create","data":)" + deep + "}", json,
       "ERR_MALFORMED_REQUEST"},
      {"/v1.0/publish/pubsub/orders", deep, json, "ERR_PUBSUB_CLOUD_EVENTS_SER"},
      // The issue's repro: 4 MB of '[' (under the default 4Mi body limit).
      {"/v1.0/publish/pubsub/orders", std::string(4000000, '['), json,
       "ERR_PUBSUB_CLOUD_EVENTS_SER"},
      {"/v1.0/publish/pubsub/orders", R"({"id":"1","data":)" + deep + "}",
       "application/cloudevents+json", "ERR_PUBSUB_CLOUD_EVENTS_SER"},
      {"/v1.0-alpha1/publish/bulk/pubsub/orders", R"([{"entryId":"1","event":)" + deep + "}]", json,
       "ERR_PUBSUB_EVENTS_SER"},
  };
  for (const auto& c : cases) {
    auto res = sidecar_.request(verb::post, c.target, c.body, c.content_type);
    EXPECT_EQ(res.result_int(), 400u)
        << c.target << " " << c.body.substr(0, 40) << " -> " << res.body() << sidecar_.log();
    EXPECT_NE(res.body().find("\"errorCode\":\"" + c.error_code + "\""), std::string::npos)
        << c.target << " " << c.body.substr(0, 40) << " -> " << res.body();
    EXPECT_NE(res.body().find("nested deeper than"), std::string::npos) << res.body();
  }
  expectServing();
}

TEST_F(DeepJsonTest, ACloudEventBodyThatIsNotAJsonObjectIsTheClientsError) {
  for (const char* body : {"not json", "[1]", R"({"id":)"}) {
    auto res = sidecar_.request(verb::post, "/v1.0/publish/pubsub/orders", body,
                                "application/cloudevents+json");
    EXPECT_EQ(res.result_int(), 400u) << body << " -> " << res.body();
    EXPECT_NE(res.body().find("\"errorCode\":\"ERR_PUBSUB_CLOUD_EVENTS_SER\""), std::string::npos)
        << res.body();
  }
  expectServing();
}

TEST_F(DeepJsonTest, DeepJsonFromTheBrokerAndTheAppIsHandled) {
  // A raw payload is published as it is; delivered on a subscription that expects CloudEvents it
  // is not one, so it goes to the dead-letter topic like any malformed message.
  ASSERT_EQ(sidecar_
                .request(verb::post, "/v1.0/publish/pubsub/orders?metadata.rawPayload=true",
                         deepArray(kDeeper))
                .result_int(),
            204u);
  // A good message reaches the app, whose deep answer counts as success (a body it cannot read).
  ASSERT_EQ(sidecar_.request(verb::post, "/v1.0/publish/pubsub/orders", R"({"n":1})").result_int(),
            204u);
  ASSERT_TRUE(app_.waitFor([](const std::vector<Received>& r) {
    return count(r, "/dead") == 1 && count(r, "/orders") == 1;
  })) << sidecar_.log();
  EXPECT_EQ(count(app_.received(), "/dapr/subscribe"), 1u);
  expectServing();
}

}  // namespace
}  // namespace outrigger::testing
