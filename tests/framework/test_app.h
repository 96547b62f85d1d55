#pragma once

// An in-process HTTP app for integration tests, on the project's own Beast server, plus a
// launcher for the real outriggerd binary.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/http/server.h"

namespace outrigger::testing {

struct Received {
  std::string method;
  std::string target;
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;
};

class TestApp {
 public:
  // behaviour returns the response for a request; null: 200 with an empty body.
  using Behaviour = std::function<http::Response(const http::Request&)>;
  TestApp();
  ~TestApp();
  void setBehaviour(Behaviour b);
  uint16_t port() const { return server_->port(); }
  std::vector<Received> received();
  // Waits (bounded) until pred holds over what was received.
  bool waitFor(const std::function<bool(const std::vector<Received>&)>& pred,
               int timeout_ms = 10000);

 private:
  // Several connections are served at once, as a real app would (one thread per context, each
  // connection on one of them), so that a test sees whether the sidecar overlaps its calls.
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;
  std::unique_ptr<http::Server> server_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::vector<Received> received_;
  Behaviour behaviour_;
};

class SidecarProcess {
 public:
  ~SidecarProcess();
  // Starts outriggerd with args (ports are added); false if it exited or never got healthy.
  bool start(std::vector<std::string> args, bool wait_healthy = true);
  // Runs outriggerd to completion (for start-up failures); returns its exit code.
  static int runToExit(std::vector<std::string> args, std::string* output, int timeout_ms = 20000);
  int httpPort() const { return http_port_; }
  int pid() const { return pid_; }  // -1 when not running
  std::string log() const;
  int stop(int signal = 15);

  http::Response request(http::bhttp::verb verb, const std::string& target,
                         const std::string& body = "",
                         const std::string& content_type = "application/json");

 private:
  bool startOnce(std::vector<std::string> args, bool wait_healthy);

  int pid_ = -1;
  int http_port_ = 0;
  std::string log_path_;
};

uint16_t freePort();
std::string makeTempDir(const std::string& prefix);
void writeFile(const std::string& path, const std::string& text);

}  // namespace outrigger::testing
