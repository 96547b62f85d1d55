// The pub/sub conformance suite, run against every broker component with a real broker (a
// librdkafka mock cluster for Kafka): delivery, order, and at-least-once (a message the handler
// fails is delivered again; nothing is acknowledged before the handler succeeded, even across
// closing and reopening the component; no acknowledged publish is lost when the broker restarts).
// Every wait is bounded.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "sidecar/runtime/registry.h"
#include "tests/framework/broker_servers.h"
#include "tests/framework/metadata_yaml.h"
#include "tests/framework/servers.h"
#include "tests/framework/shared_brokers.h"

namespace outrigger::sidecar::components::pubsub {
namespace {

using Raw = std::map<std::string, std::string>;

// A client writing to a connection the restarted broker dropped must get EPIPE, not die of
// SIGPIPE (hiredis writes without MSG_NOSIGNAL).
const bool kIgnoreSigpipe = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// ---- Brokers, started once per test process (on first use) ----

testing::RedisServer& redis() {
  static testing::RedisServer server;
  static std::string started = [] {
    server.persistent = true;  // a restart must keep the streams
    return server.start();
  }();
  EXPECT_EQ(started, "");
  return server;
}

testing::MosquittoServer& mosquitto() {
  static testing::MosquittoServer server;
  static std::string started = server.start();
  EXPECT_EQ(started, "");
  return server;
}

struct BrokerCase {
  std::string type;
  std::function<Raw()> metadata;
  // Whether unacknowledged messages outlive the consumer process (false: in-memory, and MQTT,
  // whose client library acknowledges on receipt).
  bool survives_consumer_restart = true;
  // Stops and starts the broker; empty when there is no broker to restart.
  std::function<std::string()> restart;
  // Called with each new topic before use (Kafka: create it with one partition, for order).
  std::function<void(const std::string&)> prepare;
  // A field whose absence or bad value must fail start-up, with the error naming it.
  std::string required_field;
  std::pair<std::string, std::string> bad_value;
};

void PrintTo(const BrokerCase& c, std::ostream* os) { *os << c.type; }

std::vector<BrokerCase> cases() {
  std::vector<BrokerCase> out;
  out.push_back({"pubsub.in-memory",
                 [] {
                   return Raw{{"retryInterval", "20ms"}};
                 },
                 false,
                 {},
                 {},
                 "",
                 {}});
  out.push_back({"pubsub.redis",
                 [] {
                   return Raw{{"redisHost", redis().address()},
                              {"processingTimeout", "300ms"},
                              {"redeliverInterval", "100ms"}};
                 },
                 true,
                 [] {
                   redis().stop();
                   return redis().start();
                 },
                 {},
                 "redisHost",
                 {"enableTLS", "true"}});
  out.push_back({"pubsub.rabbitmq",
                 [] {
                   // Durable queues kept while no consumer is connected, persistent messages:
                   // what surviving restarts takes (Dapr's defaults are neither).
                   return Raw{{"connectionString", testing::sharedRabbitMq().url()},
                              {"durable", "true"},
                              {"deletedWhenUnused", "false"},
                              {"deliveryMode", "2"},
                              {"reconnectWait", "200ms"}};
                 },
                 true,
                 [] {
                   testing::sharedRabbitMq().stop();
                   return testing::sharedRabbitMq().start();
                 },
                 {},
                 "connectionString",
                 {"deliveryMode", "7"}});
  out.push_back({"pubsub.kafka",
                 [] {
                   return Raw{{"brokers", testing::sharedKafka().bootstraps}, {"authType", "none"}};
                 },
                 true,
                 [] { return testing::sharedKafka().restart(); },
                 [](const std::string& topic) { testing::sharedKafka().createTopic(topic); },
                 "brokers",
                 {"authType", "password"}});
  out.push_back({"pubsub.mqtt3",
                 [] {
                   return Raw{{"url", mosquitto().url()}};
                 },
                 true,
                 [] {
                   mosquitto().stop();  // orderly: mosquitto saves its queues to disk
                   return mosquitto().start();
                 },
                 {},
                 "url",
                 {"qos", "3"}});
  return out;
}

// Collects what a subscription received; waits are bounded.
struct Sink {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> got;
  std::vector<std::string> topics;
  bool waitFor(size_t n, int timeout_ms = 30000) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return got.size() >= n; });
  }
  bool waitForAll(const std::set<std::string>& want, int timeout_ms = 60000) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      std::set<std::string> have(got.begin(), got.end());
      for (const auto& w : want) {
        if (!have.count(w)) return false;
      }
      return true;
    });
  }
  void add(const Message& m) {
    std::lock_guard<std::mutex> lock(mutex);
    got.push_back(m.data);
    topics.push_back(m.topic);
    cv.notify_all();
  }
  Handler handler() {
    return [this](const Message& m) {
      add(m);
      return okStatus();
    };
  }
};

