// A hung backend does not stall other components: with the redis-server behind one state store
// stopped (SIGSTOP: it accepts connections but never answers), calls to the in-memory and SQLite
// stores of the same outriggerd are answered while the Redis calls are still outstanding, and the
// Redis calls then fail with Dapr's error. The check is on order of completion, not on durations.
//
// Many more calls than workers against a hung Redis or PostgreSQL all get Dapr's error before a
// generous bounded wait (they used to queue behind the workers, one backend timeout per round:
// minutes), and outriggerd stopped with hung calls in flight exits within its graceful window
// plus a margin instead of waiting for them.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <memory>
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
  PendingRequest(int port, const std::string& target, const std::string& body = "") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval guard{60, 0};  // only against a hang: the answer comes long before
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof(guard));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    std::string req = (body.empty() ? "GET " : "POST ") + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!body.empty()) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
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
  // True once an answer arrived, waiting at most until deadline.
  bool answeredBy(std::chrono::steady_clock::time_point deadline) const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) > 0;
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

std::string component(const std::string& name, const std::string& type,
                      const std::string& metadata) {
  return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: " + name +
         "}\nspec: {type: " + type + ", version: v1, metadata: [" + metadata + "]}\n---\n";
}

std::string redisStore(const RedisServer& redis, const std::string& read_timeout) {
  return component("redisstore", "state.redis",
                   "{name: redisHost, value: \"" + redis.address() +
                       "\"}, {name: readTimeout, value: " + read_timeout +
                       "}, {name: writeTimeout, value: " + read_timeout +
                       "}, {name: dialTimeout, value: 1s}, {name: maxRetries, value: \"0\"}");
}

// Sends n saves to store on their own connections; they stay outstanding while the backend hangs.
std::vector<std::unique_ptr<PendingRequest>> sendSaves(SidecarProcess& sidecar,
                                                       const std::string& store, int n) {
  std::vector<std::unique_ptr<PendingRequest>> saves;
  for (int i = 0; i < n; ++i) {
    saves.push_back(std::make_unique<PendingRequest>(
        sidecar.httpPort(), "/v1.0/state/" + store,
        R"([{"key":"hung)" + std::to_string(i) + R"(","value":{"n":1}}])"));
    EXPECT_TRUE(saves.back()->sent());
  }
  return saves;
}

// Every save is answered, with Dapr's save error, before one shared generous deadline.
void expectAllFailBy(std::vector<std::unique_ptr<PendingRequest>>& saves,
                     std::chrono::seconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  int unanswered = 0;
  for (auto& save : saves) {
    if (!save->answeredBy(deadline)) {
      unanswered++;
      continue;
    }
    std::string answer = save->read();
    EXPECT_EQ(answer.rfind("HTTP/1.1 500", 0), 0u) << answer;
    EXPECT_NE(answer.find("\"errorCode\":\"ERR_STATE_SAVE\""), std::string::npos) << answer;
  }
  EXPECT_EQ(unanswered, 0) << "of " << saves.size() << " saves had no answer after " << wait.count()
                           << " s";
}

void expectServes(SidecarProcess& sidecar, const std::string& store) {
  auto saved =
      sidecar.request(verb::post, "/v1.0/state/" + store, R"([{"key":"ok","value":{"n":2}}])");
  EXPECT_EQ(saved.result_int(), 204u) << saved.body();
  auto got = sidecar.request(verb::get, "/v1.0/state/" + store + "/ok");
  EXPECT_EQ(got.result_int(), 200u) << got.body();
  EXPECT_EQ(got.body(), R"({"n":2})");
}

// 50 saves on 4 workers with a 5 s read timeout took 13 rounds of 5 s; now the ones no worker
// takes fail when their wait for a worker (readTimeout + 1 s) ends.
TEST(SlowBackend, ManySavesAgainstAHungRedisAllGetDaprsError) {
  RedisServer redis;
  ASSERT_EQ(redis.start(), "");
  std::string dir = makeTempDir("outrigger-slow");
  writeFile(dir + "/c.yaml",
            redisStore(redis, "5s") + component("memstore", "state.in-memory", ""));
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "slow", "--resources-path", dir})) << sidecar.log();
  ASSERT_EQ(sidecar.request(verb::post, "/v1.0/state/redisstore", R"([{"key":"k","value":1}])")
                .result_int(),
            204u);
  ASSERT_TRUE(redis.pause());
  auto saves = sendSaves(sidecar, "redisstore", 50);
  expectServes(sidecar, "memstore");
  expectAllFailBy(saves, std::chrono::seconds(30));
  expectServes(sidecar, "memstore");
  ASSERT_TRUE(redis.resume());
  expectServes(sidecar, "redisstore");
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

TEST(SlowBackend, ManySavesAgainstAHungPostgresAllGetDaprsError) {
  PostgresServer postgres;
  ASSERT_EQ(postgres.start(), "");
  std::string dir = makeTempDir("outrigger-slow");
  writeFile(dir + "/c.yaml",
            component("pgstore", "state.postgresql",
                      "{name: connectionString, value: \"" + postgres.connectionString() +
                          "\"}, {name: timeout, value: 3s}") +
                component("memstore", "state.in-memory", ""));
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "slow", "--resources-path", dir})) << sidecar.log();
  expectServes(sidecar, "pgstore");
  ASSERT_TRUE(postgres.pause());
  auto saves = sendSaves(sidecar, "pgstore", 40);
  expectServes(sidecar, "memstore");
  expectAllFailBy(saves, std::chrono::seconds(25));
  ASSERT_TRUE(postgres.resume());
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

// Shutdown with calls hung on Redis (30 s read timeout, ten calls on four workers) used to wait
// for every one of them; now it leaves them at the end of its 2 s window. stop() waits 20 s
// for the exit before it kills, and a killed sidecar is no exit code 0.
TEST(SlowBackend, ShutdownDoesNotWaitForCallsHungOnABackend) {
  RedisServer redis;
  ASSERT_EQ(redis.start(), "");
  std::string dir = makeTempDir("outrigger-slow");
  writeFile(dir + "/c.yaml",
            redisStore(redis, "30s") + component("memstore", "state.in-memory", ""));
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start(
      {"--app-id", "slow", "--resources-path", dir, "--dapr-graceful-shutdown-seconds", "2"}))
      << sidecar.log();
  ASSERT_EQ(sidecar.request(verb::post, "/v1.0/state/redisstore", R"([{"key":"k","value":1}])")
                .result_int(),
            204u);
  ASSERT_TRUE(redis.pause());
  auto saves = sendSaves(sidecar, "redisstore", 10);
  // Answered after the saves were sent: by then the sidecar has read them (the check below on
  // the log confirms calls were still running at the end of the window).
  expectServes(sidecar, "memstore");
  for (const auto& save : saves) EXPECT_FALSE(save->answered());
  EXPECT_EQ(sidecar.stop(SIGTERM), 0) << sidecar.log();
  EXPECT_NE(sidecar.log().find("exiting without waiting for them"), std::string::npos)
      << sidecar.log();
  ASSERT_TRUE(redis.resume());
}

}  // namespace
}  // namespace outrigger::testing
