// What service invocation lets into a request it sends on: app ids, endpoint URLs, targets and
// header fields; the smuggling repro of issue 12 §4 among them.

#include "sidecar/invoke/target.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace outrigger::sidecar::invoke {
namespace {

TEST(InvokeTargetTest, AppIdsAreDnsLabelLikeWithAnOptionalNamespace) {
  for (const char* id : {"orders", "my-app_2", "Orders", "orders.prod", "a"}) {
    EXPECT_TRUE(checkAppId(id).ok()) << id;
  }
  for (const std::string& id :
       std::vector<std::string>{"", ".", "orders.", ".prod", "a.b.c", "a b", "a/b", "a:1", "a\r\nb",
                                std::string("a\0b", 3), "a%0d", "a+b", std::string(256, 'a')}) {
    Status s = checkAppId(id);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << runtime::printableBytes(id);
    EXPECT_EQ(s.message().find('\r'), std::string::npos);  // shown escaped
  }
}

TEST(InvokeTargetTest, EndpointUrlsAreParsedStrictly) {
  auto plain = parseEndpointUrl("http://127.0.0.1:18099");
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->scheme, "http");
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 18099);
  EXPECT_EQ(plain->base, "");
  auto based = parseEndpointUrl("http://svc.ns.svc.cluster.local/api/v1%2Fx/");
  ASSERT_TRUE(based.ok()) << based.status().message();
  EXPECT_EQ(based->port, 80);
  EXPECT_EQ(based->base, "/api/v1%2Fx");
  auto v6 = parseEndpointUrl("https://[::1]:8443/b");
  ASSERT_TRUE(v6.ok()) << v6.status().message();
  EXPECT_EQ(v6->scheme, "https");
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8443);
  EXPECT_EQ(parseEndpointUrl("https://example.com")->port, 443);

  for (const char* url :
       {// issue 12 §4: the decoded id carries a second request
        "http://127.0.0.1:18099/a HTTP/1.1\r\nContent-Length: 0\r\n\r\nDELETE /smuggled",
        "http://127.0.0.1:18099/a\nb",
        "http://127.0.0.1:1/a\tb",
        "http://h/a?q=1",
        "http://h/#f",
        "http://h/%zz",
        "http://h/%4",
        "ftp://h",
        "http://",
        "http://:80",
        "http://user@h",
        "http://h:0",
        "http://h:65536",
        "http://h:",
        "http://h:8a",
        "http://h:123456",
        "http://[::1",
        "http://[::1]x",
        "http://[zz]:1",
        "http://h h",
        "http://h..x",
        "http://h\r\n"}) {
    auto parsed = parseEndpointUrl(url);
    EXPECT_FALSE(parsed.ok()) << runtime::printableBytes(url);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(InvokeTargetTest, TargetsAndHeaderFieldsRefuseControlBytesAndSpaces) {
  EXPECT_TRUE(outrigger::http::validTarget("/orders/7?x=1&y=%20z"));
  for (const std::string& t : std::vector<std::string>{
           "", "/a b", "/a\r\nGET /b", std::string("/a\0b", 4), "/a\x7f", "/a\tb"}) {
    EXPECT_FALSE(outrigger::http::validTarget(t)) << runtime::printableBytes(t);
  }
  EXPECT_TRUE(outrigger::http::validHeaderValue("text/plain; q=\"a b\"\tand obs-text \xe9"));
  for (const std::string& v : std::vector<std::string>{"a\r\nX-Injected: 1", "a\nb", "a\rb",
                                                       std::string("a\0b", 3), "\x01"}) {
    EXPECT_FALSE(outrigger::http::validHeaderValue(v)) << runtime::printableBytes(v);
  }
  EXPECT_TRUE(outrigger::http::validHeaderName("X-Custom_1"));
  for (const char* n : {"", "a b", "a:b", "a\r\n"})
    EXPECT_FALSE(outrigger::http::validHeaderName(n)) << n;

  outrigger::http::Request req{outrigger::http::bhttp::verb::get, "/", 11};
  req.set("x-ok", "fine");
  EXPECT_TRUE(checkHeaders(req).ok());
  req.set("x-bad", std::string("a\0b", 3));
  Status s = checkHeaders(req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("x-bad"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace outrigger::sidecar::invoke
