// A Resiliency resource's inbound component policies (retries with a constant back-off) applied
// end to end by the real outriggerd, to pub/sub deliveries and to input binding deliveries. The app
// fails the first four deliveries of each stream and then succeeds:
// - pub/sub: with maxRetries 2 the event is dead-lettered after exactly 1 + 2 attempts and never
//   reaches the app again; with maxRetries 6 the fifth attempt succeeds and nothing is
//   dead-lettered;
// - bindings.cron (an event per tick, each named by its readTimeUTC header): with maxRetries 2 a
//   tick's event is tried exactly 3 times, with maxRetries 6 the first tick's event succeeds on
//   its fifth attempt;
// - bindings.kafka (librdkafka's mock cluster): with maxRetries 2 the event is not acknowledged
//   when the policy gives up, and the broker delivers it again until the app takes it.

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "tests/framework/shared_brokers.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

constexpr int kFailures = 4;

// One call the app answered: which event (data or readTimeUTC) and whether it took it.
struct Call {
  std::string event;
  bool ok;
};

TEST(ResiliencyDeliveryTest, InboundPoliciesGovernPubSubAndBindingDeliveries) {
  std::string dir = makeTempDir("outrigger-resiliency-delivery");
  std::string topic = "resiliency-" + std::to_string(::getpid());
  ASSERT_EQ(sharedKafka().createTopic(topic), "");
  writeFile(dir + "/components.yaml", R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: few}
spec: {type: pubsub.in-memory, version: v1}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: many}
spec: {type: pubsub.in-memory, version: v1}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: tick-few}
spec:
  type: bindings.cron
  version: v1
  metadata:
  - {name: schedule, value: "@every 1s"}
  - {name: direction, value: input}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: tick-many}
spec:
  type: bindings.cron
  version: v1
  metadata:
  - {name: schedule, value: "@every 1s"}
  - {name: direction, value: input}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: queue}
spec:
  type: bindings.kafka
  version: v1
  metadata:
  - {name: brokers, value: ")" + sharedKafka().bootstraps +
                                          R"("}
  - {name: authType, value: none}
  - {name: topics, value: )" + topic + R"(}
  - {name: publishTopic, value: )" + topic +
                                          R"(}
  - {name: consumerGroup, value: resiliency}
  - {name: initialOffset, value: oldest}
  - {name: direction, value: "input, output"}
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: deliveries}
spec:
  policies:
    retries:
      two: {policy: constant, duration: 20ms, maxRetries: 2}
      six: {policy: constant, duration: 20ms, maxRetries: 6}
  targets:
    components:
      few: {inbound: {retry: two}}
      many: {inbound: {retry: six}}
      tick-few: {inbound: {retry: two}}
      tick-many: {inbound: {retry: six}}
      queue: {inbound: {retry: two}}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: few}
spec: {pubsubname: few, topic: orders, routes: {default: /few}, deadLetterTopic: dead}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: few-dead}
spec: {pubsubname: few, topic: dead, routes: {default: /few-dead}}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: many}
spec: {pubsubname: many, topic: orders, routes: {default: /many}, deadLetterTopic: dead}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: many-dead}
spec: {pubsubname: many, topic: dead, routes: {default: /many-dead}}
)");
  std::mutex mutex;
  std::map<std::string, std::vector<Call>> calls;  // by route
  TestApp app;
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post) return http::makeResponse(404);
    std::string route(req.target());
    std::string event = req.body();
    if (auto t = req.find("readTimeUTC"); t != req.end()) event = std::string(t->value());
    std::lock_guard<std::mutex> lock(mutex);
    auto& list = calls[route];
    bool ok = route.find("-dead") != std::string::npos || list.size() >= kFailures;
    list.push_back({event, ok});
    if (ok) return http::makeResponse(200);
    // Failures in both forms the runtime retries: a 500, and RETRY from a subscriber.
    if (list.size() % 2 == 0 && route.find("tick") == std::string::npos && route != "/queue") {
      return http::makeResponse(200, R"({"status":"RETRY"})", "application/json");
    }
    return http::makeResponse(500);
  });
  auto snapshot = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return calls;
  };
  auto took = [&](const std::string& route) {
    auto c = snapshot();
    return std::any_of(c[route].begin(), c[route].end(), [](const Call& x) { return x.ok; });
  };

  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start(
      {"--app-id", "resilient", "--app-port", std::to_string(app.port()), "--resources-path", dir}))
      << sidecar.log();
  // Publishing before the subscriptions exist would lose the events (pubsub.in-memory keeps
  // nothing for absent subscribers): wait until all four are listed.
  auto listed = [&] {
    std::string md = sidecar.request(verb::get, "/v1.0/metadata").body();
    size_t n = 0;
    for (size_t at = md.find("\"topic\":"); at != std::string::npos;
         at = md.find("\"topic\":", at + 1)) {
      ++n;
    }
    return n >= 4;
  };
  for (int i = 0; i < 300 && !listed(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(listed()) << sidecar.log();
  for (const char* pubsub : {"few", "many"}) {
    auto res = sidecar.request(verb::post, std::string("/v1.0/publish/") + pubsub + "/orders",
                               R"({"n":1})");
    ASSERT_EQ(res.result_int(), 204u) << res.body() << sidecar.log();
  }
  auto created = sidecar.request(verb::post, "/v1.0/bindings/queue",
                                 R"({"operation":"create","data":{"n":2}})");
  ASSERT_EQ(created.result_int(), 204u) << created.body() << sidecar.log();

  // Bounded waits until every stream reached its end: the dead-letter topic for "few", the app's
  // success for the others.
  for (int i = 0; i < 600; ++i) {
    if (took("/few-dead") && took("/many") && took("/tick-few") && took("/tick-many") &&
        took("/queue")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto c = snapshot();
  // pub/sub, maxRetries 2: three attempts, then the dead-letter topic; the app never took it.
  ASSERT_EQ(c["/few-dead"].size(), 1u) << sidecar.log();
  EXPECT_EQ(c["/few"].size(), 3u);
  EXPECT_NE(c["/few-dead"][0].event.find(R"("n":1)"), std::string::npos);
  // pub/sub, maxRetries 6: four failures and the fifth attempt succeeds; nothing dead-lettered.
  ASSERT_EQ(c["/many"].size(), 5u) << sidecar.log();
  EXPECT_TRUE(c["/many"][4].ok);
  EXPECT_EQ(c["/many-dead"].size(), 0u);
  // cron, maxRetries 2: the first tick's event is given up after three attempts; a later tick's
  // event is the one the app takes.
  ASSERT_GE(c["/tick-few"].size(), 5u) << sidecar.log();
  const std::string first_tick = c["/tick-few"][0].event;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c["/tick-few"][i].event, first_tick) << i;
  EXPECT_NE(c["/tick-few"][3].event, first_tick);
  EXPECT_TRUE(c["/tick-few"][4].ok);
  // cron, maxRetries 6: the first tick's event succeeds on its fifth attempt.
  ASSERT_GE(c["/tick-many"].size(), 5u) << sidecar.log();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c["/tick-many"][i].event, c["/tick-many"][0].event) << i;
  EXPECT_TRUE(c["/tick-many"][4].ok);
  // kafka, maxRetries 2: not acknowledged when the policy gave up after three attempts, so the
  // broker delivered the same event again until the app took it.
  ASSERT_EQ(c["/queue"].size(), 5u) << sidecar.log();
  for (const auto& call : c["/queue"]) EXPECT_EQ(call.event, R"({"n":2})");
  EXPECT_TRUE(c["/queue"][4].ok);
}

}  // namespace
}  // namespace outrigger::testing