class PubSubConformance : public ::testing::TestWithParam<BrokerCase> {
 protected:
  void TearDown() override {
    for (auto& ps : opened_) ps->close();
  }
  StatusOr<std::unique_ptr<PubSub>> tryOpen(Raw raw) {
    auto& registry = runtime::builtinRegistry();
    RETURN_IF_ERROR(registry.loadModuleFor(GetParam().type));
    ASSIGN_OR_RETURN(auto factory, registry.pubsub.find(GetParam().type, "v1"));
    ASSIGN_OR_RETURN(auto props, runtime::validateMetadata(factory->fields, raw));
    auto ps = factory->create();
    RETURN_IF_ERROR(ps->init(props));
    return ps;
  }
  // Owned by the fixture too, so a failed assertion still closes it.
  PubSub* open(const std::string& consumer) {
    auto raw = GetParam().metadata();
    raw["consumerID"] = consumer;
    auto ps = tryOpen(raw);
    EXPECT_TRUE(ps.ok()) << ps.status().toString();
    if (!ps.ok()) return nullptr;
    opened_.push_back(std::move(*ps));
    return opened_.back().get();
  }
  std::string topic() {
    static std::atomic<int> n{0};
    std::string t =
        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()).substr(0, 20);
    for (auto& c : t) {
      if (!isalnum(static_cast<unsigned char>(c))) c = '-';
    }
    t += "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    if (GetParam().prepare) GetParam().prepare(t);
    return t;
  }
  Status send(PubSub& ps, const std::string& topic, const std::string& data) {
    return ps.publish(PublishRequest{topic, data, "text/plain", {}});
  }
  std::vector<std::unique_ptr<PubSub>> opened_;
};

TEST_P(PubSubConformance, DeliversWhatWasPublished) {
  auto* ps = open("c0");
  ASSERT_NE(ps, nullptr);
  Sink sink;
  std::string t = topic();
  ASSERT_TRUE(ps->subscribe({t, {}}, sink.handler()).ok());
  std::string payload = R"({"specversion":"1.0","data":"h\u00e9llo"})";
  payload += std::string("\0\x01\xff", 3);  // bytes pass through untouched
  ASSERT_TRUE(ps->publish(PublishRequest{t, payload, "application/cloudevents+json", {}}).ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0], payload);
  EXPECT_EQ(sink.topics[0], t);
}

TEST_P(PubSubConformance, DeliversInOrder) {
  auto* ps = open("c1");
  ASSERT_NE(ps, nullptr);
  Sink sink;
  std::string t = topic();
  ASSERT_TRUE(ps->subscribe({t, {}}, sink.handler()).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(send(*ps, t, std::to_string(i)).ok());
  ASSERT_TRUE(sink.waitFor(50));
  std::lock_guard<std::mutex> lock(sink.mutex);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sink.got[i], std::to_string(i));
}

TEST_P(PubSubConformance, FailedMessagesAreDeliveredAgain) {
  auto* ps = open("c2");
  ASSERT_NE(ps, nullptr);
  Sink sink;
  std::atomic<int> failures{0};
  std::string t = topic();
  ASSERT_TRUE(ps->subscribe({t, {}}, [&](const Message& m) {
                  if (m.data == "flaky" && failures++ < 2) return unavailableError("not yet");
                  sink.add(m);
                  return okStatus();
                }).ok());
  ASSERT_TRUE(send(*ps, t, "flaky").ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0], "flaky");
  EXPECT_EQ(failures.load(), 3);
}

// Collects what a bulk subscription received, batch by batch; waits are bounded.
struct BatchSink {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> got;
  std::vector<size_t> sizes;
  bool waitFor(const std::set<std::string>& want, int timeout_ms = 30000) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      std::set<std::string> have(got.begin(), got.end());
      return std::includes(have.begin(), have.end(), want.begin(), want.end());
    });
  }
};

