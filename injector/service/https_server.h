#pragma once

// The webhook's HTTPS server (Boost.Beast over OpenSSL): HTTP/1.1 keep-alive, bounded headers and
// bodies, handshake and idle timeouts. Each new connection takes the TLS context current at its
// accept, so a reloaded certificate serves new connections while old ones finish on theirs.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/http/server.h"
#include "common/status/status.h"
#include "common/tls/server_context.h"
#include "injector/service/handler.h"

namespace outrigger::injector::service {

struct HttpsServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 4000;  // 0 picks a free port; port() tells which
  uint64_t max_body_bytes = 2 * 1024 * 1024;
  uint32_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds handshake_timeout{10000};
  // From a request's first byte to the end of its header.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
};

class HttpsServer {
 public:
  // handler and tls must outlive the server and every connection (they run on ioc).
  HttpsServer(boost::asio::io_context& ioc, HttpsServerOptions options,
              tls::ReloadingServerContext* tls, const Handler* handler);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  Status start();
  void stop();  // stops accepting
  uint16_t port() const { return port_; }

 private:
  void accept();
  void backOff();
  boost::asio::io_context& ioc_;
  HttpsServerOptions options_;
  tls::ReloadingServerContext* tls_;
  const Handler* handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_{acceptor_.get_executor()};
  http::AcceptBackoff backoff_;
  uint16_t port_ = 0;
};

}  // namespace outrigger::injector::service
