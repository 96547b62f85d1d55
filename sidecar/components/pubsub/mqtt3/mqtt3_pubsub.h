#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/components/pubsub/mqtt3/mqtt_client.h"
#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::pubsub::mqtt3 {

// pubsub.mqtt3: MQTT 3.1.1 (mqtt_client.h), one client (id consumerID) per component with a
// persistent session (cleanSession false) so QoS 1 and 2 messages published while it is away
// wait at the broker. Publish returns once the broker acknowledged the message (QoS 1: PUBACK,
// QoS 2: PUBCOMP; QoS 0: once written). The client's thread only reads: it queues each message
// for every matching subscription, and each subscription's own thread hands them to the app in
// arrival order, in batches (subscribe() is batches of one). A message the app failed is handed
// over again (with backoff) until it succeeds; only then is it acknowledged to the broker, from
// the delivering thread. One not yet processed when the sidecar stops, crashes or loses its
// connection is sent again by the broker on the next connection of the session (at least once;
// QoS 2 is at least once too, PUBREC waiting for the app).
class Mqtt3PubSub : public PubSub {
 public:
  struct Config {
    ClientOptions client;  // from url, consumerID and cleanSession
    int qos = 1;
    bool retain = false;
    size_t queue_size = 100;  // received messages waiting for the app, per subscription
  };

  ~Mqtt3PubSub() override;
  Status init(const runtime::Properties& properties) override;
  Status publish(const PublishRequest& request) override;
  Status bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                       BulkHandler handler) override;
  void close() override;

 private:
  struct Delivery {
    Message message;
    std::shared_ptr<Ack> ack;
    int64_t received_ms = 0;  // a batch waits for more at most max_await_ms after its first
  };
  struct Subscription {
    std::string topic;
    BulkHandler handler;
    size_t max_messages = 1;
    int64_t max_await_ms = 0;
    std::deque<Delivery> queue;  // bounded by queue_size (plus failed messages put back)
    std::thread thread;
  };
  // The client's thread: queues the message for every matching subscription.
  void onMessage(const Incoming& message, const std::shared_ptr<Ack>& ack);
  // A subscription's thread: batches to the handler, one at a time.
  void deliver(Subscription* sub);
  // Takes the next batch off sub's queue; empty once closed. Under mutex_ (held by lock).
  std::vector<Delivery> takeBatch(Subscription* sub, std::unique_lock<std::mutex>& lock);
  // Drops what no subscription took within the grace period after the last subscribe. Under
  // mutex_.
  void pruneUnmatched();

  Config config_;
  std::unique_ptr<Client> client_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::deque<Delivery> unmatched_;  // received for no subscription (yet), unacknowledged
  int64_t last_subscribe_ms_ = 0;
  std::atomic<bool> closed_{false};
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::pubsub::mqtt3
