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
// QoS 2: PUBCOMP; QoS 0: once written). Each subscription hands messages to the app one at a
// time, in arrival order, and calls the handler again (with backoff) until it succeeds; only
// then is the message acknowledged to the broker. One not yet processed when the sidecar stops,
// crashes or loses its connection is sent again by the broker on the next connection of the
// session (at least once; QoS 2 is at least once too, PUBREC waiting for the app).
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
  Status subscribe(const SubscribeRequest& request, Handler handler) override;
  void close() override;

 private:
  struct Delivery {
    Message message;
    std::shared_ptr<Ack> ack;
  };
  struct Subscription {
    std::string topic;
    Handler handler;
    std::deque<Delivery> queue;
    std::thread thread;
  };
  // The client's thread: queues the message for every matching subscription.
  void onMessage(const Incoming& message, const std::shared_ptr<Ack>& ack);
  void deliver(Subscription* sub);
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
