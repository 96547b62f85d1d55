#include "tests/integration/pubsub/durability.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "common/json/json.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {

namespace {

using http::bhttp::verb;
using Clock = std::chrono::steady_clock;

// Polls pred every 50 ms until it holds or timeout passes.
bool eventually(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::string tail(const std::string& log, size_t bytes = 6000) {
  return log.size() > bytes ? "..." + log.substr(log.size() - bytes) : log;
}

// The app: it takes events (recording their numbers) while it has budget, and refuses the rest
// (500 and RETRY in turn).
class DurableApp {
 public:
  DurableApp() {
    app_.setBehaviour([this](const http::Request& req) {
      if (req.method() != verb::post || req.target() != "/orders") return http::makeResponse(404);
      if (budget_ <= 0 || budget_-- <= 0) {
        if (refused_++ % 2 == 0) return http::makeResponse(500);
        return http::makeResponse(200, R"({"status":"RETRY"})", "application/json");
      }
      json::Document ev;
      ev.Parse(req.body().c_str());
      if (!ev.IsObject() || !ev.HasMember("data") || !ev["data"].IsObject() ||
          !ev["data"].HasMember("n") || !ev["data"]["n"].IsInt()) {
        return http::makeResponse(400);  // not ours: nothing else publishes here
      }
      std::lock_guard<std::mutex> lock(mutex_);
      delivered_.insert(ev["data"]["n"].GetInt());
      return http::makeResponse(200);
    });
  }
  uint16_t port() const { return app_.port(); }
  void fail(bool on) { budget_ = on ? 0 : kUnlimited; }
  // Takes n more events, then refuses.
  void take(int n) { budget_ = n; }
  int refused() const { return refused_; }
  std::set<int> delivered() {
    std::lock_guard<std::mutex> lock(mutex_);
    return delivered_;
  }

 private:
  static constexpr int kUnlimited = 1 << 30;
  std::atomic<int> budget_{kUnlimited};
  std::atomic<int> refused_{0};
  std::mutex mutex_;
  std::set<int> delivered_;
  TestApp app_;  // last: its server thread stops before the members it uses go
};

}  // namespace

void expectNothingAcknowledgedIsLost(const DurabilityCase& c) {
  std::string dir = makeTempDir("outrigger-durable");
  std::string yaml =
      "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: pubsub}\n"
      "spec:\n  type: " +
      c.type + "\n  version: v1\n  metadata:\n";
  for (const auto& [k, v] : c.metadata) yaml += "  - {name: " + k + ", value: \"" + v + "\"}\n";
  writeFile(dir + "/components.yaml", yaml + R"(---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders}
spec: {pubsubname: pubsub, topic: )" + c.topic +
                                          R"(, routes: {default: /orders}}
)");
  DurableApp app;
  std::vector<std::string> args = {
      "--app-id", "durable", "--app-port", std::to_string(app.port()), "--resources-path", dir};
  std::set<int> acked;
  std::string logs;  // of sidecars already gone
  auto sidecar = std::make_unique<SidecarProcess>();
  auto report = [&] { return tail(logs) + "\n--- current sidecar ---\n" + tail(sidecar->log()); };
  // A publish is retried (bounded) until acknowledged, as a client would: the broker may be
  // coming back.
  auto publish = [&](int n) {
    for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline;) {
      auto res = sidecar->request(verb::post, "/v1.0/publish/pubsub/" + c.topic,
                                  "{\"n\":" + std::to_string(n) + "}");
      if (res.result_int() == 204) {
        acked.insert(n);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  const int n = c.per_phase;

  // 1. The app refuses deliveries for a while, then takes three and refuses again; the sidecar is
  // killed mid-stream, with acknowledged events delivered to it and not taken by the app.
  app.fail(true);
  ASSERT_TRUE(sidecar->start(args)) << report();
  for (int i = 0; i < n; ++i) ASSERT_TRUE(publish(i)) << "publish " << i << "\n" << report();
  ASSERT_TRUE(eventually([&] { return app.refused() >= 3; }, std::chrono::seconds(30)))
      << "the app was not called\n"
      << report();
  int refused = app.refused();
  app.take(3);
  ASSERT_TRUE(eventually([&] { return app.delivered().size() >= 3 && app.refused() > refused; },
                         std::chrono::seconds(30)))
      << report();
  sidecar->stop(SIGKILL);
  logs += sidecar->log();

  // 2. A new sidecar, with the app refusing again; the broker restarts while acknowledged messages
  // wait for the app.
  app.fail(true);
  sidecar = std::make_unique<SidecarProcess>();
  ASSERT_TRUE(sidecar->start(args)) << report();
  for (int i = n; i < 2 * n; ++i) ASSERT_TRUE(publish(i)) << "publish " << i << "\n" << report();
  refused = app.refused();
  ASSERT_TRUE(eventually([&] { return app.refused() >= refused + 2; }, std::chrono::seconds(30)))
      << "the new sidecar does not deliver\n"
      << report();
  ASSERT_EQ(c.restart_broker(), "");

  // 3. Publishing goes on once the broker is back, and the app recovers.
  for (int i = 2 * n; i < 3 * n; ++i)
    ASSERT_TRUE(publish(i)) << "publish " << i << "\n" << report();
  app.fail(false);
  auto all = [&] {
    auto got = app.delivered();
    for (int a : acked) {
      if (!got.count(a)) return false;
    }
    return true;
  };
  eventually(all, std::chrono::seconds(60));
  auto got = app.delivered();
  for (int a : acked) EXPECT_TRUE(got.count(a)) << "acknowledged message " << a << " was lost";
  EXPECT_EQ(acked.size(), static_cast<size_t>(3 * n));
  if (::testing::Test::HasFailure()) ADD_FAILURE() << report();
}

}  // namespace outrigger::testing
