#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sidecar/components/common/kafka/kafka_client.h"
#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::pubsub::kafka {

// pubsub.kafka through librdkafka (the client in components/common/kafka). Publish produces with
// acks=all and returns once the broker acknowledged the message; metadata.partitionKey becomes
// the message key, so one key stays in one partition, in order. Each subscription is a consumer
// in the group consumerGroup (default: consumerID) that commits an offset only after the app took
// the message and fetches a failed message again after consumeRetryInterval, so order holds
// within a partition even across failures. A bulk subscription hands over what the consumer
// gathered (see common::kafka::BatchOptions) and commits, per partition, up to the first message
// the app failed; that one and those behind it in its partition are fetched again.
class KafkaPubSub : public PubSub {
 public:
  ~KafkaPubSub() override;
  Status init(const runtime::Properties& properties) override;
  Status publish(const PublishRequest& request) override;
  Status bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                       BulkHandler handler) override;
  void close() override;

 private:
  // Starts a consumer of request.topic and waits until it is in place.
  Status startConsumer(const SubscribeRequest& request,
                       const components::common::kafka::BatchOptions& options,
                       components::common::kafka::BatchHandler handler);

  components::common::kafka::Config config_;
  std::unique_ptr<components::common::kafka::Producer> producer_;
  std::mutex mutex_;
  // Stopped by close() but kept until destruction: a subscribe() may still wait on one.
  std::vector<std::unique_ptr<components::common::kafka::Consumer>> consumers_;
  std::atomic<bool> closed_{false};
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::pubsub::kafka
