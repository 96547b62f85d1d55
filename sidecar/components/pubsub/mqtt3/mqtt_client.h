#pragma once

// A small MQTT 3.1.1 client over TCP for pubsub.mqtt3, written for one guarantee libmosquitto
// (2.0) cannot give: an incoming QoS 1 or 2 message is acknowledged to the broker (PUBACK, or
// PUBREC) only once the application released it. A message received and not yet processed when
// the process stops or crashes is therefore still the broker's, and a persistent session gets it
// again on the next connection. libmosquitto acknowledges on receipt, before its callback runs.
//
// One thread per client keeps the connection: it connects (backing off while the broker is
// away), reads and dispatches packets, pings, and on every new connection subscribes again and
// resends what was published and not yet acknowledged (with DUP), as MQTT requires.

#include <atomic>
#include <chrono>
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

namespace outrigger::sidecar::components::pubsub::mqtt3 {

struct ClientOptions {
  std::string who = "pubsub.mqtt3";  // for log lines
  std::string host;
  int port = 1883;
  std::string user;  // empty: no user name (and no password)
  std::string password;
  std::string client_id;
  bool clean_session = false;
  int keepalive_seconds = 30;
  int64_t timeout_ms = 10000;  // connecting, CONNACK, a publish's acknowledgement, a SUBACK
  int64_t reconnect_min_ms = 250;
  int64_t reconnect_max_ms = 5000;
};

class Client;

// One incoming message's acknowledgement. The client holds it while its callback runs; whoever
// keeps the message past the callback holds it too. The last release acknowledges (QoS 1 and 2).
class Ack {
 public:
  Ack(Client* client, uint64_t connection, uint16_t mid, int qos)
      : client_(client), connection_(connection), mid_(mid), qos_(qos) {}
  void hold() { holders_++; }
  void release();
  // True when the connection the message came on is gone and the broker keeps the session: it
  // sends the message again on the next connection, so this copy need not be processed.
  bool stale() const;

 private:
  Client* client_;
  uint64_t connection_;
  uint16_t mid_;
  int qos_;
  std::atomic<int> holders_{1};
};

struct Incoming {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

// Called on the client's thread, one message at a time.
using OnMessage = std::function<void(const Incoming&, const std::shared_ptr<Ack>&)>;

// MQTT topic filter matching: '+' is one level, a final '#' any number; filters starting with a
// wildcard do not match topics starting with '$'.
bool topicMatches(const std::string& filter, const std::string& topic);

class Client {
 public:
  Client(ClientOptions options, OnMessage on_message);
  ~Client();
  // Connects (bounded by timeout_ms) and keeps the connection from then on; an error when the
  // first connection failed, with the broker's reason.
  Status start();
  // Returns once the broker acknowledged the message (QoS 1: PUBACK, QoS 2: PUBCOMP) or, for
  // QoS 0, once it was written. While the connection is down it waits (bounded) for the next.
  Status publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  // Returns once the broker granted the subscription (SUBACK); kept on every new connection.
  Status subscribe(const std::string& filter, int qos);
  // Disconnects (DISCONNECT: a persistent session stays at the broker) and stops the thread.
  void close();

 private:
  friend class Ack;
  struct Outgoing {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = false;
    bool released = false;  // QoS 2: PUBREC came, PUBREL sent
    bool done = false;
    bool waited = true;  // a publish() waits for it; else it is finished in the background
  };
  struct Subscription {
    std::string filter;
    int qos = 1;
    int state = 0;  // 0: no SUBACK yet, 1: granted, 2: refused
  };

  void run();
  Status connectOnce(std::string* buffer);
  void afterConnect();
  void drop(const std::string& why);
  // Handles one packet; false on a protocol error (the connection is then dropped).
  bool handle(uint8_t header, const std::string& body);
  // Writes one packet on the connection numbered connection; false when that connection is
  // gone or the write failed (the reader then notices the broken socket).
  bool write(uint64_t connection, const std::string& packet);
  void acknowledge(uint64_t connection, uint16_t mid, int qos);
  uint16_t nextMid();  // under mutex_

  ClientOptions options_;
  OnMessage on_message_;
  std::thread thread_;
  std::mutex write_mutex_;  // taken before mutex_, never after
  std::mutex mutex_;
  std::condition_variable cv_;
  bool closed_ = false;
  bool started_ = false;
  std::string first_error_;  // why the first connection failed
  int fd_ = -1;
  bool connected_ = false;
  // Numbers connections: odd while one is up. An Ack from another number is stale.
  std::atomic<uint64_t> connection_{0};
  uint16_t last_mid_ = 0;
  std::map<uint16_t, Outgoing> outgoing_;
  std::vector<Subscription> subscriptions_;
  std::map<uint16_t, std::vector<std::string>> subscribing_;  // SUBSCRIBE mid -> filters
  std::atomic<int64_t> last_write_ms_{0};
};

}  // namespace outrigger::sidecar::components::pubsub::mqtt3
