#include "tests/integration/pubsub/durability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "common/json/json.h"
#include "tests/framework/test_app.h"
#include "tests/integration/pubsub/numbered_bulk.h"

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

// The subscription every scenario but dead-lettering uses: topic to /orders, with extra spec
// fields (one YAML flow line) when given.
std::string subscriptionYaml(const std::string& topic, const std::string& extra = "") {
  return "---\napiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: orders}\n"
         "spec:\n  pubsubname: pubsub\n  topic: " +
         topic + "\n  routes: {default: /orders}\n" + (extra.empty() ? "" : "  " + extra + "\n");
}

// Counts a request into the app, keeping the most there were at once.
void enter(std::atomic<int>& in_app, std::atomic<int>& most) {
  int now = ++in_app;
  for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
  }
}

std::string componentYaml(const DurabilityCase& c) {
  std::string yaml =
      "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: pubsub}\n"
      "spec:\n  type: " +
      c.type + "\n  version: v1\n  metadata:\n";
  for (const auto& [k, v] : c.metadata) yaml += "  - {name: " + k + ", value: \"" + v + "\"}\n";
  return yaml;
}

// The event's data.<field> as a string, or "".
std::string dataField(const std::string& body, const char* field) {
  json::Document ev;
  ev.Parse(body.c_str());
  if (!ev.IsObject() || !ev.HasMember("data") || !ev["data"].IsObject()) return "";
  const json::Value* v = json::find(ev["data"], field);
  if (!v) return "";
  if (v->IsString()) return v->GetString();
  if (v->IsInt()) return std::to_string(v->GetInt());
  return "";
}

// VmRSS of a process in KiB, or -1.
long rssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Waits until the sidecar lists a subscription to topic (publishing before would lose events on
// brokers that keep nothing for absent subscribers).
// Under AddressSanitizer freed memory sits in quarantine and every allocation has shadow and
// redzones, so the sidecar's resident size says nothing about what it holds.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kResidentMemoryMeaningful = false;
#else
constexpr bool kResidentMemoryMeaningful = true;
#endif

bool subscribed(SidecarProcess& sidecar, const std::string& topic) {
  return eventually(
      [&] {
        return sidecar.request(verb::get, "/v1.0/metadata")
                   .body()
                   .find("\"topic\":\"" + topic + "\"") != std::string::npos;
      },
      std::chrono::seconds(30));
}

// Starts the sidecar beside the app on port app_port and waits until it subscribed to topic.
void startSubscribed(SidecarProcess& sidecar, const std::string& app_id, uint16_t app_port,
                     const std::string& dir, const std::string& topic) {
  ASSERT_TRUE(sidecar.start(
      {"--app-id", app_id, "--app-port", std::to_string(app_port), "--resources-path", dir}))
      << tail(sidecar.log());
  ASSERT_TRUE(subscribed(sidecar, topic)) << tail(sidecar.log());
}

// Publishes {"n": 0} .. {"n": count - 1} to topic; each must be acknowledged (204).
void publishNumbered(SidecarProcess& sidecar, const std::string& topic, int count) {
  for (int n = 0; n < count; ++n) {
    ASSERT_EQ(sidecar
                  .request(verb::post, "/v1.0/publish/pubsub/" + topic,
                           "{\"n\":" + std::to_string(n) + "}")
                  .result_int(),
              204u)
        << n << "\n"
        << tail(sidecar.log());
  }
}

}  // namespace

