// A hung backend does not stall other components: with the redis-server behind one state store
// stopped (SIGSTOP: it accepts connections but never answers), calls to the in-memory and SQLite
// stores of the same outriggerd are answered while the Redis calls are still outstanding, and the
// Redis calls then fail with Dapr's error. The check is on order of completion, not on durations.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include "tests/framework/servers.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

// A request written on its own raw connection, so that sending it does not wait for the answer.
class PendingRequest {
 public:
  PendingRequest(int port, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval guard{60, 0};  // only against a hang: the answer comes long before
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof(guard));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    sent_ = ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }
  ~PendingRequest() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool sent() const { return sent_; }
  // Whether any part of an answer has arrived, without waiting.
  bool answered() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  // The whole answer (the sidecar closes the connection after it).
  std::string read() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fd_ = -1;
  bool sent_ = false;
};

TEST(SlowBackend, AHungRedisDoesNotStallOtherStores) {
  RedisServer redis;
  ASSERT_EQ(redis.start(), "");
  std::string dir = makeTempDir("outrigger-slow");
  writeFile(dir + "/c.yaml",
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: redisstore}\n"
            "spec: {type: state.redis, version: v1, metadata: [{name: redisHost, value: \"" +
                redis.address() +
                "\"}, {name: readTimeout, value: 6s}, {name: writeTimeout, value: 6s}, "
                "{name: dialTimeout, value: 2s}, {name: maxRetries, value: \"0\"}]}\n---\n"
                "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\n"
                "spec: {type: state.in-memory, version: v1, metadata: []}\n---\n"
                "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: sqlstore}\n"
                "spec: {type: state.sqlite, version: v1, metadata: [{name: connectionString, "
                "value: \"" +
                dir + "/s.db\"}]}\n");
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "slow", "--resources-path", dir})) << sidecar.log();
  ASSERT_EQ(sidecar.request(verb::post, "/v1.0/state/redisstore", R"([{"key":"k","value":1}])")
                .result_int(),
            204u);

  ASSERT_TRUE(redis.pause());
  // More hung calls than the Redis store has workers: its pool and connections are all stuck.
  std::vector<std::unique_ptr<PendingRequest>> hung;
  for (int i = 0; i < 5; ++i) {
    hung.push_back(
        std::make_unique<PendingRequest>(sidecar.httpPort(), "/v1.0/state/redisstore/k"));
    ASSERT_TRUE(hung.back()->sent());
  }
  // The other stores answer, save and read, while every Redis call is still unanswered.
  for (const char* store : {"memstore", "sqlstore"}) {
    SCOPED_TRACE(store);
    for (int i = 0; i < 3; ++i) {
      std::string key = "k" + std::to_string(i);
      auto saved = sidecar.request(verb::post, std::string("/v1.0/state/") + store,
                                   R"([{"key":")" + key + R"(","value":{"n":1}}])");
      EXPECT_EQ(saved.result_int(), 204u) << saved.body();
      auto got = sidecar.request(verb::get, std::string("/v1.0/state/") + store + "/" + key);
      EXPECT_EQ(got.result_int(), 200u) << got.body();
      EXPECT_EQ(got.body(), R"({"n":1})");
    }
  }
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/healthz").result_int(), 204u);
  for (const auto& h : hung) EXPECT_FALSE(h->answered()) << "a Redis call finished first";

  // The Redis calls fail with Dapr's error once the store's read timeout passes.
  for (const auto& h : hung) {
    std::string answer = h->read();
    EXPECT_EQ(answer.rfind("HTTP/1.1 500", 0), 0u) << answer;
    EXPECT_NE(answer.find("\"errorCode\":\"ERR_STATE_GET\""), std::string::npos) << answer;
  }
  ASSERT_TRUE(redis.resume());
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace outrigger::testing
