#pragma once

// One request to a loopback port with whatever headers the test set, through one client pool
// kept for the test process. A transport failure is answered 599 with its message.

#include <memory>
#include <thread>

#include "common/http/client.h"

namespace outrigger::testing {

inline http::Response sendToLoopback(int port, http::Request req) {
  struct Client {
    boost::asio::io_context ioc;
    std::shared_ptr<http::ClientPool> pool = http::ClientPool::create(ioc, http::ClientOptions{});
    std::thread runner{[this] {
      auto guard = boost::asio::make_work_guard(ioc);
      ioc.run();
    }};
    ~Client() {
      ioc.stop();
      runner.join();
    }
  };
  static Client client;
  req.prepare_payload();
  auto res = client.pool->sendSync("127.0.0.1", static_cast<uint16_t>(port), std::move(req));
  return res.ok() ? std::move(*res) : http::makeResponse(599, res.status().message());
}

}  // namespace outrigger::testing
