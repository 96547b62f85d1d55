#pragma once

// An asynchronous HTTP/1.1 client on Boost.Beast with a pool of keep-alive connections per
// host:port. Used for the app channel and for sidecar-to-sidecar calls. Each io_context must be
// run by exactly one thread (see server.h); send() may be called from any thread.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/http/types.h"
#include "common/status/status.h"

namespace outrigger::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{60000};
  uint64_t max_response_bytes = 64 * 1024 * 1024;
  uint32_t max_header_bytes = 64 * 1024;  // of a response's header, and of its trailer
  size_t max_idle_per_host = 64;
};

using ResponseCallback = std::function<void(StatusOr<Response>)>;

class ClientPool : public std::enable_shared_from_this<ClientPool> {
 public:
  static std::shared_ptr<ClientPool> create(boost::asio::io_context& ioc, ClientOptions options);
  // One connection pool per context. A call made on an I/O thread (see bindCurrentThread) uses
  // that thread's context and pool, so it never changes threads; other threads use the first.
  static std::shared_ptr<ClientPool> create(std::vector<boost::asio::io_context*> iocs,
                                            ClientOptions options);
  // Marks the calling thread as the one running context number `index`.
  static void bindCurrentThread(int index);

  // Sends req to host:port; calls done exactly once. A request that fails on a reused idle
  // connection before any response byte arrived is retried once on a fresh connection.
  // InvalidArgument, and nothing sent, when its method, target or a header holds what cannot
  // be written (control characters, a space in the target: see wire.h). A response that cannot
  // be parsed, or is too large, is Unavailable; its connection is not reused.
  void send(const std::string& host, uint16_t port, Request req, ResponseCallback done,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // Blocking helper for tests and control paths (not for I/O threads of the same io_context).
  StatusOr<Response> sendSync(const std::string& host, uint16_t port, Request req);

  // The context a call from this thread runs on: where its callbacks' follow-ups belong.
  boost::asio::io_context& currentContext() const { return *iocs_[currentIndex()]; }

  size_t idleCountForTest() const;

  class Connection;

 private:
  ClientPool(std::vector<boost::asio::io_context*> iocs, ClientOptions options);
  size_t currentIndex() const;
  std::shared_ptr<Connection> takeIdle(size_t index, const std::string& key);
  void giveBack(size_t index, const std::string& key, std::shared_ptr<Connection> conn);
  struct Call;
  void attempt(std::shared_ptr<Call> call);
  void exchange(std::shared_ptr<Connection> conn, std::shared_ptr<Call> call);

  std::vector<boost::asio::io_context*> iocs_;
  ClientOptions options_;
  mutable std::mutex mutex_;
  // Per context: host:port -> idle keep-alive connections.
  std::vector<std::map<std::string, std::vector<std::shared_ptr<Connection>>>> idle_;
};

// Returns true when something accepts TCP connections on host:port.
bool canConnect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

}  // namespace outrigger::http
