// The HTTP client pool against scripted servers on loopback: what a broken or hostile peer
// answers must fail that call with a Status (never throw), and never reach another caller.

#include "common/http/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/http/server.h"
#include "common/http/wire.h"
#include "tests/common/http/raw_socket.h"

namespace outrigger::http {
namespace {

using ::testing::HasSubstr;
using namespace testing;  // NOLINT: the raw socket helpers

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = ClientPool::create(ioc_, ClientOptions{});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  StatusOr<Response> get(uint16_t port, const std::string& target = "/") {
    Request req{bhttp::verb::get, target, 11};
    return pool_->sendSync("127.0.0.1", port, std::move(req));
  }

  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(ioc_);
  std::shared_ptr<ClientPool> pool_;
  std::thread thread_;
};

const std::string kFirst = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst";
const std::string kStale = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale";
const std::string kSecond = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond";

TEST_F(ClientTest, TwoResponsesToOneRequestDoNotReachTheNextCaller) {
  // The smuggling symptom: the peer answers a request twice, in one write.
  ScriptedServer server([](int fd) {
    std::string req = recvRequest(fd);
    if (req.empty()) return;
    if (req.find("/one") == std::string::npos) return (void)sendAll(fd, kSecond);
    sendAll(fd, kFirst + kStale);
    recvRequest(fd);  // holds the connection until the client is done with it
  });
  auto first = get(server.port(), "/one");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->body(), "first");
  auto second = get(server.port(), "/two");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->body(), "second");
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(ClientTest, ConnectionCloseIsNotPooled) {
  ScriptedServer server([](int fd) {
    if (recvRequest(fd).empty()) return;
    sendAll(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  });
  auto res = get(server.port());
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(pool_->idleCountForTest(), 0u);
}

TEST_F(ClientTest, HugeTrailerFailsTheCallOnly) {
  ScriptedServer server([](int fd) {
    if (recvRequest(fd).empty()) return;
    sendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX: " +
                    std::string(70000, 'a') + "\r\n\r\n");
  });
  auto res = get(server.port());
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(pool_->idleCountForTest(), 0u);
}

TEST_F(ClientTest, HugeHeaderAndGarbageFailTheCall) {
  ScriptedServer big([](int fd) {
    if (recvRequest(fd).empty()) return;
    sendAll(fd, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70000, 'a') +
                    "\r\nContent-Length: 0\r\n\r\n");
  });
  EXPECT_FALSE(get(big.port()).ok());
  ScriptedServer garbage([](int fd) {
    if (recvRequest(fd).empty()) return;
    sendAll(fd, "SSH-2.0-OpenSSH\r\n\r\n");
  });
  auto res = get(garbage.port());
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(pool_->idleCountForTest(), 0u);
}

TEST_F(ClientTest, InterimResponsesAreSkipped) {
  ScriptedServer server([](int fd) {
    if (recvRequest(fd).empty()) return;
    sendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n" + kFirst);
    if (!recvRequest(fd).empty()) sendAll(fd, kSecond);
  });
  auto first = get(server.port());
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->result_int(), 200u);
  EXPECT_EQ(first->body(), "first");
  auto second = get(server.port());
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->body(), "second");
}

TEST_F(ClientTest, HeadsThatCouldSplitAreNotSent) {
  ScriptedServer server([](int fd) {
    if (recvRequest(fd).empty()) return;
    sendAll(fd, kFirst);
  });
  auto target = get(server.port(), "/a HTTP/1.1\r\nX: y\r\n\r\nDELETE /smuggled");
  EXPECT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), StatusCode::kInvalidArgument);
  Request req{bhttp::verb::get, "/", 11};
  req.set("X-File", "a.txt\r\nSet-Cookie: x");
  auto value = pool_->sendSync("127.0.0.1", server.port(), std::move(req));
  EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument);
  Request nul{bhttp::verb::get, "/", 11};
  nul.set("X-Key", std::string("a\0b", 3));
  EXPECT_EQ(pool_->sendSync("127.0.0.1", server.port(), std::move(nul)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(server.accepted(), 0);
}

TEST(WireValidation, RefusesWhatCouldEndALine) {
  EXPECT_TRUE(validHeaderValue("text/plain; q=0.5\tx"));
  EXPECT_TRUE(validHeaderValue(""));
  EXPECT_TRUE(validHeaderValue("caf\xc3\xa9"));
  EXPECT_FALSE(validHeaderValue("a\r\nb"));
  EXPECT_FALSE(validHeaderValue("a\nb"));
  EXPECT_FALSE(validHeaderValue(std::string("a\0b", 3)));
  EXPECT_FALSE(validHeaderValue("a\x7f"));
  EXPECT_TRUE(validHeaderName("dapr-app-id"));
  EXPECT_FALSE(validHeaderName(""));
  EXPECT_FALSE(validHeaderName("a b"));
  EXPECT_FALSE(validHeaderName("a:b"));
  EXPECT_FALSE(validHeaderName("a\r\n"));
  EXPECT_TRUE(validTarget("/v1.0/invoke/app/method/a?b=c%20d"));
  EXPECT_FALSE(validTarget(""));
  EXPECT_FALSE(validTarget("/a b"));
  EXPECT_FALSE(validTarget("/a\r\nb"));
  EXPECT_FALSE(validTarget(std::string("/a\0", 3)));
}

TEST(WireValidation, SerializeHeadRefusesInvalidResponses) {
  Response res = makeResponse(200, "x");
  res.set("X-Ok", "fine");
  EXPECT_TRUE(serializeHead(res).ok());
  res.reason("OK\r\nX: y");
  EXPECT_FALSE(serializeHead(res).ok());
}

}  // namespace
}  // namespace outrigger::http
