#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sidecar/components/common/rabbitmq/amqp_client.h"
#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::pubsub::rabbitmq {

// pubsub.rabbitmq over AMQP 0-9-1 (librabbitmq), in Dapr's layout: a topic is an exchange (fanout
// by default) named after it; a subscription is the queue "<consumerID>-<topic>" bound to it, so
// sidecars with the same consumerID share the work and other consumer IDs each get every message.
// Publish waits for the broker's confirm, so a message is the broker's when publish returns.
// Consumers acknowledge manually, only after the app took the message; a failed message is
// nacked back onto its queue (or, with enableDeadLetter and requeueInFailure false, rejected to
// the dead-letter exchange "dlx-<queue>" and its queue "dlq-<queue>"). Lost connections are
// reopened every reconnectWait; unacknowledged messages go back to the queue with the connection.
// Bulk subscriptions (and concurrencyMode parallel, which the runtime delivers through them) take
// the deliveries the channel holds in batches, acknowledging each message after the app's answer.
class RabbitMqPubSub : public PubSub {
 public:
  struct Config {
    components::common::rabbitmq::Address address;
    std::string consumer_id;
    bool durable = false;
    bool auto_delete = true;
    bool requeue_in_failure = false;
    bool dead_letter = false;
    int delivery_mode = 0;
    int prefetch = 0;
    int64_t max_len = 0;
    int64_t max_len_bytes = 0;
    std::string exchange_kind = "fanout";
    int64_t reconnect_wait_ms = 3000;
    int concurrency = 1;  // concurrencyMode: single 1, parallel prefetchCount (else 100)
  };

  ~RabbitMqPubSub() override;
  Status init(const runtime::Properties& properties) override;
  Status publish(const PublishRequest& request) override;
  Status bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                       BulkHandler handler) override;
  int concurrency() const override { return config_.concurrency; }
  void close() override;

 private:
  struct Subscription;
  Status publishOnce(const PublishRequest& request);
  Status setUp(components::common::rabbitmq::Connection& conn, const Subscription& sub) const;

  Config config_;
  std::mutex publish_mutex_;
  std::unique_ptr<components::common::rabbitmq::Connection> publisher_;
  std::set<std::string> declared_;  // exchanges declared on the publisher's connection
  std::mutex mutex_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::atomic<bool> closed_{false};
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::pubsub::rabbitmq
