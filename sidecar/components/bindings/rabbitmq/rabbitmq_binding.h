#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sidecar/components/bindings/binding.h"
#include "sidecar/components/common/rabbitmq/amqp_client.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::bindings::rabbitmq {

// bindings.rabbitmq over AMQP 0-9-1 (the client pubsub.rabbitmq uses too,
// components/common/rabbitmq), one queue, queueName, in Dapr's layout. Output: create publishes
// to the queue through the default exchange and returns once the broker confirmed the message;
// messages are persistent, carry the request metadata as headers, and honour the metadata
// contentType, ttlInSeconds and priority. A message no queue takes (the queue was deleted) makes
// the binding declare the queue again and publish once more, rather than vanish. Input: a
// consumer on a connection of its own acknowledges a message only after the app answered 2xx and
// requeues it otherwise; prefetchCount bounds what the broker sends ahead; a lost connection is
// reopened every reconnectWaitInSeconds. With exclusive the queue belongs to the input's
// connection, so the output declares it only while the binding does not read.
class RabbitMqBinding : public Binding, public OutputBinding, public InputBinding {
 public:
  struct Config {
    components::common::rabbitmq::Address address;
    std::string queue;
    bool durable = false;
    bool auto_delete = false;
    bool exclusive = false;
    int prefetch = 0;
    int64_t ttl_ms = -1;   // x-message-ttl; -1: none
    int max_priority = 0;  // x-max-priority; 0: not a priority queue
    std::string content_type = "text/plain";
    int64_t reconnect_wait_ms = 5000;
  };

  ~RabbitMqBinding() override;
  Status init(const runtime::Properties& properties) override;
  OutputBinding* output() override { return this; }
  InputBinding* input() override { return this; }
  std::vector<std::string> operations() const override { return {"create"}; }
  StatusOr<InvokeResponse> invoke(const InvokeRequest& request) override;
  Status read(InputHandler handler) override;
  void close() override;

 private:
  Status declare(components::common::rabbitmq::Connection& conn, bool exclusive) const;
  Status publishOnce(const std::string& body, const amqp_basic_properties_t& props);

  Config config_;
  std::mutex publish_mutex_;
  std::unique_ptr<components::common::rabbitmq::Connection> publisher_;
  bool declared_ = false;  // the queue, on the publisher's connection
  std::mutex mutex_;
  std::unique_ptr<components::common::rabbitmq::Consumer> consumer_;
  bool reading_ = false;
  bool closed_ = false;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::bindings::rabbitmq
