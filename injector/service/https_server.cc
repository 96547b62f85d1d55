#include "injector/service/https_server.h"

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>

#include "common/http/server.h"
#include "common/http/wire.h"
#include "common/logging/log.h"

namespace outrigger::injector::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxDrainBytes = 16 * 1024 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<asio::ssl::context> ctx,
          const HttpsServerOptions& options, const Handler* handler)
      : ctx_(std::move(ctx)),
        stream_(std::move(socket), *ctx_),
        options_(options),
        handler_(handler) {
    // The API server keeps its connections open between reviews: an idle one need not hold
    // OpenSSL's read and write buffers (some 34 KB).
    SSL_set_mode(stream_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

 private:
  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(options_.handshake_timeout);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) return;  // scanners, probes without TLS, timeouts
                              self->guarded([&] { self->read(); });
                            });
  }

  // Runs a step of this connection; whatever it throws ends this connection only.
  template <typename Step>
  void guarded(Step&& step) noexcept {
    try {
      step();
    } catch (const std::exception& e) {
      LOG_ERROR_EVERY(10) << "HTTPS connection dropped: " << e.what();
      abort();
    } catch (...) {
      abort();
    }
  }

  void read() {
    parser_.emplace();
    parser_->eager(true);
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(options_.max_header_bytes);
    continue_sent_ = false;
    // Idle between requests up to idle_timeout; once a request has begun, its header has
    // header_timeout and its body idle_timeout (see needMore).
    stage_ = Stage::kIdle;
    beast::get_lowest_layer(stream_).expires_after(options_.idle_timeout);
    onParsed(http::parseBuffered(*parser_, buffer_, options_.max_header_bytes));
  }

  void readMore() {
    http::asyncReadSome(stream_, buffer_, *parser_, options_.max_header_bytes,
                        [self = shared_from_this()](beast::error_code ec) {
                          self->guarded([&] { self->onParsed(ec); });
                        });
  }

  void needMore() {
    auto& lowest = beast::get_lowest_layer(stream_);
    if (stage_ == Stage::kIdle && parser_->got_some()) {
      stage_ = Stage::kHeader;
      lowest.expires_after(options_.header_timeout);
    }
    if (stage_ != Stage::kBody && parser_->is_header_done()) {
      stage_ = Stage::kBody;
      lowest.expires_after(options_.idle_timeout);
      auto expect = parser_->get().find(bhttp::field::expect);
      if (!continue_sent_ && expect != parser_->get().end() &&
          beast::iequals(expect->value(), "100-continue")) {
        continue_sent_ = true;
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(stream_, asio::buffer(kContinue),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            self->guarded([&] { ec ? self->close() : self->readMore(); });
                          });
        return;
      }
    }
    readMore();
  }

  void onParsed(beast::error_code ec) {
    if (ec == bhttp::error::need_more) return needMore();
    if (ec == bhttp::error::end_of_stream) return close();
    if (ec == bhttp::error::body_limit) {
      const auto& req = parser_->get();
      HttpReply reply = handler_->tooLarge(req.target(), options_.max_body_bytes);
      return write(std::move(reply), req.version(), /*keep_alive=*/false, /*drain=*/true);
    }
    if (ec == bhttp::error::header_limit) {
      return write({431, "request headers too large\n"}, 11, /*keep_alive=*/false, /*drain=*/true);
    }
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
      return write({400, "malformed HTTP request: " + ec.message() + "\n"}, 11, false, false);
    }
    if (ec) return abort();  // timeout, reset, TLS error: nothing to answer on
    const auto& req = parser_->get();
    auto content_type = req.find(bhttp::field::content_type);
    std::string_view ct = content_type == req.end() ? std::string_view() : content_type->value();
    HttpReply reply;
    try {
      reply = handler_->handle(req.method_string(), req.target(), ct, req.body());
    } catch (const std::exception& e) {
      LOG_ERROR_EVERY(10) << "HTTPS handler failed: " << e.what();
      return write({500, "internal error\n"}, req.version(), false, false);
    }
    write(std::move(reply), req.version(), req.keep_alive(), false);
  }

  void write(HttpReply reply, unsigned version, bool keep_alive, bool drain) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(reply.status), version ? version : 11);
    res->set(bhttp::field::server, "outrigger-injector");
    res->set(bhttp::field::content_type, reply.content_type);
    res->body() = std::move(reply.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(options_.idle_timeout);
    bhttp::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive, drain](beast::error_code ec, size_t) {
          if (ec) return;
          self->guarded([&] {
            if (drain) return self->drain();
            if (keep_alive) return self->read();
            self->close();
          });
        });
  }

  // The client may still be sending the body we refused: read it away (bounded) so closing does
  // not reset the connection before the client has read our answer.
  void drain() {
    if (!scratch_) scratch_ = std::make_unique<std::array<char, 16384>>();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_read_some(asio::buffer(*scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              self->guarded([&] {
                                if (ec || self->drained_ > kMaxDrainBytes) return self->close();
                                self->drain();
                              });
                            });
  }

  // Without a TLS close_notify: the connection is broken or its peer is not to be trusted.
  void abort() noexcept {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  void close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  std::shared_ptr<asio::ssl::context> ctx_;  // kept alive across certificate reloads
  beast::ssl_stream<beast::tcp_stream> stream_;
  const HttpsServerOptions options_;  // a copy: a session may outlive the server object
  const Handler* handler_;
  beast::flat_buffer buffer_;
  std::optional<http::RequestParser> parser_;
  bool continue_sent_ = false;
  // How far the request being read has come: each stage has its own deadline.
  enum class Stage { kIdle, kHeader, kBody } stage_ = Stage::kIdle;
  std::unique_ptr<std::array<char, 16384>> scratch_;  // only for draining a refused body
  size_t drained_ = 0;
};

}  // namespace

HttpsServer::HttpsServer(asio::io_context& ioc, HttpsServerOptions options,
                         tls::ReloadingServerContext* tls, const Handler* handler)
    : ioc_(ioc),
      options_(std::move(options)),
      tls_(tls),
      handler_(handler),
      acceptor_(asio::make_strand(ioc)) {}

HttpsServer::~HttpsServer() = default;

Status HttpsServer::start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec) return invalidArgumentError("invalid listen address " + options_.address);
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return unavailableError("cannot listen on " + options_.address + ":" +
                            std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  accept();
  return okStatus();
}

void HttpsServer::stop() {
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  });
}

void HttpsServer::accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      LOG_WARN_EVERY(10) << "accept failed: " << ec.message();
      if (http::isResourceShortage(ec)) return backOff();
    } else {
      backoff_.reset();
      try {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), tls_->current(), options_, handler_)->run();
      } catch (const std::exception& e) {
        LOG_ERROR_EVERY(10) << "cannot serve a connection: " << e.what();
      }
    }
    accept();
  });
}

// Out of descriptors the connection stays in the backlog: accepting again at once would spin.
void HttpsServer::backOff() {
  retry_.expires_after(backoff_.next());
  retry_.async_wait([this](beast::error_code ec) {
    if (!ec && acceptor_.is_open()) accept();
  });
}

}  // namespace outrigger::injector::service
