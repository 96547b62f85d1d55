#include "common/http/client.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <cerrno>
#include <future>
#include <optional>

#include "common/http/wire.h"

namespace outrigger::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class ClientPool::Connection : public std::enable_shared_from_this<ClientPool::Connection> {
 public:
  explicit Connection(asio::io_context& ioc)
      : resolver_(ioc.get_executor()), stream_(ioc.get_executor()) {
    buffer_.reserve(8192);  // one read per typical response rather than 512-byte slices
  }

  bool reused = false;

  void connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
               std::function<void(beast::error_code)> done) {
    auto self = shared_from_this();
    beast::error_code ec;
    auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    stream_.expires_after(timeout);
    if (!ec) {
      stream_.async_connect(tcp::endpoint(addr, port), [self, done](beast::error_code ec) {
        if (!ec) self->stream_.socket().set_option(tcp::no_delay(true), ec);
        done(ec);
      });
      return;
    }
    resolver_.async_resolve(host, std::to_string(port),
                            [self, done](beast::error_code ec, tcp::resolver::results_type r) {
                              if (ec) return done(ec);
                              self->stream_.async_connect(
                                  r, [self, done](beast::error_code ec, const tcp::endpoint&) {
                                    if (!ec)
                                      self->stream_.socket().set_option(tcp::no_delay(true), ec);
                                    done(ec);
                                  });
                            });
  }

  // done(ec, got_bytes, response). `head` (req's, serialized) and req must stay alive until
  // done runs.
  template <typename Done>
  void exchange(const std::string& head, const Request& req, std::chrono::milliseconds timeout,
                const ClientOptions& options, Done&& done) {
    // Called on this connection's own I/O thread (see ClientPool::attempt).
    stream_.expires_after(timeout);
    head_request_ = req.method() == bhttp::verb::head;
    max_body_ = options.max_response_bytes;
    max_header_ = options.max_header_bytes;
    asyncWriteMessage(stream_, head, req,
                      [self = shared_from_this(), done = std::forward<Done>(done)](
                          beast::error_code ec, std::size_t) mutable {
                        if (ec) return done(ec, false, Response{});
                        self->startResponse();
                        self->onParsed(
                            parseBuffered(*self->parser_, self->buffer_, self->max_header_),
                            std::move(done));
                      });
  }

  // After a complete response: whether the connection may carry the next request. Not when the
  // peer sent more than that response (its framing and ours disagree: what follows would be
  // taken for the next caller's response) nor when it asked to close.
  bool reusable(const Response& res) const {
    return res.keep_alive() && buffer_.size() == 0 &&
           res.result() != bhttp::status::switching_protocols;
  }

  void close() {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

 private:
  void startResponse() {
    parser_.emplace();
    interim_seen_ = false;
    parser_->eager(true);
    parser_->body_limit(max_body_);
    parser_->header_limit(max_header_);
    parser_->skip(head_request_);  // a response to HEAD has no body, whatever it announces
  }

  template <typename Done>
  void onParsed(beast::error_code ec, Done&& done) {
    if (ec == bhttp::error::need_more) {
      return asyncReadSome(
          stream_, buffer_, *parser_, max_header_,
          [self = shared_from_this(), done = std::forward<Done>(done)](
              beast::error_code ec) mutable { self->onParsed(ec, std::move(done)); });
    }
    bool got_bytes = parser_->got_some() || interim_seen_;
    if (ec) {
      stream_.expires_never();
      return done(ec, got_bytes, Response{});
    }
    unsigned status = parser_->get().result_int();
    if (status >= 100 && status < 200 && status != 101) {
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      startResponse();
      interim_seen_ = true;
      return onParsed(parseBuffered(*parser_, buffer_, max_header_), std::forward<Done>(done));
    }
    stream_.expires_never();
    done(ec, true, parser_->release());
  }

  tcp::resolver resolver_;
  IoStream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  bool head_request_ = false;
  bool interim_seen_ = false;
  uint64_t max_body_ = 0;
  uint32_t max_header_ = 0;
};

namespace {
thread_local int t_io_index = -1;
}

std::shared_ptr<ClientPool> ClientPool::create(asio::io_context& ioc, ClientOptions options) {
  return create(std::vector<asio::io_context*>{&ioc}, options);
}

std::shared_ptr<ClientPool> ClientPool::create(std::vector<asio::io_context*> iocs,
                                               ClientOptions options) {
  return std::shared_ptr<ClientPool>(new ClientPool(std::move(iocs), options));
}

void ClientPool::bindCurrentThread(int index) { t_io_index = index; }

ClientPool::ClientPool(std::vector<asio::io_context*> iocs, ClientOptions options)
    : iocs_(std::move(iocs)), options_(options), idle_(iocs_.size()) {}

size_t ClientPool::currentIndex() const {
  return t_io_index >= 0 && static_cast<size_t>(t_io_index) < iocs_.size()
             ? static_cast<size_t>(t_io_index)
             : 0;
}