TEST_P(PubSubConformance, BulkSubscribeHandsOverSeveralMessagesAtOnceInOrder) {
  auto* ps = open("c7");
  ASSERT_NE(ps, nullptr);
  BatchSink sink;
  std::string t = topic();
  // A long wait for a full batch: the 30 publishes below take far less.
  ASSERT_TRUE(
      ps->bulkSubscribe({t, {}}, BulkOptions{10, 5000}, [&](const std::vector<Message>& batch) {
          std::lock_guard<std::mutex> lock(sink.mutex);
          sink.sizes.push_back(batch.size());
          for (const auto& m : batch) sink.got.push_back(m.data);
          sink.cv.notify_all();
          return std::vector<Status>(batch.size(), okStatus());
        }).ok());
  std::set<std::string> want;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(send(*ps, t, std::to_string(i)).ok());
    want.insert(std::to_string(i));
  }
  ASSERT_TRUE(sink.waitFor(want));
  std::lock_guard<std::mutex> lock(sink.mutex);
  ASSERT_EQ(sink.got.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(sink.got[i], std::to_string(i));
  size_t largest = *std::max_element(sink.sizes.begin(), sink.sizes.end());
  EXPECT_LE(largest, 10u);
  EXPECT_GT(largest, 1u) << "every batch held one message: the broker's messages were not "
                            "aggregated";
}

TEST_P(PubSubConformance, BulkSubscribeDeliversFailedEntriesAgain) {
  auto* ps = open("c8");
  ASSERT_NE(ps, nullptr);
  BatchSink sink;
  std::atomic<int> failures{0};
  std::string t = topic();
  ASSERT_TRUE(
      ps->bulkSubscribe({t, {}}, BulkOptions{10, 500}, [&](const std::vector<Message>& batch) {
          std::vector<Status> out;
          std::lock_guard<std::mutex> lock(sink.mutex);
          for (const auto& m : batch) {
            if (m.data == "flaky" && failures++ < 2) {
              out.push_back(unavailableError("not yet"));
              continue;
            }
            sink.got.push_back(m.data);
            out.push_back(okStatus());
          }
          sink.cv.notify_all();
          return out;
        }).ok());
  for (const char* data : {"a", "flaky", "b"}) ASSERT_TRUE(send(*ps, t, data).ok());
  ASSERT_TRUE(sink.waitFor({"a", "flaky", "b"}));
  EXPECT_EQ(failures.load(), 3);
}

TEST_P(PubSubConformance, NothingIsAcknowledgedBeforeSuccess) {
  if (!GetParam().survives_consumer_restart) {
    GTEST_SKIP() << GetParam().type << ": messages do not outlive the consumer (in-memory broker)";
  }
  std::string t = topic();
  {
    auto* ps = open("c3");
    ASSERT_NE(ps, nullptr);
    std::atomic<int> attempts{0};
    ASSERT_TRUE(ps->subscribe({t, {}}, [&](const Message&) {
                    attempts++;
                    return unavailableError("the app is down");
                  }).ok());
    ASSERT_TRUE(send(*ps, t, "keep me").ok());
    for (int i = 0; i < 1500 && attempts.load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_GT(attempts.load(), 0);
    ps->close();  // like a sidecar that stops while its app fails
  }
  auto* again = open("c3");  // the same consumer comes back
  ASSERT_NE(again, nullptr);
  Sink sink;
  ASSERT_TRUE(again->subscribe({t, {}}, sink.handler()).ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0], "keep me");
}

