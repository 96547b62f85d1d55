#pragma once

// An HTTP/1.1 server on Boost.Beast: keep-alive, bounded headers and body, idle timeouts, and a
// count of requests in flight so shutdown can drain them. Each io_context given to it must be run
// by exactly one thread: a connection's handlers then never run concurrently, without strands.

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/http/types.h"
#include "common/status/status.h"

namespace outrigger::http {

struct ServerOptions {
  std::vector<std::string> addresses = {"0.0.0.0"};
  uint16_t port = 0;  // 0 picks a free port; port() tells which
  uint64_t max_body_bytes = 4 * 1024 * 1024;
  uint32_t max_header_bytes = 16 * 1024;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
};

// An accept error after which accepting again at once fails again at once (the connection stays
// in the backlog): out of descriptors, buffers or memory. Listeners wait before retrying
// (AcceptBackoff).
bool isResourceShortage(const boost::system::error_code& ec);
constexpr std::chrono::milliseconds kMinAcceptBackoff{10};
constexpr std::chrono::milliseconds kMaxAcceptBackoff{1000};

// How long a listener waits after each resource shortage in a row: kMinAcceptBackoff doubling to
// kMaxAcceptBackoff, from the start again after a successful accept (reset).
class AcceptBackoff {
 public:
  std::chrono::milliseconds next() {
    auto delay = delay_;
    delay_ = std::min(delay_ * 2, kMaxAcceptBackoff);
    return delay;
  }
  void reset() { delay_ = kMinAcceptBackoff; }

 private:
  std::chrono::milliseconds delay_ = kMinAcceptBackoff;
};

class Server {
 public:
  Server(boost::asio::io_context& ioc, ServerOptions options, Handler handler);
  // One acceptor; connections are spread over the contexts round-robin and each stays on its
  // own (one thread per context: a request and its upstream call never change threads).
  Server(std::vector<boost::asio::io_context*> iocs, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every address and starts accepting.
  Status start();
  // Stops accepting new connections; requests already read still complete.
  void stopAccepting();
  uint16_t port() const { return bound_port_; }
  int inFlight() const { return state_->in_flight.load(); }

  struct SharedState {
    std::atomic<int> in_flight{0};
    std::atomic<bool> closing{false};
  };

 private:
  class Listener;
  std::vector<boost::asio::io_context*> iocs_;
  std::shared_ptr<const ServerOptions> options_;
  std::shared_ptr<Handler> handler_;
  std::shared_ptr<SharedState> state_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  uint16_t bound_port_ = 0;
};

}  // namespace outrigger::http
