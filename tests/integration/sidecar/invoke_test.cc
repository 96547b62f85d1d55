// Service invocation through real sidecars: pass-through of verb, query, headers, body, status
// and content type; caller and callee headers; sidecar to sidecar; app-max-concurrency; tokens.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "common/http/client.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

TEST(InvokeTest, PassesEverythingThroughAndAddsCallerHeaders) {
  TestApp app;
  app.setBehaviour([](const http::Request& req) {
    auto res = http::makeResponse(207, "answer:" + req.body(), "text/x-custom");
    res.set("x-app-header", "yes");
    return res;
  });
  std::string nr = makeTempDir("outrigger-nr");
  ::setenv("OUTRIGGER_NAMERESOLUTION_DIR", nr.c_str(), 1);
  SidecarProcess b;
  ASSERT_TRUE(b.start({"--app-id", "appb", "--app-port", std::to_string(app.port())})) << b.log();
  SidecarProcess a;
  ASSERT_TRUE(a.start({"--app-id", "appa"})) << a.log();

  // Through one sidecar (B to its own app), then through two (A -> B -> app).
  for (SidecarProcess* via : {&b, &a}) {
    http::Request req{verb::patch, "/v1.0/invoke/appb/method/orders/7?x=1&y=%20z", 11};
    auto res = via->request(verb::patch, "/v1.0/invoke/appb/method/orders/7?x=1&y=%20z", "payload",
                            "text/plain");
    EXPECT_EQ(res.result_int(), 207u) << res.body();
    EXPECT_EQ(res.body(), "answer:payload");
    EXPECT_EQ(res[http::bhttp::field::content_type], "text/x-custom");
    EXPECT_EQ(res["x-app-header"], "yes");
  }
  auto got = app.received();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    EXPECT_EQ(r.method, "PATCH");
    EXPECT_EQ(r.target, "/orders/7?x=1&y=%20z");
    EXPECT_EQ(r.body, "payload");
    EXPECT_EQ(r.content_type, "text/plain");
    EXPECT_EQ(r.headers.at("dapr-callee-app-id"), "appb");
  }
  EXPECT_EQ(got[0].headers.at("dapr-caller-app-id"), "appb");
  EXPECT_EQ(got[1].headers.at("dapr-caller-app-id"), "appa");

  // The dapr-app-id header form, on any path no route claims.
  auto res = a.request(verb::get, "/hello/world", "");
  EXPECT_EQ(res.result_int(), 404u);  // no dapr-app-id header: ERR_DIRECT_INVOKE
  EXPECT_NE(res.body().find("ERR_DIRECT_INVOKE"), std::string::npos);
}

TEST(InvokeTest, AppDownAndUnknownAppsAreErrors) {
  std::string nr = makeTempDir("outrigger-nr");
  ::setenv("OUTRIGGER_NAMERESOLUTION_DIR", nr.c_str(), 1);
  SidecarProcess a;
  ASSERT_TRUE(a.start({"--app-id", "lonely"})) << a.log();
  auto unknown = a.request(verb::get, "/v1.0/invoke/ghost/method/x");
  EXPECT_EQ(unknown.result_int(), 500u);
  EXPECT_NE(unknown.body().find("ERR_DIRECT_INVOKE"), std::string::npos);
  auto self = a.request(verb::get, "/v1.0/invoke/lonely/method/x");  // no --app-port
  EXPECT_EQ(self.result_int(), 500u);
  EXPECT_NE(self.body().find("ERR_DIRECT_INVOKE"), std::string::npos);
}

TEST(InvokeTest, AppMaxConcurrencyBoundsCallsToTheApp) {
  std::atomic<int> current{0}, peak{0};
  TestApp app;
  // TestApp's server runs one thread: make it answer later from another thread instead.
  app.setBehaviour([&](const http::Request& req) {
    int now = ++current;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    --current;
    return http::makeResponse(200, "ok");
  });
  SidecarProcess b;
  ASSERT_TRUE(b.start({"--app-id", "limited", "--app-port", std::to_string(app.port()),
                       "--app-max-concurrency", "1"}))
      << b.log();
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    callers.emplace_back([&] {
      if (b.request(verb::get, "/v1.0/invoke/limited/method/slow").result_int() == 200) ok++;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(peak.load(), 1);
}

TEST(InvokeTest, ApiTokenAndAppToken) {
  TestApp app;
  ::setenv("DAPR_API_TOKEN", "api-secret", 1);
  ::setenv("APP_API_TOKEN", "app-secret", 1);
  SidecarProcess b;
  bool started = b.start({"--app-id", "tokens", "--app-port", std::to_string(app.port())});
  ::unsetenv("DAPR_API_TOKEN");
  ::unsetenv("APP_API_TOKEN");
  ASSERT_TRUE(started) << b.log();
  auto denied = b.request(verb::get, "/v1.0/metadata");
  EXPECT_EQ(denied.result_int(), 401u);
  EXPECT_EQ(denied.body(), "invalid api token");
  EXPECT_EQ(b.request(verb::get, "/v1.0/healthz").result_int(), 204u);  // exempt
  // With the token, the call goes through, and the app sees APP_API_TOKEN, not the API token.
  auto pool_ioc = std::make_shared<boost::asio::io_context>();
  auto pool = http::ClientPool::create(*pool_ioc, http::ClientOptions{});
  std::thread runner([pool_ioc] {
    auto guard = boost::asio::make_work_guard(*pool_ioc);
    pool_ioc->run();
  });
  http::Request req{verb::get, "/v1.0/invoke/tokens/method/t", 11};
  req.set("dapr-api-token", "api-secret");
  auto res = pool->sendSync("127.0.0.1", static_cast<uint16_t>(b.httpPort()), std::move(req));
  pool_ioc->stop();
  runner.join();
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->result_int(), 200u);
  auto got = app.received();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().headers.at("dapr-api-token"), "app-secret");
}

TEST(InvokeTest, SigtermDrainsARequestInFlight) {
  TestApp app;
  app.setBehaviour([](const http::Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return http::makeResponse(200, "late but complete");
  });
  SidecarProcess b;
  ASSERT_TRUE(b.start({"--app-id", "drain", "--app-port", std::to_string(app.port())})) << b.log();
  http::Response res;
  std::thread caller([&] { res = b.request(verb::get, "/v1.0/invoke/drain/method/slow"); });
  ASSERT_TRUE(app.waitFor([](auto& r) { return r.size() == 1; }));
  int code = b.stop(SIGTERM);
  caller.join();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "late but complete");
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace outrigger::testing
