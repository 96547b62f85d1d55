#include "common/http/server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <optional>

#include "common/http/wire.h"
#include "common/logging/log.h"

namespace outrigger::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

Response makeResponse(unsigned status, std::string body, std::string_view content_type) {
  Response res{static_cast<bhttp::status>(status), 11};
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

bool isResourceShortage(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open ||
         ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

namespace {

constexpr size_t kReadBufferBytes = 8192;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string errorBody(const char* code, std::string_view message) {
  return std::string("{\"errorCode\":\"") + code + "\",\"message\":\"" + std::string(message) +
         "\"}";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(IoSocket&& socket, std::shared_ptr<const ServerOptions> options,
          std::shared_ptr<Handler> handler, std::shared_ptr<Server::SharedState> state)
      : stream_(std::move(socket)),
        options_(std::move(options)),
        handler_(std::move(handler)),
        state_(std::move(state)) {
    // Beast reads max(512, free capacity) at a time: room for a whole typical message in one
    // read instead of three 512-byte ones (measured: 6 -> 2 reads per proxied request).
    buffer_.reserve(kReadBufferBytes);
  }

  void run() {
    asio::dispatch(stream_.get_executor(),
                   [self = shared_from_this()] { self->guarded([&] { self->read(); }); });
  }

 private:
  // How far the request being read has come: each stage has its own deadline.
  enum class Stage { kIdle, kHeader, kBody };

  // Runs a step of this connection; whatever it throws ends this connection only.
  template <typename Step>
  void guarded(Step&& step) noexcept {
    try {
      step();
    } catch (const std::exception& e) {
      LOG_ERROR_EVERY(10) << "HTTP connection dropped: " << e.what();
      close();
    } catch (...) {
      close();
    }
  }

  void read() {
    if (state_->closing) return close();
    parser_.emplace();
    parser_->eager(true);
    parser_->body_limit(options_->max_body_bytes);
    parser_->header_limit(options_->max_header_bytes);
    continue_sent_ = false;
    // The connection's first request has header_timeout from the accept (a client that sends
    // nothing is gone soon); a keep-alive connection may then idle until its next request
    // starts, and that one's header has header_timeout from its first byte (see needMore).
    stage_ = first_ ? Stage::kHeader : Stage::kIdle;
    stream_.expires_after(first_ ? options_->header_timeout : options_->idle_timeout);
    first_ = false;
    // A pipelined request may be in the buffer already.
    onParsed(parseBuffered(*parser_, buffer_, options_->max_header_bytes));
  }

  void readMore() {
    asyncReadSome(stream_, buffer_, *parser_, options_->max_header_bytes,
                  [self = shared_from_this()](beast::error_code ec) {
                    self->guarded([&] { self->onParsed(ec); });
                  });
  }

  void onParsed(beast::error_code ec) {
    if (ec == bhttp::error::need_more) return needMore();
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    // daprd cuts the body at --max-body-size and its handlers fail to read it: a 400
    // ERR_MALFORMED_REQUEST for the JSON APIs. Answer that for every route, before the handler.
    if (ec == bhttp::error::body_limit) {
      return writeError(400, "ERR_MALFORMED_REQUEST",
                        "the request body exceeds the maximum body size (--max-body-size)");
    }
    if (ec == bhttp::error::header_limit) {
      return writeError(431, "ERR_BAD_REQUEST", "request headers too large");
    }
    if (ec) {
      return writeError(400, "ERR_BAD_REQUEST", "malformed HTTP request: " + ec.message());
    }
    stream_.expires_never();
    handle(parser_->release());
  }

  // The request is not complete yet: arm the deadline of the stage it reached, answer
  // "Expect: 100-continue" once the header is in, and read on.
  void needMore() {
    if (stage_ == Stage::kIdle && parser_->got_some()) {
      stage_ = Stage::kHeader;
      stream_.expires_after(options_->header_timeout);
    }
    if (stage_ != Stage::kBody && parser_->is_header_done()) {
      stage_ = Stage::kBody;
      stream_.expires_after(options_->idle_timeout);
      if (!continue_sent_ && expectsContinue(parser_->get())) {
        continue_sent_ = true;
        asio::async_write(stream_, asio::buffer(kContinue),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->guarded([&] { ec ? self->close() : self->readMore(); });
                          });
        return;
      }
    }
    readMore();
  }

  static bool expectsContinue(const Request& req) {
    auto it = req.find(bhttp::field::expect);
    return it != req.end() && req.version() >= 11 && beast::iequals(it->value(), "100-continue");
  }

  void handle(Request&& req) {
    keep_alive_ = req.keep_alive();
    state_->in_flight++;
    awaiting_response_ = true;
    auto self = shared_from_this();
    Responder respond = [self](Response&& res) {
      // Answered on this session's own I/O thread (the usual case: a proxied call completes on
      // the thread that took the request): write now rather than queue behind the reactor.
      if (self->stream_.get_executor().running_in_this_thread()) {
        return self->guarded([&] { self->answer(std::move(res)); });
      }
      auto shared = std::make_shared<Response>(std::move(res));
      asio::post(self->stream_.get_executor(),
                 [self, shared] { self->guarded([&] { self->answer(std::move(*shared)); }); });
    };
    try {
      (*handler_)(std::move(req), std::move(respond));
    } catch (const std::exception& e) {
      LOG_ERROR_EVERY(10) << "HTTP handler failed: " << e.what();
      keep_alive_ = false;  // whatever the handler left behind, this connection ends
      if (awaiting_response_) {
        awaiting_response_ = false;
        write(makeResponse(500, errorBody("ERR_INTERNAL", "internal error"), "application/json"));
      }
    }
  }

  // The handler's response: the first one counts (a handler that threw may answer late).
  void answer(Response&& res) {
    if (!awaiting_response_) return;
    awaiting_response_ = false;
    write(std::move(res));
  }

  void writeError(unsigned status, const char* code, const std::string& message) {
    keep_alive_ = false;
    state_->in_flight++;
    write(makeResponse(status, errorBody(code, message), "application/json"));
  }

  void write(Response&& res) {
    res_ = std::move(res);
    res_.version(11);
    res_.keep_alive(keep_alive_ && !state_->closing);
    res_.prepare_payload();
    auto head = serializeHead(res_);
    if (!head.ok()) {
      // A handler put a line break (or another control) in a header: answering what it built
      // would split the response.
      LOG_ERROR_EVERY(10) << "HTTP response refused: " << head.status().message();
      keep_alive_ = false;
      res_ = makeResponse(500, errorBody("ERR_INTERNAL", "invalid response header"),
                          "application/json");
      res_.keep_alive(false);
      res_.prepare_payload();
      head = serializeHead(res_);
    }
    head_ = std::move(*head);
    stream_.expires_after(options_->idle_timeout);
    asyncWriteMessage(stream_, head_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->state_->in_flight--;
                        self->guarded([&] {
                          if (ec || !self->res_.keep_alive() || !self->keep_alive_) {
                            return self->close();
                          }
                          self->res_ = {};
                          self->read();
                        });
                      });
  }

  void close() noexcept {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  IoStream stream_;
  std::shared_ptr<const ServerOptions> options_;
  std::shared_ptr<Handler> handler_;
  std::shared_ptr<Server::SharedState> state_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Response res_;
  std::string head_;  // res_'s start line and fields while it is written
  bool keep_alive_ = true;
  bool first_ = true;
  bool continue_sent_ = false;
  bool awaiting_response_ = false;  // the handler has the request and has not answered yet
  Stage stage_ = Stage::kHeader;
};

}  // namespace

class Server::Listener : public std::enable_shared_from_this<Server::Listener> {
 public:
  Listener(std::vector<asio::io_context*> iocs, std::shared_ptr<const ServerOptions> options,
           std::shared_ptr<Handler> handler, std::shared_ptr<SharedState> state)
      : iocs_(std::move(iocs)),
        acceptor_(asio::make_strand(*iocs_[0])),
        options_(std::move(options)),
        handler_(std::move(handler)),
        state_(std::move(state)) {}

  Status bind(const std::string& address, uint16_t port) {
    beast::error_code ec;
    auto addr = asio::ip::make_address(address == "localhost" ? "127.0.0.1" : address, ec);
    if (ec) return invalidArgumentError("invalid listen address '" + address + "'");
    tcp::endpoint endpoint{addr, port};
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && addr.is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return unavailableError("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                              ec.message());
    }
    return okStatus();
  }

  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void accept() {
    asio::io_context& target = *iocs_[next_++ % iocs_.size()];
    acceptor_.async_accept(target.get_executor(), [self = shared_from_this()](beast::error_code ec,
                                                                              IoSocket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        LOG_WARN_EVERY(10) << "accept failed: " << ec.message();
        if (isResourceShortage(ec)) return self->backOff();
      } else {
        self->backoff_.reset();
        try {
          socket.set_option(tcp::no_delay(true), ec);
          std::make_shared<Session>(std::move(socket), self->options_, self->handler_, self->state_)
              ->run();
        } catch (const std::exception& e) {
          LOG_ERROR_EVERY(10) << "cannot serve a connection: " << e.what();
        }
      }
      if (self->acceptor_.is_open()) self->accept();
    });
  }

  void stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  // Out of descriptors (or kernel memory) the pending connection stays in the backlog, so
  // accepting again at once fails again at once: wait, longer each time, until one succeeds.
  void backOff() {
    retry_.expires_after(backoff_.next());
    retry_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->acceptor_.is_open()) self->accept();
    });
  }

  std::vector<asio::io_context*> iocs_;
  size_t next_ = 0;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_{acceptor_.get_executor()};
  AcceptBackoff backoff_;
  std::shared_ptr<const ServerOptions> options_;
  std::shared_ptr<Handler> handler_;
  std::shared_ptr<SharedState> state_;
};

Server::Server(asio::io_context& ioc, ServerOptions options, Handler handler)
    : Server(std::vector<asio::io_context*>{&ioc}, std::move(options), std::move(handler)) {}

Server::Server(std::vector<asio::io_context*> iocs, ServerOptions options, Handler handler)
    : iocs_(std::move(iocs)),
      options_(std::make_shared<const ServerOptions>(std::move(options))),
      handler_(std::make_shared<Handler>(std::move(handler))),
      state_(std::make_shared<SharedState>()) {}

Server::~Server() { stopAccepting(); }

Status Server::start() {
  uint16_t port = options_->port;
  for (const auto& address : options_->addresses) {
    auto listener = std::make_shared<Listener>(iocs_, options_, handler_, state_);
    RETURN_IF_ERROR(listener->bind(address, port));
    // With port 0, every further address reuses the port the first one got.
    port = listener->port();
    listeners_.push_back(listener);
  }
  bound_port_ = port;
  for (auto& l : listeners_) l->accept();
  return okStatus();
}

void Server::stopAccepting() {
  state_->closing = true;
  for (auto& l : listeners_) l->stop();
  listeners_.clear();
}

}  // namespace outrigger::http