void expectDeadLettering(const DurabilityCase& c) {
  std::string dir = makeTempDir("outrigger-deadletter");
  writeFile(dir + "/components.yaml", componentYaml(c) + R"(---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: deliveries}
spec:
  policies:
    retries:
      twice: {policy: constant, duration: 10ms, maxRetries: 2}
  targets:
    components:
      pubsub: {inbound: {retry: twice}}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders}
spec: {pubsubname: pubsub, topic: )" + c.topic +
                                          ", routes: {default: /orders}, deadLetterTopic: " +
                                          c.dead_letter_topic + R"(}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: dead}
spec: {pubsubname: pubsub, topic: )" + c.dead_letter_topic +
                                          R"(, routes: {default: /dead}}
)");
  std::mutex mutex;
  std::map<std::string, int> attempts;  // by data.kind, on /orders
  std::map<std::string, int> fail_attempts_when_dead;
  TestApp app;
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post) return http::makeResponse(404);
    std::string kind = dataField(req.body(), "kind");
    std::lock_guard<std::mutex> lock(mutex);
    if (req.target() == "/dead") {
      fail_attempts_when_dead[kind] = attempts["fail"];
      return http::makeResponse(200);
    }
    attempts[kind]++;
    if (kind == "drop") return http::makeResponse(200, R"({"status":"DROP"})", "application/json");
    if (kind == "fail") return http::makeResponse(500);
    return http::makeResponse(200);
  });
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "deadletter", "--app-port", std::to_string(app.port()),
                             "--resources-path", dir}))
      << tail(sidecar.log());
  ASSERT_TRUE(subscribed(sidecar, c.topic) && subscribed(sidecar, c.dead_letter_topic))
      << tail(sidecar.log());
  for (const char* kind : {"drop", "fail", "ok"}) {
    auto res = sidecar.request(verb::post, "/v1.0/publish/pubsub/" + c.topic,
                               std::string(R"({"kind":")") + kind + R"("})");
    ASSERT_EQ(res.result_int(), 204u) << kind << ": " << res.body() << "\n" << tail(sidecar.log());
  }
  auto done = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return fail_attempts_when_dead.count("drop") && fail_attempts_when_dead.count("fail") &&
           attempts.count("ok");
  };
  ASSERT_TRUE(eventually(done, std::chrono::seconds(30))) << tail(sidecar.log());
  // Nothing else arrives on the dead-letter topic (the taken event is never there).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(fail_attempts_when_dead.count("ok"), 0u);
  EXPECT_EQ(fail_attempts_when_dead.size(), 2u);
  // The failing event went to the dead-letter topic after the policy's 1 + 2 attempts, not before.
  EXPECT_GE(fail_attempts_when_dead["fail"], 3) << tail(sidecar.log());
  // A DROP is not retried.
  EXPECT_EQ(attempts["drop"], 1);
  EXPECT_EQ(attempts["ok"], 1);
}

void expectBoundedWhenAppIsSlow(const DurabilityCase& c) {
  std::string dir = makeTempDir("outrigger-backpressure");
  writeFile(dir + "/components.yaml", componentYaml(c) + subscriptionYaml(c.topic));
  std::atomic<bool> release{false};
  std::atomic<int> in_app{0}, most_in_app{0}, taken{0};
  std::mutex mutex;
  std::set<int> delivered;
  TestApp app;
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post || req.target() != "/orders") return http::makeResponse(404);
    enter(in_app, most_in_app);
    // Held until released (bounded, so that a broken test cannot hang).
    for (int i = 0; i < 6000 && !release; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    --in_app;
    std::string n = dataField(req.body(), "n");
    std::lock_guard<std::mutex> lock(mutex);
    if (!n.empty() && delivered.insert(std::stoi(n)).second) taken++;
    return http::makeResponse(200);
  });
  SidecarProcess sidecar;
  ASSERT_NO_FATAL_FAILURE(startSubscribed(sidecar, "backpressure", app.port(), dir, c.topic));
  // Large events, so that holding them would show in the sidecar's memory.
  const int kEvents = c.backpressure_events;
  const std::string padding(64 * 1024, 'x');
  auto publish = [&](int n) {
    return sidecar
        .request(verb::post, "/v1.0/publish/pubsub/" + c.topic,
                 "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + padding + "\"}")
        .result_int();
  };
  ASSERT_EQ(publish(0), 204u) << tail(sidecar.log());
  ASSERT_TRUE(eventually([&] { return in_app.load() == 1; }, std::chrono::seconds(30)))
      << tail(sidecar.log());
  long rss_before = rssKib(sidecar.pid());
  for (int i = 1; i < kEvents; ++i) ASSERT_EQ(publish(i), 204u) << i << "\n" << tail(sidecar.log());
  // Give the sidecar the chance to take more than it should from the broker.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(most_in_app.load(), 1) << "deliveries of one subscription overlap";
  EXPECT_EQ(taken.load(), 0);
  long published_kib = static_cast<long>(kEvents) * static_cast<long>(padding.size()) / 1024;
  if (c.held_by_sidecar) {
    long held = c.held_by_sidecar(kEvents);
    // At least the one in the app's hands: the broker's count is of the right thing.
    EXPECT_GE(held, 1) << "the broker could not tell";
    EXPECT_LE(held, c.max_held) << "the sidecar took " << held << " of " << kEvents
                                << " events it cannot deliver yet";
  } else if (kResidentMemoryMeaningful) {
    long rss_after = rssKib(sidecar.pid());
    ASSERT_GT(rss_before, 0);
    // Holding the events would cost at least their size; a bounded sidecar grows by a fraction.
    EXPECT_LT(rss_after - rss_before, published_kib / 3)
        << "the sidecar grew from " << rss_before << " KiB to " << rss_after << " KiB while "
        << published_kib << " KiB waited for the app";
  }
  release = true;
  ASSERT_TRUE(eventually([&] { return taken.load() == kEvents; }, std::chrono::seconds(60)))
      << taken.load() << " of " << kEvents << " delivered\n"
      << tail(sidecar.log());
}

