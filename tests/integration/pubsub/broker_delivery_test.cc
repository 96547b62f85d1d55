// Dead-lettering and backpressure through the real sidecar, broker by broker (durability.h has
// the scenarios): Redis Streams, RabbitMQ, Kafka (librdkafka's mock cluster) and MQTT 3.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/framework/broker_servers.h"
#include "tests/framework/kafka_mock.h"
#include "tests/framework/servers.h"
#include "tests/framework/shared_brokers.h"
#include "tests/framework/test_app.h"
#include "tests/integration/pubsub/durability.h"

namespace outrigger::testing {
namespace {

DurabilityCase caseOf(std::string type, std::vector<std::pair<std::string, std::string>> metadata,
                      std::string topic = "orders") {
  DurabilityCase c;
  c.type = std::move(type);
  c.metadata = std::move(metadata);
  c.topic = std::move(topic);
  return c;
}

// XPENDING's count: entries of stream read by group and not acknowledged; -1 on error.
long redisPending(const RedisServer& redis, const std::string& stream, const std::string& group) {
  redisContext* ctx = redisConnect("127.0.0.1", redis.port());
  if (!ctx || ctx->err) {
    if (ctx) redisFree(ctx);
    return -1;
  }
  long out = -1;
  auto* r =
      static_cast<redisReply*>(redisCommand(ctx, "XPENDING %s %s", stream.c_str(), group.c_str()));
  if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
      r->element[0]->type == REDIS_REPLY_INTEGER) {
    out = static_cast<long>(r->element[0]->integer);
  }
  if (r) freeReplyObject(r);
  redisFree(ctx);
  return out;
}

// Messages ready (not handed to any consumer) in a queue; -1 on error.
long rabbitReady(const RabbitMqServer& rabbit, const std::string& queue) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  long out = -1;
  if (amqp_socket_open(socket, "127.0.0.1", rabbit.port()) == AMQP_STATUS_OK &&
      amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type ==
          AMQP_RESPONSE_NORMAL) {
    amqp_channel_open(conn, 1);
    // Passive: only looks, and answers the queue's ready count.
    amqp_queue_declare_ok_t* ok = amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue.c_str()), 1,
                                                     0, 0, 0, amqp_empty_table);
    if (ok) out = static_cast<long>(ok->message_count);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
  return out;
}

TEST(BrokerDeliveryTest, RedisDeadLetter) {
  RedisServer redis;
  ASSERT_EQ(redis.start(), "");
  expectDeadLettering(
      caseOf("pubsub.redis", {{"redisHost", redis.address()}, {"consumerID", "dl"}}));
}

// Reads are of queueDepth entries: what the sidecar holds unacknowledged stays within one read.
TEST(BrokerDeliveryTest, RedisBackpressure) {
  RedisServer redis;
  ASSERT_EQ(redis.start(), "");
  DurabilityCase c = caseOf(
      "pubsub.redis", {{"redisHost", redis.address()}, {"consumerID", "bp"}, {"queueDepth", "5"}});
  c.held_by_sidecar = [&redis](long) { return redisPending(redis, "orders", "bp"); };
  c.max_held = 5;
  expectBoundedWhenAppIsSlow(c);
}

TEST(BrokerDeliveryTest, RedisBulkAndConcurrentDelivery) {
  RedisServer redis;
  ASSERT_EQ(redis.start(), "");
  {
    SCOPED_TRACE("bulk");
    expectBulkEnvelopes(
        caseOf("pubsub.redis", {{"redisHost", redis.address()}, {"consumerID", "bulk"}}));
  }
  {
    SCOPED_TRACE("concurrency");
    expectConcurrentDelivery(
        caseOf("pubsub.redis",
               {{"redisHost", redis.address()}, {"consumerID", "parallel"}, {"concurrency", "4"}},
               "parallel-orders"),
        4);
  }
}

