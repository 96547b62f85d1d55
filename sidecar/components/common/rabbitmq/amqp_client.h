#pragma once

// What pubsub.rabbitmq and bindings.rabbitmq share, over librabbitmq (AMQP 0-9-1): the broker's
// address from an amqp:// URL, a connection with one channel and publisher confirms, and a
// consumer that acknowledges a message only after its handler took it, reopening its connection
// after any failure.

#include <amqp.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status/status.h"

namespace outrigger::sidecar::components::common::rabbitmq {

constexpr amqp_channel_t kChannel = 1;

struct Address {
  std::string host;
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  int64_t timeout_ms = 10000;  // connect, every RPC, a publish's confirm
};

// amqp://user:pass@host:port/vhost (an empty vhost is "/", as the Go client Dapr uses reads it).
// Errors name field; amqps (TLS) is refused.
Status parseUrl(const std::string& url, const std::string& field, Address* out);

std::string bytesToString(amqp_bytes_t b);
amqp_bytes_t bytesOf(const std::string& s);
// A queue or message argument table entry; it points into the strings given, which must outlive it.
amqp_table_entry_t intEntry(const char* key, int64_t value);
amqp_table_entry_t stringEntry(const char* key, const std::string& value);
amqp_table_entry_t stringEntry(const std::string& key, const std::string& value);

// One AMQP connection with channel 1 open. Not thread-safe: each user holds it alone.
class Connection {
 public:
  ~Connection();
  // heartbeat in seconds; 0: none (an idle publisher is not polled, so it asks for none).
  Status open(const Address& address, int heartbeat);
  // The outcome of the last RPC; any failure leaves the connection unusable (a closed channel,
  // or a reply that may still arrive), so it is marked broken.
  Status check(const std::string& what);
  Status fail(Status st);
  Status enableConfirms();
  // Publishes and waits for the broker's confirm of this message. With mandatory, a message no
  // queue takes comes back: NotFound, and the caller may declare its queue and publish again.
  Status publishConfirmed(const std::string& exchange, const std::string& routing_key,
                          const amqp_basic_properties_t& props, const std::string& body,
                          int64_t timeout_ms, bool mandatory = false);
  amqp_connection_state_t get() const { return conn_; }
  bool broken() const { return broken_; }

 private:
  amqp_connection_state_t conn_ = nullptr;
  bool broken_ = false;
  uint64_t published_ = 0;
};

struct Delivery {
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // the string-valued ones
};

enum class Outcome { kAck, kRequeue, kReject };

// Consumes on a connection and a thread of its own. setUp declares what it needs and starts
// basic.consume (manual acknowledgement) on a fresh connection; it runs again on every new
// connection. Deliveries go to the handler in batches of up to Options::max_batch, in queue
// order; the next batch once the handler returned. Its answer, one per delivery, decides: kAck
// acknowledges, kRequeue nacks the message back onto its queue after a short pause (a failing
// app is not called in a tight loop), kReject rejects it (to a dead-letter exchange, if the queue
// has one). A lost connection is reopened every reconnect_wait_ms; unacknowledged messages return
// to the queue with the connection, so a batch cut short by a lost connection is dropped
// unhandled and delivered again on the next one.
class Consumer {
 public:
  struct Options {
    std::string who;  // for log lines: "pubsub.rabbitmq: subscription to 'orders'"
    int64_t reconnect_wait_ms = 3000;
    int heartbeat_seconds = 10;  // a silent broker is noticed in about twice this
    int64_t requeue_pause_ms = 100;
    // Once a batch holds one delivery it takes more until it holds max_batch or batch_await_ms
    // passed; 0 takes only what already arrived. The channel's prefetch (basic.qos, in setUp)
    // must allow max_batch unacknowledged deliveries, or batches stay smaller.
    int max_batch = 1;
    int64_t batch_await_ms = 0;
  };
  using SetUp = std::function<Status(Connection&)>;
  using Handle = std::function<Outcome(const Delivery&)>;
  // One outcome per delivery, in order; a missing one counts as kRequeue.
  using HandleBatch = std::function<std::vector<Outcome>(const std::vector<Delivery>&)>;

  // One delivery at a time (Options::max_batch is ignored).
  Consumer(Address address, Options options, SetUp set_up, Handle handle);
  Consumer(Address address, Options options, SetUp set_up, HandleBatch handle);
  ~Consumer();
  // Opens and sets up the first connection, so that what is published from now on reaches the
  // queue, then consumes on the thread; an error starts nothing.
  Status start();
  // Stops consuming, waiting for a handler in progress.
  void stop();

 private:
  enum class Read { kDelivery, kNothing, kBroken };

  void run();
  // A usable connection, reopened (with pauses) when it is missing or broken; false once stopped.
  bool connected();
  // Waits up to wait_ms (0: does not wait) for one delivery and appends it.
  Read next(int64_t wait_ms, std::vector<Delivery>* deliveries, std::vector<uint64_t>* tags);
  // Acknowledges, requeues or rejects each delivery of a handled batch, in order.
  void settle(const std::vector<uint64_t>& tags, std::vector<Outcome> outcomes);
  // Sleeps up to ms; false when stopped meanwhile.
  bool pause(int64_t ms);
  bool stopping();

  Address address_;
  Options options_;
  SetUp set_up_;
  HandleBatch handle_;
  std::unique_ptr<Connection> conn_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace outrigger::sidecar::components::common::rabbitmq