TEST_P(PubSubConformance, EachConsumerGroupGetsEveryMessage) {
  auto* a = open("group-a");
  auto* b = open("group-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Sink sa, sb;
  std::string t = topic();
  ASSERT_TRUE(a->subscribe({t, {}}, sa.handler()).ok());
  ASSERT_TRUE(b->subscribe({t, {}}, sb.handler()).ok());
  if (GetParam().type == "pubsub.in-memory") {
    ASSERT_TRUE(send(*a, t, "x").ok());  // separate in-memory brokers: one publish each
    ASSERT_TRUE(send(*b, t, "x").ok());
  } else {
    ASSERT_TRUE(send(*a, t, "x").ok());
  }
  EXPECT_TRUE(sa.waitFor(1));
  EXPECT_TRUE(sb.waitFor(1));
}

// Publishes acknowledged before, during (where publish succeeds at all) and after a broker
// restart all reach the subscriber; duplicates are allowed (at-least-once).
TEST_P(PubSubConformance, BrokerRestartLosesNoAcknowledgedPublish) {
  if (!GetParam().restart) GTEST_SKIP() << "no broker process to restart";
  auto* sub = open("c4");
  auto* pub = open("c4-publisher");
  ASSERT_NE(sub, nullptr);
  ASSERT_NE(pub, nullptr);
  Sink sink;
  std::string t = topic();
  ASSERT_TRUE(sub->subscribe({t, {}}, sink.handler()).ok());
  std::set<std::string> acknowledged;
  for (int i = 0; i < 10; ++i) {
    std::string m = "before-" + std::to_string(i);
    ASSERT_TRUE(send(*pub, t, m).ok());
    acknowledged.insert(m);
  }
  ASSERT_TRUE(sink.waitFor(1));  // the stream is flowing when the broker goes
  ASSERT_EQ(GetParam().restart(), "");
  // Right after the restart publishes may fail while clients reconnect; only those that
  // succeeded count. A bounded number of attempts, until ten have gone through.
  int ok = 0;
  for (int i = 0; i < 300 && ok < 10; ++i) {
    std::string m = "after-" + std::to_string(i);
    if (send(*pub, t, m).ok()) {
      acknowledged.insert(m);
      ++ok;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_EQ(ok, 10) << "publishing did not recover after the broker restart";
  EXPECT_TRUE(sink.waitForAll(acknowledged)) << [&] {
    std::lock_guard<std::mutex> lock(sink.mutex);
    std::set<std::string> have(sink.got.begin(), sink.got.end());
    std::string missing;
    for (const auto& m : acknowledged) {
      if (!have.count(m)) missing += m + " ";
    }
    return "missing: " + missing;
  }();
}

TEST_P(PubSubConformance, BadMetadataFailsNamingTheField) {
  if (GetParam().required_field.empty()) GTEST_SKIP() << "no required metadata";
  {
    auto raw = GetParam().metadata();
    raw["consumerID"] = "bad";
    raw.erase(GetParam().required_field);
    auto ps = tryOpen(raw);
    ASSERT_FALSE(ps.ok()) << "opened without " << GetParam().required_field;
    EXPECT_NE(ps.status().message().find(GetParam().required_field), std::string::npos)
        << ps.status().message();
  }
  {
    auto raw = GetParam().metadata();
    raw["consumerID"] = "bad";
    raw[GetParam().bad_value.first] = GetParam().bad_value.second;
    auto ps = tryOpen(raw);
    ASSERT_FALSE(ps.ok()) << "opened with " << GetParam().bad_value.first << "="
                          << GetParam().bad_value.second;
    EXPECT_NE(ps.status().message().find(GetParam().bad_value.first), std::string::npos)
        << ps.status().message();
  }
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

TEST(PubSubMetadataValidation, ConsumerIdIsRequired) {
  for (const char* type : {"pubsub.redis", "pubsub.rabbitmq", "pubsub.kafka", "pubsub.mqtt3"}) {
    SCOPED_TRACE(type);
    auto& registry = runtime::builtinRegistry();
    ASSERT_TRUE(registry.loadModuleFor(type).ok());
    auto factory = registry.pubsub.find(type, "v1");
    ASSERT_TRUE(factory.ok());
    auto props = runtime::validateMetadata((*factory)->fields, {});
    if (props.ok()) {
      // Declared optional: the component itself must refuse, naming the field.
      auto ps = (*factory)->create();
      Status st = ps->init(*props);
      ASSERT_FALSE(st.ok());
      EXPECT_NE(st.message().find("consumerID"), std::string::npos) << st.message();
    } else {
      bool named = props.status().message().find("consumerID") != std::string::npos;
      for (const auto& f : (*factory)->fields) {
        if (f.required && props.status().message().find(f.name) != std::string::npos) named = true;
      }
      EXPECT_TRUE(named) << props.status().message();
    }
  }
}

// metadata.yaml documents the fields: it must say what the factory checks.
TEST(PubSubMetadataValidation, MetadataYamlMatchesTheFactory) {
  for (const char* name : {"redis", "rabbitmq", "kafka", "mqtt3"}) {
    SCOPED_TRACE(name);
    auto& registry = runtime::builtinRegistry();
    ASSERT_TRUE(registry.loadModuleFor(std::string("pubsub.") + name).ok());
    auto factory = registry.pubsub.find(std::string("pubsub.") + name, "v1");
    ASSERT_TRUE(factory.ok()) << factory.status().toString();
    testing::expectMetadataYamlMatches(
        std::string(OUTRIGGER_SOURCE_DIR) + "/sidecar/components/pubsub/" + name + "/metadata.yaml",
        "pubsub", name, (*factory)->fields);
  }
}

}  // namespace
}  // namespace outrigger::sidecar::components::pubsub
