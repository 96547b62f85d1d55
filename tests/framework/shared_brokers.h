#pragma once

// The brokers a conformance suite's tests share: each started on first use, once per process,
// and left running until the process ends (components may outlive a test).

#include <gtest/gtest.h>

#include "tests/framework/broker_servers.h"
#include "tests/framework/kafka_mock.h"

namespace outrigger::testing {

inline RabbitMqServer& sharedRabbitMq() {
  static RabbitMqServer server;
  static std::string started = server.startOnFreshPorts(3);
  EXPECT_EQ(started, "");
  return server;
}

inline KafkaMock& sharedKafka() {
  auto& mock = kafkaMock();
  EXPECT_FALSE(mock.bootstraps.empty()) << "cannot create a librdkafka mock cluster";
  return mock;
}

}  // namespace outrigger::testing
