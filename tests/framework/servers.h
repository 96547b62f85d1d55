#pragma once

// Real servers from Debian's packages for tests: redis-server and PostgreSQL on free loopback
// ports in temporary directories, started and stopped by the test. A missing binary is a test
// failure with a clear message, never a silent skip.

#include <string>

namespace outrigger::testing {

class RedisServer {
 public:
  ~RedisServer() { stop(); }
  // Empty on success, else why it could not start.
  std::string start();
  void stop();
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

class PostgresServer {
 public:
  ~PostgresServer() { stop(); }
  std::string start();  // initdb on first start; a restart keeps the data
  void stop();
  int port() const { return port_; }
  std::string connectionString() const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

int freeTcpPort();
bool waitForPort(int port, int timeout_ms);

}  // namespace outrigger::testing
