#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/runtime/registry.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace outrigger::sidecar::components::pubsub::kafka {

// pubsub.kafka through librdkafka. Publish produces with acks=all and returns once the broker
// acknowledged the message (its delivery report); metadata.partitionKey becomes the message key,
// so one key stays in one partition, in order. Each subscription is a consumer in the group
// consumerGroup (default: consumerID) with auto-commit off: an offset is committed, synchronously,
// only after the app took the message. A message the app failed is fetched again (the consumer
// seeks back to it after consumeRetryInterval), so order holds within a partition even across
// failures. A group's first assignment with initialOffset newest commits the partitions' current
// end, so a subscriber that restarts before consuming anything still gets what was published
// after it first subscribed.
class KafkaPubSub : public PubSub {
 public:
  struct Config {
    std::string brokers;
    std::string group;
    std::string client_id;
    bool oldest = false;
    int64_t retry_interval_ms = 100;
    int64_t session_timeout_ms = 10000;
    int64_t heartbeat_ms = 3000;
    int64_t max_message_bytes = 0;
    int64_t timeout_ms = 10000;  // a publish's delivery, metadata and commit calls
  };

  ~KafkaPubSub() override;
  Status init(const runtime::Properties& properties) override;
  Status publish(const PublishRequest& request) override;
  Status subscribe(const SubscribeRequest& request, Handler handler) override;
  void close() override;

  struct Subscription;

 private:
  void poll();
  void consume(Subscription* sub);
  bool pause(int64_t ms);

  Config config_;
  rd_kafka_t* producer_ = nullptr;
  std::thread poller_;  // serves the producer's delivery reports
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::atomic<bool> closed_{false};
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::pubsub::kafka
