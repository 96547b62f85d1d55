// HTTP/1.1 response framing as the sidecar's client reads what an app or another sidecar answers:
// a real outrigger::http::ClientPool sends a request to a loopback peer that answers with the
// input and closes. An exception that escapes the client's handlers ends this process, as it
// would end outriggerd.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstdlib>

#include "common/http/client.h"
#include "common/logging/log.h"
#include "tests/fuzz/repeat_mutator.h"

namespace {

namespace asio = boost::asio;
namespace bhttp = outrigger::http::bhttp;
using tcp = asio::ip::tcp;

struct Harness {
  asio::io_context ioc;
  uint32_t next_address = 0;
  Harness() { outrigger::logging::setLevel(outrigger::logging::Level::kError); }
  // A new address of 127/8 each time: the TIME_WAIT of thousands of connections a second would
  // use up the ports of one.
  asio::ip::address_v4 nextAddress() {
    return asio::ip::address_v4(0x7f000001 + 1 + next_address++ % 0xfffffd);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();
  asio::io_context& ioc = harness->ioc;
  // The context stops whenever it runs out of work, as at the end of the previous input.
  ioc.restart();
  tcp::acceptor acceptor(ioc, tcp::endpoint(harness->nextAddress(), 0));
  // A fresh pool each time: no connection of an earlier input is reused.
  auto pool = outrigger::http::ClientPool::create(ioc, outrigger::http::ClientOptions{});
  bool answered = false;
  pool->send(acceptor.local_endpoint().address().to_string(), acceptor.local_endpoint().port(),
             outrigger::http::Request{bhttp::verb::get, "/fuzz", 11},
             [&](outrigger::StatusOr<outrigger::http::Response>) { answered = true; });

  tcp::socket peer(ioc);
  asio::streambuf request;
  bool written = false;
  acceptor.async_accept(peer, [&](boost::system::error_code ec) {
    if (ec) std::abort();
    // The whole request first, so that closing does not reset it.
    asio::async_read_until(peer, request, "\r\n\r\n", [&](boost::system::error_code, size_t) {
      asio::async_write(peer, asio::buffer(data, size), [&](boost::system::error_code, size_t) {
        boost::system::error_code ignored;
        peer.shutdown(tcp::socket::shutdown_send, ignored);
        written = true;
      });
    });
  });
  while (!(answered && written)) ioc.run_one();
  return 0;
}
