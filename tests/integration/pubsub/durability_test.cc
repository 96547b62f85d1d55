// At-least-once through the real sidecar, broker by broker (durability.h has the scenario).

#include "tests/integration/pubsub/durability.h"

#include <gtest/gtest.h>

#include "tests/framework/broker_servers.h"
#include "tests/framework/kafka_mock.h"
#include "tests/framework/servers.h"

namespace outrigger::testing {
namespace {

// A broker restart: an orderly stop (the broker saves what it must), then a start.
std::function<std::string()> restartOf(ServerProcess& server) {
  return [&server] {
    server.stop();
    return server.start();
  };
}

// redis-server with an fsynced append-only file.
TEST(DurabilityTest, Redis) {
  RedisServer redis;
  redis.persistent = true;
  ASSERT_EQ(redis.start(), "");
  expectNothingAcknowledgedIsLost({"pubsub.redis",
                                   {{"redisHost", redis.address()},
                                    {"processingTimeout", "300ms"},
                                    {"redeliverInterval", "100ms"}},
                                   "orders",
                                   restartOf(redis)});
}

// rabbitmq-server. What survives its restart is durable: a durable exchange and queue that stay
// when the sidecar goes (deletedWhenUnused false) and persistent messages (deliveryMode 2), which
// the broker confirms once they are on disk. Most of this test's time is the Erlang VM booting.
TEST(DurabilityTest, RabbitMq) {
  RabbitMqServer rabbit;
  ASSERT_EQ(rabbit.start(), "");
  expectNothingAcknowledgedIsLost({"pubsub.rabbitmq",
                                   {{"connectionString", rabbit.url()},
                                    {"consumerID", "durable"},
                                    {"durable", "true"},
                                    {"deletedWhenUnused", "false"},
                                    {"deliveryMode", "2"},
                                    {"requeueInFailure", "true"},
                                    {"reconnectWait", "200ms"}},
                                   "orders",
                                   restartOf(rabbit)});
}

// mosquitto with QoS 1 and a persistent session (cleanSession false, client id consumerID): what
// is published while the sidecar is away, or delivered to it and not yet acknowledged, waits at
// the broker, which saves it across its restart.
TEST(DurabilityTest, Mqtt3) {
  MosquittoServer mosquitto;
  ASSERT_EQ(mosquitto.start(), "");
  expectNothingAcknowledgedIsLost({"pubsub.mqtt3",
                                   {{"url", mosquitto.url()},
                                    {"consumerID", "durable"},
                                    {"qos", "1"},
                                    {"cleanSession", "false"}},
                                   "orders",
                                   restartOf(mosquitto)});
}

// librdkafka's mock cluster, in this process. It cannot be restarted as a process: its broker is
// taken down (connections closed, new ones refused) and brought up again, its log and the
// group's committed offsets kept in memory as a restarted Kafka broker keeps them on disk. A
// killed sidecar's group member is dropped after sessionTimeout: short, so that the new one gets
// the partition soon.
TEST(DurabilityTest, Kafka) {
  KafkaMock& kafka = kafkaMock();
  ASSERT_FALSE(kafka.bootstraps.empty()) << "cannot create a librdkafka mock cluster";
  ASSERT_EQ(kafka.createTopic("durable-orders"), "");
  expectNothingAcknowledgedIsLost({"pubsub.kafka",
                                   {{"brokers", kafka.bootstraps},
                                    {"authType", "none"},
                                    {"consumerID", "durable"},
                                    {"sessionTimeout", "3s"},
                                    {"heartbeatInterval", "500ms"}},
                                   "durable-orders",
                                   [&kafka] { return kafka.restart(1000); }});
}

}  // namespace
}  // namespace outrigger::testing
