// The pub/sub conformance suite, run against every broker component: delivery, order, and
// at-least-once (a message the handler fails is delivered again; nothing is acknowledged before
// the handler succeeded, even across closing and reopening the component).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sidecar/runtime/registry.h"
#include "tests/framework/servers.h"

namespace outrigger::sidecar::components::pubsub {
namespace {

testing::RedisServer& redis() {
  static testing::RedisServer server;
  static bool started = [] {
    EXPECT_EQ(server.start(), "");
    return true;
  }();
  (void)started;
  return server;
}

struct BrokerCase {
  std::string type;
  std::function<std::map<std::string, std::string>()> metadata;
};

void PrintTo(const BrokerCase& c, std::ostream* os) { *os << c.type; }

std::vector<BrokerCase> cases() {
  return {
      {"pubsub.in-memory",
       [] {
         return std::map<std::string, std::string>{{"retryInterval", "20ms"}};
       }},
      {"pubsub.redis",
       [] {
         return std::map<std::string, std::string>{
             {"redisHost", "127.0.0.1:" + std::to_string(redis().port())},
             {"processingTimeout", "300ms"},
             {"redeliverInterval", "100ms"}};
       }},
  };
}

// Collects what a subscription received; waits are bounded.
struct Sink {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> got;
  bool waitFor(size_t n, int timeout_ms = 15000) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return got.size() >= n; });
  }
  void add(const std::string& s) {
    std::lock_guard<std::mutex> lock(mutex);
    got.push_back(s);
    cv.notify_all();
  }
};

class PubSubConformance : public ::testing::TestWithParam<BrokerCase> {
 protected:
  std::unique_ptr<PubSub> open(const std::string& consumer) {
    auto& registry = runtime::builtinRegistry();
    EXPECT_TRUE(registry.loadModuleFor(GetParam().type).ok());
    auto factory = registry.pubsub.find(GetParam().type, "v1");
    EXPECT_TRUE(factory.ok());
    auto raw = GetParam().metadata();
    raw["consumerID"] = consumer;
    auto props = runtime::validateMetadata((*factory)->fields, raw);
    EXPECT_TRUE(props.ok()) << props.status().message();
    auto ps = (*factory)->create();
    Status st = ps->init(*props);
    EXPECT_TRUE(st.ok()) << st.message();
    return ps;
  }
  std::string topic() {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())
               .substr(0, 20) +
           "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  Status send(PubSub& ps, const std::string& topic, const std::string& data) {
    return ps.publish(PublishRequest{topic, data, "text/plain", {}});
  }
};

TEST_P(PubSubConformance, DeliversInOrder) {
  auto ps = open("c1");
  Sink sink;
  std::string t = topic();
  ASSERT_TRUE(ps->subscribe({t, {}}, [&](const Message& m) {
                  sink.add(m.data);
                  return okStatus();
                }).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(send(*ps, t, std::to_string(i)).ok());
  ASSERT_TRUE(sink.waitFor(20));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sink.got[i], std::to_string(i));
  ps->close();
}

TEST_P(PubSubConformance, FailedMessagesAreDeliveredAgain) {
  auto ps = open("c2");
  Sink sink;
  std::atomic<int> failures{0};
  std::string t = topic();
  ASSERT_TRUE(ps->subscribe({t, {}}, [&](const Message& m) {
                  if (m.data == "flaky" && failures++ < 2) return unavailableError("not yet");
                  sink.add(m.data);
                  return okStatus();
                }).ok());
  ASSERT_TRUE(send(*ps, t, "flaky").ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0], "flaky");
  EXPECT_EQ(failures.load(), 3);
  ps->close();
}

TEST_P(PubSubConformance, NothingIsAcknowledgedBeforeSuccess) {
  if (GetParam().type == "pubsub.in-memory")
    GTEST_SKIP() << "an in-memory broker ends with its process";
  std::string t = topic();
  {
    auto ps = open("c3");
    std::atomic<int> attempts{0};
    ASSERT_TRUE(ps->subscribe({t, {}}, [&](const Message&) {
                    attempts++;
                    return unavailableError("the app is down");
                  }).ok());
    ASSERT_TRUE(send(*ps, t, "keep me").ok());
    for (int i = 0; i < 100 && attempts.load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_GT(attempts.load(), 0);
    ps->close();  // like a sidecar that stops while its app fails
  }
  auto again = open("c3");  // the same consumer comes back
  Sink sink;
  ASSERT_TRUE(again
                  ->subscribe({t, {}},
                              [&](const Message& m) {
                                sink.add(m.data);
                                return okStatus();
                              })
                  .ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0], "keep me");
  again->close();
}

TEST_P(PubSubConformance, EachConsumerGroupGetsEveryMessage) {
  auto a = open("group-a");
  auto b = open("group-b");
  Sink sa, sb;
  std::string t = topic();
  ASSERT_TRUE(a->subscribe({t, {}}, [&](const Message& m) {
                 sa.add(m.data);
                 return okStatus();
               }).ok());
  ASSERT_TRUE(b->subscribe({t, {}}, [&](const Message& m) {
                 sb.add(m.data);
                 return okStatus();
               }).ok());
  if (GetParam().type == "pubsub.in-memory") {
    ASSERT_TRUE(send(*a, t, "x").ok());  // separate in-memory brokers: one publish each
    ASSERT_TRUE(send(*b, t, "x").ok());
  } else {
    ASSERT_TRUE(send(*a, t, "x").ok());
  }
  EXPECT_TRUE(sa.waitFor(1));
  EXPECT_TRUE(sb.waitFor(1));
  a->close();
  b->close();
}

INSTANTIATE_TEST_SUITE_P(AllBrokers, PubSubConformance, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           std::string n = info.param.type.substr(7);
                           for (auto& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(PubSubMetadataValidation, MissingRequiredFieldsAreNamed) {
  auto factory = runtime::builtinRegistry().pubsub.find("pubsub.redis", "v1");
  ASSERT_TRUE(factory.ok());
  auto props = runtime::validateMetadata((*factory)->fields, {{"consumerID", "x"}});
  ASSERT_FALSE(props.ok());
  EXPECT_NE(props.status().message().find("redisHost"), std::string::npos);
}

}  // namespace
}  // namespace outrigger::sidecar::components::pubsub