void expectBulkEnvelopes(const DurabilityCase& c) {
  std::string dir = makeTempDir("outrigger-bulk");
  // A long wait for a full envelope: the 20 publishes below take far less.
  writeFile(dir + "/components.yaml",
            componentYaml(c) + subscriptionYaml(c.topic,
                                                "bulkSubscribe: {enabled: true, "
                                                "maxMessagesCount: 10, "
                                                "maxAwaitDurationMs: 5000}"));
  std::mutex mutex;
  std::vector<std::vector<int>> envelopes;  // the numbers in each
  TestApp app;
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post || req.target() != "/orders") return http::makeResponse(404);
    std::vector<int> numbers;
    auto res = answerNumberedBulk(req, [&](int n) {
      numbers.push_back(n);
      return "SUCCESS";
    });
    std::lock_guard<std::mutex> lock(mutex);
    if (res.result_int() == 200) envelopes.push_back(numbers);
    return res;
  });
  SidecarProcess sidecar;
  ASSERT_NO_FATAL_FAILURE(startSubscribed(sidecar, "bulk", app.port(), dir, c.topic));
  const int kEvents = 20;
  ASSERT_NO_FATAL_FAILURE(publishNumbered(sidecar, c.topic, kEvents));
  auto received = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<int> all;
    for (const auto& e : envelopes) all.insert(all.end(), e.begin(), e.end());
    return all;
  };
  ASSERT_TRUE(eventually([&] { return received().size() >= kEvents; }, std::chrono::seconds(60)))
      << received().size() << " of " << kEvents << " delivered\n"
      << tail(sidecar.log());
  std::vector<int> want(kEvents);
  for (int n = 0; n < kEvents; ++n) want[n] = n;
  EXPECT_EQ(received(), want) << "every event once, in the order published";
  std::lock_guard<std::mutex> lock(mutex);
  size_t largest = 0;
  for (const auto& e : envelopes) largest = std::max(largest, e.size());
  EXPECT_LE(largest, 10u);
  EXPECT_GT(largest, 1u) << "every envelope held one event: nothing was aggregated";
}

void expectConcurrentDelivery(const DurabilityCase& c, int concurrency) {
  std::string dir = makeTempDir("outrigger-concurrent");
  writeFile(dir + "/components.yaml", componentYaml(c) + subscriptionYaml(c.topic));
  std::atomic<int> in_app{0}, most_in_app{0};
  std::mutex mutex;
  std::set<int> delivered;
  TestApp app;
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post || req.target() != "/orders") return http::makeResponse(404);
    enter(in_app, most_in_app);
    // Held until another event is in the app's hands too (bounded: the first read of the broker
    // may hold one event only).
    for (int i = 0; i < 600 && most_in_app.load() < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // overlap the others
    --in_app;
    std::string n = dataField(req.body(), "n");
    std::lock_guard<std::mutex> lock(mutex);
    if (!n.empty()) delivered.insert(std::stoi(n));
    return http::makeResponse(200);
  });
  SidecarProcess sidecar;
  ASSERT_NO_FATAL_FAILURE(startSubscribed(sidecar, "concurrent", app.port(), dir, c.topic));
  const int kEvents = 4 * concurrency;
  ASSERT_NO_FATAL_FAILURE(publishNumbered(sidecar, c.topic, kEvents));
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return delivered.size();
  };
  ASSERT_TRUE(
      eventually([&] { return count() == static_cast<size_t>(kEvents); }, std::chrono::seconds(60)))
      << count() << " of " << kEvents << " delivered\n"
      << tail(sidecar.log());
  EXPECT_GE(most_in_app.load(), 2) << "deliveries never overlapped";
  EXPECT_LE(most_in_app.load(), concurrency);
}

void expectNothingAcknowledgedIsLost(const DurabilityCase& c) {
  std::string dir = makeTempDir("outrigger-durable");
  writeFile(dir + "/components.yaml", componentYaml(c) + subscriptionYaml(c.topic));
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
