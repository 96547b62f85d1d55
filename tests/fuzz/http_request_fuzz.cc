// HTTP/1.1 request framing as every listener of outriggerd, the injector and the operator reads
// it: the input goes over a loopback connection into a real outrigger::http::Server (its Session,
// with the parser limits and read buffer it configures), and the answer is read until the server
// closes. An exception that escapes a session ends this process, as it would end the daemon.

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>

#include "common/http/server.h"
#include "common/logging/log.h"
#include "tests/fuzz/repeat_mutator.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using outrigger::http::Request;
using outrigger::http::Responder;
using outrigger::http::Server;
using outrigger::http::ServerOptions;

// The sidecar's defaults, and its header limit with --read-buffer-size 32Ki (4 x the read buffer,
// see sidecar/app.cc): inputs too large for the first are sent to both.
constexpr uint32_t kRaisedHeaderBytes = 4 * 32 * 1024;

struct Harness {
  asio::io_context ioc;
  std::unique_ptr<Server> normal;
  std::unique_ptr<Server> raised;

  Harness() {
    outrigger::logging::setLevel(outrigger::logging::Level::kError);
    normal = start(ServerOptions{});
    ServerOptions options;
    options.max_header_bytes = kRaisedHeaderBytes;
    raised = start(options);
  }

  std::unique_ptr<Server> start(ServerOptions options) {
    options.addresses = {"127.0.0.1"};
    options.port = 0;
    // Echoes the body, so that what the parser assembled is also written back.
    auto server = std::make_unique<Server>(ioc, options, [](Request&& req, Responder respond) {
      respond(outrigger::http::makeResponse(200, std::move(req.body()), "text/plain"));
    });
    if (!server->start().ok()) std::abort();
    return server;
  }
};

// Writes the input, half-closes, and reads until the server closes the connection.
void exchange(asio::io_context& ioc, uint16_t port, const uint8_t* data, size_t size) {
  tcp::socket client(ioc);
  boost::system::error_code ec;
  // From a new address of 127/8 each time: the TIME_WAIT of thousands of connections a second
  // would use up the ports of one.
  static uint32_t next_source = 0;
  client.open(tcp::v4(), ec);
  if (!ec) client.bind({asio::ip::address_v4(0x7f000001 + 1 + next_source++ % 0xfffffd), 0}, ec);
  // The listen backlog completes the handshake before the server's accept runs.
  if (!ec) client.connect({asio::ip::address_v4::loopback(), port}, ec);
  if (ec) {
    fprintf(stderr, "http_request_fuzz: cannot connect: %s\n", ec.message().c_str());
    std::abort();
  }
  bool written = false;
  bool closed = false;
  asio::async_write(client, asio::buffer(data, size), [&](boost::system::error_code, size_t) {
    boost::system::error_code ignored;
    client.shutdown(tcp::socket::shutdown_send, ignored);
    written = true;
  });
  std::array<char, 16384> sink;
  std::function<void()> read = [&] {
    client.async_read_some(asio::buffer(sink), [&](boost::system::error_code e, size_t) {
      if (e) {
        closed = true;
      } else {
        read();
      }
    });
  };
  read();
  while (!(written && closed)) ioc.run_one();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();
  exchange(harness->ioc, harness->normal->port(), data, size);
  if (size > ServerOptions{}.max_header_bytes) {
    exchange(harness->ioc, harness->raised->port(), data, size);
  }
  return 0;
}
