#include "tests/framework/kafka_mock.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <thread>

namespace outrigger::testing {

KafkaMock::KafkaMock() {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk) cluster = rd_kafka_mock_cluster_new(rk, 1);
  if (cluster) bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
}

std::string KafkaMock::createTopic(const std::string& topic) {
  if (!cluster) return "no mock cluster";
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, topic.c_str(), 1, 1);
  return err ? std::string("creating topic ") + topic + ": " + rd_kafka_err2str(err) : "";
}

std::string KafkaMock::restart(int down_ms) {
  if (!cluster) return "no mock cluster";
  if (rd_kafka_mock_broker_set_down(cluster, 1)) return "cannot take the mock broker down";
  std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
  if (rd_kafka_mock_broker_set_up(cluster, 1)) return "cannot bring the mock broker up";
  return "";
}

KafkaMock& kafkaMock() {
  static KafkaMock* mock = new KafkaMock();
  return *mock;
}

}  // namespace outrigger::testing
