// At-least-once through the real sidecar on Redis Streams: every acknowledged publish reaches the
// app although the app fails for a while, the sidecar is killed with SIGKILL and started again,
// and the broker restarts mid-stream.

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <set>

#include "common/json/json.h"
#include "tests/framework/servers.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

TEST(RedisDurabilityTest, NothingAcknowledgedIsLost) {
  RedisServer redis;
  redis.persistent = true;
  ASSERT_EQ(redis.start(), "");
  std::string dir = makeTempDir("outrigger-durable");
  writeFile(dir + "/c.yaml", R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - {name: redisHost, value: "127.0.0.1:)" +
                                 std::to_string(redis.port()) + R"("}
  - {name: processingTimeout, value: 300ms}
  - {name: redeliverInterval, value: 100ms}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders}
spec: {pubsubname: pubsub, topic: orders, routes: {default: /orders}}
)");
  TestApp app;
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::set<int> delivered;
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post) return http::makeResponse(404);
    if (calls++ < 8) return http::makeResponse(500);  // the app is failing for a while
    json::Document ev;
    ev.Parse(req.body().c_str());
    if (ev.IsObject() && ev.HasMember("data") && ev["data"].IsObject()) {
      std::lock_guard<std::mutex> lock(mutex);
      delivered.insert(ev["data"]["n"].GetInt());
    }
    return http::makeResponse(200);
  });
  std::vector<std::string> args = {
      "--app-id", "durable", "--app-port", std::to_string(app.port()), "--resources-path", dir};
  auto sidecar = std::make_unique<SidecarProcess>();
  ASSERT_TRUE(sidecar->start(args)) << sidecar->log();
  for (int n = 0; n < 10; ++n) {
    ASSERT_EQ(sidecar
                  ->request(verb::post, "/v1.0/publish/pubsub/orders",
                            "{\"n\":" + std::to_string(n) + "}")
                  .result_int(),
              204u);
  }
  ASSERT_TRUE(app.waitFor([](auto& r) { return r.size() >= 4; }));
  sidecar->stop(SIGKILL);  // mid-stream, some messages in delivery, none acknowledged yet
  sidecar = std::make_unique<SidecarProcess>();
  ASSERT_TRUE(sidecar->start(args)) << sidecar->log();
  for (int n = 10; n < 20; ++n) {
    ASSERT_EQ(sidecar
                  ->request(verb::post, "/v1.0/publish/pubsub/orders",
                            "{\"n\":" + std::to_string(n) + "}")
                  .result_int(),
              204u);
  }
  redis.stop();  // the broker restarts: acknowledged publishes were fsynced
  ASSERT_EQ(redis.start(), "");
  auto all = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return delivered.size() == 20;
  };
  for (int i = 0; i < 300 && !all(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(delivered.size(), 20u) << sidecar->log();
  for (int n = 0; n < 20; ++n) EXPECT_TRUE(delivered.count(n)) << "message " << n << " lost";
}

}  // namespace
}  // namespace outrigger::testing