TEST(BrokerDeliveryTest, RabbitMqBulkAndConcurrentDelivery) {
  RabbitMqServer& rabbit = sharedRabbitMq();
  {
    SCOPED_TRACE("bulk");
    expectBulkEnvelopes(caseOf("pubsub.rabbitmq",
                               {{"connectionString", rabbit.url()}, {"consumerID", "bulk"}},
                               "bulk-orders"));
  }
  {
    SCOPED_TRACE("concurrency");
    expectConcurrentDelivery(caseOf("pubsub.rabbitmq",
                                    {{"connectionString", rabbit.url()},
                                     {"consumerID", "parallel"},
                                     {"concurrencyMode", "parallel"},
                                     {"prefetchCount", "4"}},
                                    "parallel-orders"),
                             4);
  }
}

TEST(BrokerDeliveryTest, RabbitMqDeadLetterAndBackpressure) {
  RabbitMqServer rabbit;
  ASSERT_EQ(rabbit.start(), "");  // one broker for both: its boot is most of the time
  {
    SCOPED_TRACE("dead-letter");
    expectDeadLettering(
        caseOf("pubsub.rabbitmq", {{"connectionString", rabbit.url()}, {"consumerID", "dl"}}));
  }
  {
    SCOPED_TRACE("backpressure");
    // prefetchCount: at most that many unacknowledged deliveries on the sidecar's channel.
    DurabilityCase c = caseOf("pubsub.rabbitmq",
                              {{"connectionString", rabbit.url()},
                               {"consumerID", "bp"},
                               {"prefetchCount", "4"},
                               {"durable", "true"}},
                              "slow-orders");
    c.held_by_sidecar = [&rabbit](long outstanding) {
      long ready = rabbitReady(rabbit, "bp-slow-orders");
      return ready < 0 ? -1 : outstanding - ready;
    };
    c.max_held = 4;
    expectBoundedWhenAppIsSlow(c);
  }
}

// pubsub.rabbitmq applies metadata.ttlInSeconds as the message's AMQP expiration: an event that
// expires while it waits in the queue is discarded by the broker itself.
TEST(BrokerDeliveryTest, RabbitMqExpiresMessagesNatively) {
  RabbitMqServer rabbit;
  ASSERT_EQ(rabbit.start(), "");
  std::string dir = makeTempDir("outrigger-rabbit-ttl");
  writeFile(dir + "/components.yaml", R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.rabbitmq
  version: v1
  metadata:
  - {name: connectionString, value: ")" + rabbit.url() +
                                          R"("}
  - {name: consumerID, value: ttl}
  - {name: prefetchCount, value: "1"}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders}
spec: {pubsubname: pubsub, topic: orders, routes: {default: /orders}}
)");
  std::atomic<bool> release{false};
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::vector<std::string> bodies;
  TestApp app;
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != http::bhttp::verb::post) return http::makeResponse(404);
    ++calls;
    for (int i = 0; i < 6000 && !release; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::lock_guard<std::mutex> lock(mutex);
    bodies.push_back(req.body());
    return http::makeResponse(200);
  });
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start(
      {"--app-id", "ttl", "--app-port", std::to_string(app.port()), "--resources-path", dir}))
      << sidecar.log();
  auto poll = [](const std::function<bool()>& pred) {
    for (int i = 0; i < 300 && !pred(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
  };
  ASSERT_TRUE(poll([&] {
    return sidecar.request(http::bhttp::verb::get, "/v1.0/metadata").body().find("orders") !=
           std::string::npos;
  })) << sidecar.log();
  auto publish = [&](const std::string& query, const std::string& which) {
    return sidecar
        .request(http::bhttp::verb::post, "/v1.0/publish/pubsub/orders" + query,
                 R"({"which":")" + which + R"("})")
        .result_int();
  };
  // The first event is in the app's hands (prefetch 1): the second waits in the queue.
  ASSERT_EQ(publish("", "first"), 204u);
  ASSERT_TRUE(poll([&] { return calls.load() == 1; })) << sidecar.log();
  ASSERT_EQ(publish("?metadata.ttlInSeconds=1", "second"), 204u);
  EXPECT_EQ(rabbitReady(rabbit, "ttl-orders"), 1);
  // Nothing takes it from the queue but its expiry.
  EXPECT_TRUE(poll([&] { return rabbitReady(rabbit, "ttl-orders") == 0; }))
      << "the broker kept the expired message";
  release = true;
  ASSERT_EQ(publish("", "third"), 204u);
  ASSERT_TRUE(poll([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return bodies.size() >= 2 && bodies.back().find("third") != std::string::npos;
  })) << sidecar.log();
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& b : bodies) EXPECT_EQ(b.find("second"), std::string::npos) << b;
}

