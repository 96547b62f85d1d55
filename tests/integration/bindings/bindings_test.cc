// bindings.rabbitmq and bindings.kafka through the real outriggerd: the app writes with
// POST /v1.0/bindings/{name} (operation create), and the input side of the same binding posts
// the event back to the app at /{name} after the OPTIONS probe; an event the app answers 500 is
// delivered again. RabbitMQ is a real rabbitmq-server, Kafka librdkafka's mock cluster in this
// process (outriggerd reaches both over loopback).

#include <gtest/gtest.h>

#include <atomic>

#include "tests/framework/shared_brokers.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

class BindingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("outrigger-bindings");
    suffix_ = std::to_string(::getpid());
  }
  bool startSidecar(const std::string& components) {
    writeFile(dir_ + "/components.yaml", components);
    return sidecar_.start({"--app-id", "bindings-app", "--app-port", std::to_string(app_.port()),
                           "--resources-path", dir_});
  }
  // The app takes /name on the second attempt: the first event is answered 500.
  void failFirstDeliveryTo(const std::string& name) {
    auto failed = std::make_shared<std::atomic<bool>>(false);
    app_.setBehaviour([name, failed](const http::Request& req) {
      if (req.method() == verb::post && req.target() == "/" + name && !failed->exchange(true))
        return http::makeResponse(500);
      return http::makeResponse(200);
    });
  }
  static size_t posts(const std::vector<Received>& r, const std::string& path) {
    return std::count_if(r.begin(), r.end(),
                         [&](const Received& x) { return x.method == "POST" && x.target == path; });
  }
  // Creates through the output side and waits for the input side's deliveries to the app.
  void roundTrip(const std::string& name) {
    auto res = sidecar_.request(verb::post, "/v1.0/bindings/" + name,
                                R"({"operation":"create","data":{"n":7},"metadata":{"note":"x"}})");
    ASSERT_EQ(res.result_int(), 204u) << res.body() << sidecar_.log();
    ASSERT_TRUE(app_.waitFor([&](auto& r) { return posts(r, "/" + name) >= 2; }, 30000))
        << sidecar_.log();
    auto received = app_.received();
    bool probed = false;
    for (const auto& r : received) {
      if (r.method == "OPTIONS" && r.target == "/" + name) probed = true;
      if (r.method != "POST" || r.target != "/" + name) continue;
      EXPECT_EQ(r.body, R"({"n":7})");  // the same event, delivered again after the 500
      EXPECT_EQ(r.headers.count("note"), 1u) << "request metadata did not travel with the event";
    }
    EXPECT_TRUE(probed) << "the app was not asked whether it listens on /" << name;
  }
  std::string dir_;
  std::string suffix_;
  TestApp app_;
  SidecarProcess sidecar_;
};

TEST_F(BindingsTest, RabbitMqCreateReachesTheAppThroughTheQueue) {
  failFirstDeliveryTo("orders");
  ASSERT_TRUE(startSidecar(R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: orders
spec:
  type: bindings.rabbitmq
  version: v1
  metadata:
  - name: host
    value: ")" + sharedRabbitMq().url() +
                           R"("
  - name: queueName
    value: orders-)" + suffix_ +
                           R"(
  - name: reconnectWaitInSeconds
    value: "1"
)")) << sidecar_.log();
  roundTrip("orders");
}

TEST_F(BindingsTest, KafkaCreateReachesTheAppThroughTheTopic) {
  std::string topic = "events-" + suffix_;
  ASSERT_EQ(sharedKafka().createTopic(topic), "");
  failFirstDeliveryTo("events");
  ASSERT_TRUE(startSidecar(R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: events
spec:
  type: bindings.kafka
  version: v1
  metadata:
  - name: brokers
    value: ")" + sharedKafka().bootstraps +
                           R"("
  - name: authType
    value: none
  - name: topics
    value: )" + topic + R"(
  - name: publishTopic
    value: )" + topic + R"(
  - name: consumerGroup
    value: bindings-app
)")) << sidecar_.log();
  // The input binding reads once its group has the partitions; until then, a create's record
  // would start ahead of it (initialOffset newest).
  ASSERT_TRUE(app_.waitFor(
      [](auto& r) {
        return std::any_of(r.begin(), r.end(), [](auto& x) { return x.method == "OPTIONS"; });
      },
      30000));
  for (int i = 0; i < 300; ++i) {
    if (sidecar_.log().find("input binding events delivers to /events") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  roundTrip("events");
}

TEST_F(BindingsTest, BadMetadataStopsStartUpNamingTheField) {
  writeFile(dir_ + "/components.yaml", R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: broken
spec:
  type: bindings.rabbitmq
  version: v1
  metadata:
  - name: host
    value: ")" + sharedRabbitMq().url() + R"("
)");
  std::string output;
  int code =
      SidecarProcess::runToExit({"--app-id", "bindings-app", "--resources-path", dir_}, &output);
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("queueName"), std::string::npos) << output;
}

}  // namespace
}  // namespace outrigger::testing
