// Bulk subscribe through the real outriggerd on pubsub.in-memory: what the broker holds at once
// reaches the app as one bulk envelope of up to maxMessagesCount entries, and the app's
// per-entry statuses decide (SUCCESS acknowledges, RETRY comes back in a later batch, DROP goes).

#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "tests/framework/test_app.h"
#include "tests/integration/pubsub/numbered_bulk.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

TEST(BulkSubscribeTest, BatchesWhatTheBrokerHoldsUpToMaxMessagesCount) {
  std::string dir = makeTempDir("outrigger-bulk");
  writeFile(dir + "/components.yaml", R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - {name: retryInterval, value: 20ms}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders}
spec:
  pubsubname: pubsub
  topic: orders
  routes: {default: /orders}
  bulkSubscribe: {enabled: true, maxMessagesCount: 5, maxAwaitDurationMs: 50}
)");
  TestApp app;
  std::atomic<bool> release{false};
  std::atomic<int> batches{0};
  std::mutex mutex;
  std::vector<std::vector<int>> seen;  // the numbers in each envelope
  app.setBehaviour([&](const http::Request& req) {
    if (req.method() != verb::post || req.target() != "/orders") return http::makeResponse(404);
    // The first envelope is held until the test published the rest: they wait at the broker.
    if (batches++ == 0) {
      for (int i = 0; i < 1000 && !release; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<int> numbers;
    auto res = answerNumberedBulk(req, [&](int n) {
      bool retried;
      {
        std::lock_guard<std::mutex> lock(mutex);
        retried = std::any_of(seen.begin(), seen.end(), [&](const auto& b) {
          return std::find(b.begin(), b.end(), n) != b.end();
        });
      }
      numbers.push_back(n);
      return n == 3 && !retried ? "RETRY" : n == 4 ? "DROP" : "SUCCESS";
    });
    std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(numbers);
    return res;
  });
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start(
      {"--app-id", "bulk", "--app-port", std::to_string(app.port()), "--resources-path", dir}))
      << sidecar.log();
  auto publish = [&](int n) {
    return sidecar
        .request(verb::post, "/v1.0/publish/pubsub/orders", "{\"n\":" + std::to_string(n) + "}")
        .result_int();
  };
  ASSERT_EQ(publish(0), 204u);
  ASSERT_TRUE(app.waitFor([&](auto&) { return batches.load() >= 1; })) << sidecar.log();
  for (int n = 1; n <= 7; ++n) ASSERT_EQ(publish(n), 204u);
  release = true;
  auto taken = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    std::map<int, int> count;
    for (const auto& b : seen) {
      for (int n : b) count[n]++;
    }
    return count;
  };
  ASSERT_TRUE(app.waitFor([&](auto&) { return taken().size() == 8 && taken()[3] == 2; }))
      << sidecar.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // nothing more comes
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(seen.size(), 3u) << sidecar.log();
  EXPECT_EQ(seen[0], (std::vector<int>{0}));
  EXPECT_EQ(seen[1], (std::vector<int>{1, 2, 3, 4, 5}));  // held at once, cut at 5
  EXPECT_EQ(seen[2], (std::vector<int>{3, 6, 7}));        // the retried one first, in order
}

}  // namespace
}  // namespace outrigger::testing
