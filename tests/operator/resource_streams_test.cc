// The operator's resource stream server (a raw-socket HTTP server) against raw clients.

#include "operator/api/resource_streams.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/http/raw_socket.h"

namespace outrigger::operator_::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace http::testing;  // NOLINT: the raw socket helpers

class ResourceStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(streams_.listen("127.0.0.1", 0).ok()); }

  kube::KubeClient client_{kube::KubeConfig{"http://127.0.0.1:1"}};  // never called here
  ResourceStreams streams_{client_};
};

TEST_F(ResourceStreamsTest, StreamsSyncedThenRefusesAnOversizedHead) {
  int fd = connectLoopback(streams_.port());
  sendAll(fd, "GET /v1/namespaces/ns/resources/stream?appId=a HTTP/1.1\r\nHost: o\r\n\r\n");
  std::string synced =
      recvUntil(fd, [](const std::string& s) { return s.find("SYNCED") != std::string::npos; });
  EXPECT_THAT(synced, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(synced, HasSubstr("{\"type\":\"SYNCED\"}"));
  ::close(fd);

  // A head that never ends within the limit was taken for a request and streamed.
  int big = connectLoopback(streams_.port());
  sendAll(big, "GET /v1/namespaces/ns/resources/stream HTTP/1.1\r\nX: " + std::string(20000, 'a'));
  std::string res = recvResponse(big);
  EXPECT_THAT(res, StartsWith("HTTP/1.1 431 "));
  EXPECT_TRUE(closedByPeer(big));
  ::close(big);
}

}  // namespace
}  // namespace outrigger::operator_::api
