#pragma once

// The pub/sub interface every broker component implements.
//
// Delivery contract: a component calls the subscription's handler for each message (or batch,
// for bulkSubscribe), one call at a time per subscription (so order is kept where the broker keeps
// it), on a thread of its own. The handler blocks until the app has answered. OK means
// "acknowledge"; any error means "not processed": the component must make the message available
// again (nack, requeue, leave unacked for redelivery). Nothing is acknowledged before the handler
// returned OK.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::components::pubsub {

using Metadata = std::map<std::string, std::string>;

struct PublishRequest {
  std::string topic;
  std::string data;  // the bytes to send (a CloudEvent JSON unless rawPayload)
  std::string content_type;
  Metadata metadata;  // e.g. partitionKey, ttlInSeconds
};

struct Message {
  std::string topic;
  std::string data;
  std::string content_type;
  Metadata metadata;
};

using Handler = std::function<Status(const Message&)>;

// Bulk subscribe, and concurrent delivery: the broker's messages in batches of up to
// max_messages, in the broker's order. A batch that is not full waits at most max_await_ms for
// more once it holds one message; 0 hands over what the broker already sent, without waiting.
struct BulkOptions {
  int max_messages = 100;
  int max_await_ms = 1000;
};
// One status per message, in order. Each OK acknowledges its message, each error makes it
// available again, as for Handler; a broker that acknowledges by position (Kafka offsets) may
// deliver the messages behind a failed one in its partition again too.
using BulkHandler = std::function<std::vector<Status>(const std::vector<Message>&)>;

struct SubscribeRequest {
  std::string topic;
  Metadata metadata;
};

class PubSub {
 public:
  virtual ~PubSub() = default;
  virtual Status init(const runtime::Properties& properties) = 0;
  virtual std::vector<std::string> features() const { return {}; }
  // Returns once the broker accepted the message (it will not be lost).
  virtual Status publish(const PublishRequest& request) = 0;
  // Publishes when that needs no waiting (it is called on an I/O thread); nullopt when it would
  // wait, and the caller then runs publish() on the component's workers. Brokers that always
  // wait on the network keep this default.
  virtual std::optional<Status> tryPublish(const PublishRequest& request) { return std::nullopt; }
  // Starts consuming topic, one message at a time; returns once the subscription is in place.
  // Every broker gives it through bulkSubscribe, as batches of one handed over at once.
  Status subscribe(const SubscribeRequest& request, Handler handler) {
    return bulkSubscribe(request, BulkOptions{1, 0},
                         [handler = std::move(handler)](const std::vector<Message>& batch) {
                           return std::vector<Status>{handler(batch.at(0))};
                         });
  }
  // Starts consuming topic in batches (see BulkOptions), handed over one at a time: the next
  // once the handler returned. Returns once the subscription is in place.
  virtual Status bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                               BulkHandler handler) = 0;
  // How many messages of one subscription the runtime may hand to the app at once, from the
  // component's metadata (Dapr's names: Redis `concurrency`, RabbitMQ `concurrencyMode`). 1, the
  // default, keeps the broker's order.
  virtual int concurrency() const { return 1; }
  // Stops consumers and waits for in-flight handlers; unacknowledged messages stay with the broker.
  virtual void close() = 0;
};

}  // namespace outrigger::sidecar::components::pubsub
