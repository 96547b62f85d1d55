#pragma once

// Message brokers from Debian's packages for tests, next to servers.h's databases: RabbitMQ and
// Mosquitto on free loopback ports in temporary directories. As there, a missing binary is a test
// failure with a clear message, and the servers die with the test process.

#include <string>

#include "tests/framework/servers.h"

namespace outrigger::testing {

// rabbitmq-server (Erlang) with its own node name, database, logs and a private epmd, so that
// several brokers (and other engineers' runs) live side by side. Boot takes seconds: start()
// waits, bounded, until an AMQP login succeeds. Data survives stop()/start() (durable queues and
// persistent messages are on disk).
class RabbitMqServer : public ServerProcess {
 public:
  ~RabbitMqServer() override;
  std::string start() override;  // the same ports on every start
  // A first start that failed (a port taken between picking and binding it, which the Erlang
  // distribution port is prone to on a busy machine) tries again on new ports, up to `attempts`.
  std::string startOnFreshPorts(int attempts);
  // amqp://guest:guest@127.0.0.1:<port>/ (guest may log in from loopback only, which this is).
  std::string url() const;

 private:
  int dist_port_ = 0;
  int epmd_port_ = 0;
};

// mosquitto with anonymous access and persistence in its directory, so that a restart keeps the
// QoS 1 messages queued for persistent sessions (saved on an orderly stop()).
class MosquittoServer : public ServerProcess {
 public:
  ~MosquittoServer() override { stop(); }
  std::string start() override;  // the same port on every start
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
};

}  // namespace outrigger::testing
