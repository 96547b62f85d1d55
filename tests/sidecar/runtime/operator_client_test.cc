// The sidecar's operator stream client against a scripted operator: a broken stream ends that
// connection (and the client reconnects), never the process.

#include "sidecar/runtime/operator_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/common/http/raw_socket.h"

namespace outrigger::sidecar::runtime {
namespace {

using namespace http::testing;  // NOLINT: the raw socket helpers

TEST(OperatorClient, HugeTrailerEndsTheStreamAndTheClientReconnects) {
  ScriptedServer server([](int fd) {
    if (recvRequest(fd).empty()) return;
    const std::string line = "{\"type\":\"SYNCED\"}\n";
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", line.size());
    sendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) +
                    "\r\n" + line + "\r\n0\r\nX: " + std::string(70000, 'a') + "\r\n\r\n");
  });
  OperatorClientOptions options;
  options.address = "127.0.0.1:" + std::to_string(server.port());
  options.app_id = "a";
  options.max_backoff_ms = 50;
  options.token_file = "/nonexistent";
  OperatorClient client(options);
  client.start();
  EXPECT_TRUE(client.waitSynced(std::chrono::seconds(10)));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server.accepted() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling the condition
  }
  EXPECT_GE(server.accepted(), 2);
  client.stop();
}

}  // namespace
}  // namespace outrigger::sidecar::runtime
