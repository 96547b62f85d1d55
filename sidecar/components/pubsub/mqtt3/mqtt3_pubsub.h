#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/runtime/registry.h"

struct mosquitto;
struct mosquitto_message;

namespace outrigger::sidecar::components::pubsub::mqtt3 {

// pubsub.mqtt3: MQTT 3.1.1 through libmosquitto, one client (id consumerID) per component with a
// persistent session (cleanSession false) so QoS 1 messages published while it is away wait at
// the broker. Publish returns once the broker acknowledged the message (PUBACK; QoS 0: once
// written). Each subscription hands messages to the app one at a time, in arrival order, and
// calls the handler again (with backoff) until it succeeds or the component closes.
//
// The guarantee is weaker than the other brokers': libmosquitto (2.0) acknowledges an incoming
// QoS 1 message (PUBACK) before the application sees it, and MQTT 3.1.1 has no way to take that
// back. A message is therefore safe while this process lives (it is retried until the app takes
// it), but one received and not yet processed when the sidecar stops or crashes is lost.
class Mqtt3PubSub : public PubSub {
 public:
  struct Config {
    std::string host;
    int port = 1883;
    std::string user;
    std::string password;
    std::string client_id;
    int qos = 1;
    bool retain = false;
    bool clean_session = false;
    int64_t timeout_ms = 10000;  // connecting, a publish's PUBACK, a subscribe's SUBACK
    size_t queue_size = 100;     // received messages waiting for the app, per subscription
  };

  ~Mqtt3PubSub() override;
  Status init(const runtime::Properties& properties) override;
  Status publish(const PublishRequest& request) override;
  Status subscribe(const SubscribeRequest& request, Handler handler) override;
  void close() override;

  // libmosquitto's callbacks (its network thread).
  void onConnect(int rc);
  void onPublish(int mid);
  void onSubscribe(int mid);
  void onMessage(const mosquitto_message* message);

 private:
  struct Subscription {
    std::string topic;
    Handler handler;
    std::deque<Message> queue;
    std::thread thread;
  };
  void deliver(Subscription* sub);
  Status waitFor(std::set<int>* done, int mid, const std::string& what);

  Config config_;
  mosquitto* client_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool connected_ = false;
  int connect_rc_ = -1;  // the last CONNACK's code
  std::set<int> published_;
  std::set<int> subscribed_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::atomic<bool> closed_{false};
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::pubsub::mqtt3
