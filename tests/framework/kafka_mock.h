#pragma once

// No Kafka broker runs here: Kafka components are tested against librdkafka's mock cluster, which
// lives in the test process and listens on a loopback port, so sidecars started by a test can use
// it too.

#include <string>

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace outrigger::testing {

// A one-broker mock cluster; its handle only hosts it.
struct KafkaMock {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstraps;  // empty when the cluster could not be created
  KafkaMock();
  // A topic with one partition (so order holds); "" or an error.
  std::string createTopic(const std::string& topic);
  // Takes the broker down and brings it back after down_ms (its log survives in memory); "" or
  // an error.
  std::string restart(int down_ms = 500);
};

// The process's cluster, created on first use and never destroyed: components may outlive tests.
KafkaMock& kafkaMock();

}  // namespace outrigger::testing