std::shared_ptr<ClientPool::Connection> ClientPool::takeIdle(size_t index, const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = idle_[index].find(key);
  if (it == idle_[index].end()) return nullptr;
  if (it->second.empty()) return nullptr;
  // Not peeked at before reuse: one more syscall a call cost 7 % of max throughput
  // (bench/sidecar.sh). A peer closed meanwhile is retried on a new connection (send()); bytes
  // a peer sends unasked are caught when they come with a response (reusable()).
  auto conn = std::move(it->second.back());
  it->second.pop_back();
  return conn;
}

void ClientPool::giveBack(size_t index, const std::string& key, std::shared_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& list = idle_[index][key];
  if (list.size() >= options_.max_idle_per_host) {
    conn->close();
    return;
  }
  conn->reused = true;
  list.push_back(std::move(conn));
}

size_t ClientPool::idleCountForTest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& per_context : idle_) {
    for (const auto& [k, v] : per_context) n += v.size();
  }
  return n;
}

// One request on its way: everything the attempts and their callbacks share.
struct ClientPool::Call {
  size_t index;
  std::string host;
  uint16_t port;
  std::string key;  // host:port
  Request req;
  std::string head;  // req's start line and fields, validated
  ResponseCallback done;
  std::chrono::milliseconds timeout;
  bool allow_retry = true;
};

void ClientPool::send(const std::string& host, uint16_t port, Request req, ResponseCallback done,
                      std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = options_.request_timeout;
  req.version(11);
  if (req.find(bhttp::field::host) == req.end()) req.set(bhttp::field::host, host);
  req.keep_alive(true);
  // The whole body goes with the head: the peer's 100 Continue would only be skipped.
  req.erase(bhttp::field::expect);
  req.prepare_payload();
  auto head = serializeHead(req);
  size_t index = currentIndex();
  asio::io_context& ioc = *iocs_[index];
  if (!head.ok()) {
    // Nothing is written: a request the peer would read differently is not sent at all.
    return asio::post(ioc, [done = std::move(done), status = head.status()] { done(status); });
  }
  auto call = std::make_shared<Call>(Call{index, host, port, host + ":" + std::to_string(port),
                                          std::move(req), std::move(*head), std::move(done),
                                          timeout, true});
  // A connection is only ever used on its own context's thread.
  if (ioc.get_executor().running_in_this_thread()) return attempt(std::move(call));
  asio::post(ioc, [self = shared_from_this(), call = std::move(call)]() mutable {
    self->attempt(std::move(call));
  });
}

void ClientPool::attempt(std::shared_ptr<Call> call) {
  if (auto idle = takeIdle(call->index, call->key))
    return exchange(std::move(idle), std::move(call));
  auto conn = std::make_shared<Connection>(*iocs_[call->index]);
  Connection* raw = conn.get();
  const std::string& host = call->host;
  uint16_t port = call->port;
  raw->connect(host, port, options_.connect_timeout,
               [self = shared_from_this(), conn, call](beast::error_code ec) {
                 if (ec) {
                   return call->done(
                       unavailableError("cannot connect to " + call->key + ": " + ec.message()));
                 }
                 self->exchange(conn, call);
               });
}

void ClientPool::exchange(std::shared_ptr<Connection> conn, std::shared_ptr<Call> call) {
  Connection* raw = conn.get();
  // Kept alive by `call` in the callback.
  const Request& req = call->req;
  const std::string& head = call->head;
  std::chrono::milliseconds timeout = call->timeout;
  raw->exchange(
      head, req, timeout, options_,
      [self = shared_from_this(), conn = std::move(conn), call = std::move(call)](
          beast::error_code ec, bool got_bytes, Response&& res) mutable {
        if (ec) {
          conn->close();
          if (conn->reused && !got_bytes && call->allow_retry && ec != beast::error::timeout) {
            // The peer closed an idle keep-alive connection: retry once, fresh.
            call->allow_retry = false;
            return self->attempt(std::move(call));
          }
          if (ec == beast::error::timeout) {
            return call->done(deadlineExceededError("timed out waiting for " + call->key));
          }
          return call->done(
              unavailableError("request to " + call->key + " failed: " + ec.message()));
        }
        if (conn->reusable(res)) {
          self->giveBack(call->index, call->key, std::move(conn));
        } else {
          conn->close();
        }
        call->done(std::move(res));
      });
}

StatusOr<Response> ClientPool::sendSync(const std::string& host, uint16_t port, Request req) {
  auto promise = std::make_shared<std::promise<StatusOr<Response>>>();
  auto future = promise->get_future();
  send(host, port, std::move(req),
       [promise](StatusOr<Response> r) { promise->set_value(std::move(r)); });
  return future.get();
}

bool canConnect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return false;
  bool ok = false;
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(addr, port), [&](beast::error_code e) { ok = !e; });
  ioc.run();
  stream.socket().close(ec);
  return ok;
}

}  // namespace outrigger::http