TEST(BrokerDeliveryTest, KafkaDeadLetter) {
  KafkaMock& kafka = kafkaMock();
  ASSERT_FALSE(kafka.bootstraps.empty()) << "cannot create a librdkafka mock cluster";
  ASSERT_EQ(kafka.createTopic("dl-orders"), "");
  ASSERT_EQ(kafka.createTopic("dl-orders-dead"), "");
  DurabilityCase c = caseOf("pubsub.kafka",
                            {{"brokers", kafka.bootstraps},
                             {"authType", "none"},
                             {"consumerID", "dl"},
                             {"initialOffset", "oldest"},
                             // The dead-letter topic's subscription joins the same group: a
                             // short heartbeat lets the first member rejoin the rebalance soon.
                             {"sessionTimeout", "3s"},
                             {"heartbeatInterval", "500ms"}},
                            "dl-orders");
  c.dead_letter_topic = "dl-orders-dead";
  expectDeadLettering(c);
}

TEST(BrokerDeliveryTest, KafkaBackpressure) {
  KafkaMock& kafka = kafkaMock();
  ASSERT_FALSE(kafka.bootstraps.empty()) << "cannot create a librdkafka mock cluster";
  ASSERT_EQ(kafka.createTopic("bp-orders"), "");
  DurabilityCase c = caseOf("pubsub.kafka",
                            {{"brokers", kafka.bootstraps},
                             {"authType", "none"},
                             {"consumerID", "bp"},
                             {"initialOffset", "oldest"}},
                            "bp-orders");
  // Kafka keeps the rest at the broker; the sidecar's memory shows how far its consumer prefetched.
  c.backpressure_events = 70;
  expectBoundedWhenAppIsSlow(c);
}

TEST(BrokerDeliveryTest, KafkaBulkDelivery) {
  KafkaMock& kafka = kafkaMock();
  ASSERT_FALSE(kafka.bootstraps.empty()) << "cannot create a librdkafka mock cluster";
  ASSERT_EQ(kafka.createTopic("bulk-orders"), "");  // one partition: one order
  expectBulkEnvelopes(caseOf("pubsub.kafka",
                             {{"brokers", kafka.bootstraps},
                              {"authType", "none"},
                              {"consumerID", "bulk"},
                              {"initialOffset", "oldest"}},
                             "bulk-orders"));
}

TEST(BrokerDeliveryTest, Mqtt3BulkDelivery) {
  MosquittoServer mosquitto;
  ASSERT_EQ(mosquitto.start(), "");
  expectBulkEnvelopes(
      caseOf("pubsub.mqtt3", {{"url", mosquitto.url()}, {"consumerID", "bulk"}, {"qos", "1"}}));
}

TEST(BrokerDeliveryTest, Mqtt3DeadLetterAndBackpressure) {
  MosquittoServer mosquitto;
  ASSERT_EQ(mosquitto.start(), "");
  {
    SCOPED_TRACE("dead-letter");
    expectDeadLettering(
        caseOf("pubsub.mqtt3", {{"url", mosquitto.url()}, {"consumerID", "dl"}, {"qos", "1"}}));
  }
  {
    // MQTT has no broker-side count to read here: the sidecar's memory shows what it holds (its
    // queue per subscription, and the broker's in-flight window).
    SCOPED_TRACE("backpressure");
    expectBoundedWhenAppIsSlow(caseOf(
        "pubsub.mqtt3",
        {{"url", mosquitto.url()}, {"consumerID", "bp"}, {"qos", "1"}, {"cleanSession", "false"}},
        "slow-orders"));
  }
}

}  // namespace
}  // namespace outrigger::testing
