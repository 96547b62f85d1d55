#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::pubsub::in_memory {

// A process-local broker: each subscription has its own bounded queue and delivery thread. A
// message the handler fails is retried (after a short pause) until it succeeds or the broker
// closes; publish blocks (bounded) while a subscriber's queue is full, which is backpressure.
// A bulk subscription gets what its queue holds in one batch (up to its maximum, waiting up to
// its await time for a batch to fill); failed messages stay at the head, in order.
class InMemoryPubSub : public PubSub {
 public:
  ~InMemoryPubSub() override;
  Status init(const runtime::Properties& properties) override;
  Status publish(const PublishRequest& request) override;
  std::optional<Status> tryPublish(const PublishRequest& request) override;
  // Batches what the subscription's queue holds, up to max_messages.
  Status bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                       BulkHandler handler) override;
  void close() override;

 private:
  // Both need mutex_ held.
  bool hasRoom(const std::string& topic) const;
  void enqueue(const PublishRequest& request);
  struct Subscription {
    std::string topic;
    BulkHandler handler;  // a plain subscription's batches hold one message
    BulkOptions bulk{1, 0};
    std::deque<Message> queue;
    std::thread thread;
  };
  void deliver(Subscription* sub);

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  bool closed_ = false;
  size_t max_queue_ = 10000;
  int64_t publish_timeout_ms_ = 5000;
  int64_t retry_pause_ms_ = 100;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::pubsub::in_memory
