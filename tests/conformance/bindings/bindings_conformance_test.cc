// The conformance suite of the bindings that are both input and output, run against a real broker
// (rabbitmq-server; librdkafka's mock cluster for Kafka): what create sends, read delivers, with
// its metadata; an event the app failed is delivered again, and nothing is acknowledged before
// the app took it, even across closing and reopening the binding or restarting the broker; bad
// metadata fails start-up naming the field. Every wait is bounded.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "sidecar/runtime/registry.h"
#include "tests/framework/broker_servers.h"
#include "tests/framework/metadata_yaml.h"
#include "tests/framework/shared_brokers.h"

namespace outrigger::sidecar::components::bindings {
namespace {

using Raw = std::map<std::string, std::string>;

const bool kIgnoreSigpipe = [] {
  ::signal(SIGPIPE, SIG_IGN);  // writes to a connection the restarted broker dropped
  return true;
}();

struct BindingCase {
  std::string type;
  // The metadata of a binding over channel (a topic, a queue), reading in group.
  std::function<Raw(const std::string& channel, const std::string& group)> metadata;
  std::function<std::string()> restart;                  // stops and starts the broker
  std::function<void(const std::string&)> prepare;       // called with each new channel
  bool escapes_headers = false;                          // header values reach the app escaped
  std::vector<std::string> required_fields;              // each one's absence fails, naming it
  std::vector<std::pair<std::string, std::string>> bad;  // each bad value fails, naming it
};

void PrintTo(const BindingCase& c, std::ostream* os) { *os << c.type; }

std::vector<BindingCase> cases() {
  std::vector<BindingCase> out;
  out.push_back({"bindings.rabbitmq",
                 [](const std::string& queue, const std::string&) {
                   // A durable queue: what surviving a broker restart takes (messages are
                   // persistent always). One message in flight: order then holds across a
                   // requeue too.
                   return Raw{{"host", testing::sharedRabbitMq().url()},
                              {"queueName", queue},
                              {"durable", "true"},
                              {"prefetchCount", "1"},
                              {"reconnectWaitInSeconds", "200ms"}};
                 },
                 [] {
                   testing::sharedRabbitMq().stop();
                   return testing::sharedRabbitMq().start();
                 },
                 {},
                 true,
                 {"host", "queueName"},
                 {{"maxPriority", "300"},
                  {"prefetchCount", "-1"},
                  {"host", "amqps://guest:guest@127.0.0.1:1/"},
                  {"caCert", "-----BEGIN CERTIFICATE-----"}}});
  out.push_back({"bindings.kafka",
                 [](const std::string& topic, const std::string& group) {
                   return Raw{{"brokers", testing::sharedKafka().bootstraps},
                              {"authType", "none"},
                              {"topics", topic},
                              {"publishTopic", topic},
                              {"consumerGroup", group}};
                 },
                 [] { return testing::sharedKafka().restart(); },
                 [](const std::string& topic) { testing::sharedKafka().createTopic(topic); },
                 false,
                 {"brokers", "consumerGroup"},
                 {{"authType", "password"}, {"initialOffset", "middle"}}});
  return out;
}

StatusOr<std::unique_ptr<Binding>> openBinding(const std::string& type, const Raw& raw) {
  auto& registry = runtime::builtinRegistry();
  RETURN_IF_ERROR(registry.loadModuleFor(type));
  ASSIGN_OR_RETURN(auto factory, registry.bindings.find(type, "v1"));
  ASSIGN_OR_RETURN(auto props, runtime::validateMetadata(factory->fields, raw));
  auto b = factory->create();
  RETURN_IF_ERROR(b->init(props));
  return b;
}

// What the app received; waits are bounded.
struct Sink {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<InputEvent> got;
  bool waitFor(size_t n, int timeout_ms = 30000) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return got.size() >= n; });
  }
  bool waitForAll(const std::set<std::string>& want, int timeout_ms = 60000) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      std::set<std::string> have;
      for (const auto& e : got) have.insert(e.data);
      for (const auto& w : want) {
        if (!have.count(w)) return false;
      }
      return true;
    });
  }
  void add(const InputEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    got.push_back(e);
    cv.notify_all();
  }
  InputHandler handler() {
    return [this](const InputEvent& e) -> StatusOr<std::string> {
      add(e);
      return std::string();
    };
  }
  std::vector<std::string> data() {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<std::string> out;
    for (const auto& e : got) out.push_back(e.data);
    return out;
  }
};

class BindingConformance : public ::testing::TestWithParam<BindingCase> {
 protected:
  void TearDown() override {
    for (auto& b : opened_) b->close();
  }
  // Owned by the fixture too, so a failed assertion still closes it.
  Binding* open(const std::string& channel, const std::string& group = "g") {
    auto b = openBinding(GetParam().type, GetParam().metadata(channel, group));
    EXPECT_TRUE(b.ok()) << b.status().toString();
    if (!b.ok()) return nullptr;
    opened_.push_back(std::move(*b));
    return opened_.back().get();
  }
  std::string channel() {
    static std::atomic<int> n{0};
    std::string c =
        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()).substr(0, 20);
    for (auto& ch : c) {
      if (!isalnum(static_cast<unsigned char>(ch))) ch = '-';
    }
    c += "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    if (GetParam().prepare) GetParam().prepare(c);
    return c;
  }
  static ::testing::AssertionResult create(Binding& b, const std::string& data, Metadata md = {}) {
    auto r = b.output()->invoke(InvokeRequest{"create", data, std::move(md)});
    if (r.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << r.status().toString();
  }
  // A sink of the fixture's outlives the bindings reading into it (closed in TearDown).
  Sink& newSink() { return sinks_.emplace_back(); }
  std::deque<Sink> sinks_;
  std::vector<std::unique_ptr<Binding>> opened_;
};

TEST_P(BindingConformance, IsInputAndOutputWithCreate) {
  auto* b = open(channel());
  ASSERT_NE(b, nullptr);
  ASSERT_NE(b->input(), nullptr);
  ASSERT_NE(b->output(), nullptr);
  EXPECT_EQ(b->output()->operations(), std::vector<std::string>{"create"});
  auto r = b->output()->invoke(InvokeRequest{"get", "", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("get"), std::string::npos) << r.status().message();
}

TEST_P(BindingConformance, ReadDeliversWhatCreateSent) {
  std::string c = channel();
  auto* b = open(c);
  ASSERT_NE(b, nullptr);
  Sink& sink = newSink();
  ASSERT_TRUE(b->input()->read(sink.handler()).ok());
  // A JSON string is sent as its contents, other JSON as its text.
  ASSERT_TRUE(create(*b, R"("h\u00e9llo")", {{"partitionKey", "k1"}, {"note", "two words"}}));
  ASSERT_TRUE(create(*b, R"({"n":1})"));
  ASSERT_TRUE(sink.waitFor(2));
  EXPECT_EQ(sink.data(), (std::vector<std::string>{"h\xc3\xa9llo", R"({"n":1})"}));
  // Request metadata travels with the message and reaches the app (escaped, where the broker's
  // binding escapes it in Dapr).
  const Metadata& md = sink.got[0].metadata;
  ASSERT_TRUE(md.count("note")) << "metadata lost";
  EXPECT_EQ(md.at("note"), GetParam().escapes_headers ? "two+words" : "two words");
  if (GetParam().type == "bindings.kafka") {
    EXPECT_EQ(md.at("__key"), "k1");
    EXPECT_EQ(md.at("__topic"), c);
    EXPECT_EQ(md.at("__partition"), "0");
    EXPECT_EQ(sink.got[1].metadata.at("__offset"),
              std::to_string(std::stoll(md.at("__offset")) + 1));
  }
}

TEST_P(BindingConformance, KeepsOrder) {
  auto* b = open(channel());
  ASSERT_NE(b, nullptr);
  Sink& sink = newSink();
  ASSERT_TRUE(b->input()->read(sink.handler()).ok());
  std::vector<std::string> sent;
  for (int i = 0; i < 30; ++i) {
    sent.push_back(std::to_string(i));
    ASSERT_TRUE(create(*b, sent.back()));
  }

  ASSERT_TRUE(sink.waitFor(30));
  EXPECT_EQ(sink.data(), sent);
}

TEST_P(BindingConformance, AnEventTheAppFailedIsDeliveredAgain) {
  auto* b = open(channel());
  ASSERT_NE(b, nullptr);
  Sink& sink = newSink();
  auto failures = std::make_shared<std::atomic<int>>(0);  // the handler may outlive the body
  ASSERT_TRUE(b->input()
                  ->read([&sink, failures](const InputEvent& e) -> StatusOr<std::string> {
                    if (e.data == "flaky" && (*failures)++ < 2) return unavailableError("app: 500");
                    sink.add(e);
                    return std::string();
                  })
                  .ok());
  ASSERT_TRUE(create(*b, "flaky"));
  ASSERT_TRUE(create(*b, "after"));
  ASSERT_TRUE(sink.waitFor(2));
  EXPECT_EQ(failures->load(), 3);
  // Not lost, and (one partition, one queue) still ahead of what came after it.
  EXPECT_EQ(sink.data(), (std::vector<std::string>{"flaky", "after"}));
}

TEST_P(BindingConformance, NothingIsAcknowledgedBeforeTheAppTookIt) {
  std::string c = channel();
  {
    auto* b = open(c, "keep");
    ASSERT_NE(b, nullptr);
    auto attempts = std::make_shared<std::atomic<int>>(0);
    ASSERT_TRUE(b->input()
                    ->read([attempts](const InputEvent&) -> StatusOr<std::string> {
                      (*attempts)++;
                      return unavailableError("the app is down");
                    })
                    .ok());
    ASSERT_TRUE(create(*b, "keep me"));
    for (int i = 0; i < 1500 && attempts->load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_GT(attempts->load(), 0);
    b->close();  // like a sidecar that stops while its app fails
  }
  auto* again = open(c, "keep");  // the same group, the same queue
  ASSERT_NE(again, nullptr);
  Sink& sink = newSink();
  ASSERT_TRUE(again->input()->read(sink.handler()).ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0].data, "keep me");
}

// What create acknowledged before, and after, a broker restart reaches the reader (duplicates
// are allowed: at-least-once).
TEST_P(BindingConformance, BrokerRestartLosesNoAcknowledgedCreate) {
  std::string c = channel();
  auto* reader = open(c);
  auto* writer = open(c);
  ASSERT_NE(reader, nullptr);
  ASSERT_NE(writer, nullptr);
  Sink& sink = newSink();
  ASSERT_TRUE(reader->input()->read(sink.handler()).ok());
  std::set<std::string> acknowledged;
  for (int i = 0; i < 10; ++i) {
    std::string m = "before-" + std::to_string(i);
    ASSERT_TRUE(create(*writer, m));
    acknowledged.insert(m);
  }
  ASSERT_TRUE(sink.waitFor(1));  // flowing when the broker goes
  ASSERT_EQ(GetParam().restart(), "");
  // Right after the restart creates may fail while clients reconnect; only those that succeeded
  // count. A bounded number of attempts, until ten have gone through.
  int ok = 0;
  for (int i = 0; i < 300 && ok < 10; ++i) {
    std::string m = "after-" + std::to_string(i);
    if (create(*writer, m)) {
      acknowledged.insert(m);
      ++ok;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_EQ(ok, 10) << "create did not recover after the broker restart";
  EXPECT_TRUE(sink.waitForAll(acknowledged)) << [&] {
    std::set<std::string> have;
    for (const auto& d : sink.data()) have.insert(d);
    std::string missing;
    for (const auto& m : acknowledged) {
      if (!have.count(m)) missing += m + " ";
    }
    return "missing: " + missing;
  }();
}

TEST_P(BindingConformance, BadMetadataFailsNamingTheField) {
  std::string c = channel();
  for (const auto& field : GetParam().required_fields) {
    SCOPED_TRACE(field);
    auto raw = GetParam().metadata(c, "bad");
    raw.erase(field);
    auto b = openBinding(GetParam().type, raw);
    ASSERT_FALSE(b.ok()) << "opened without " << field;
    EXPECT_NE(b.status().message().find(field), std::string::npos) << b.status().message();
  }
  for (const auto& [field, value] : GetParam().bad) {
    SCOPED_TRACE(field + "=" + value);
    auto raw = GetParam().metadata(c, "bad");
    raw[field] = value;
    auto b = openBinding(GetParam().type, raw);
    ASSERT_FALSE(b.ok()) << "opened with " << field << "=" << value;
    EXPECT_NE(b.status().message().find(field), std::string::npos) << b.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(InputOutputBindings, BindingConformance, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.type.substr(9); });

// ---- What one binding does beyond the common contract ----

// Deletes a queue behind the binding's back, over a connection of the test's own.
std::string deleteQueue(const std::string& queue) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  std::string url = testing::sharedRabbitMq().url();
  int port = std::stoi(url.substr(url.rfind(':') + 1));
  std::string error;
  if (amqp_socket_open(socket, "127.0.0.1", port) != AMQP_STATUS_OK) {
    error = "cannot connect";
  } else if (amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest")
                 .reply_type != AMQP_RESPONSE_NORMAL) {
    error = "cannot log in";
  } else {
    amqp_channel_open(conn, 1);
    amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
    if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) error = "queue.delete failed";
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
  return error;
}

// A queue that went (deleted, or auto-deleted with its last consumer) is declared again by the
// next create, instead of the broker dropping the message as unroutable.
TEST(RabbitMqBinding, CreateDeclaresAQueueThatWent) {
  std::string queue = "redeclare-" + std::to_string(::getpid());
  Sink sink;  // outlives the binding
  auto b = openBinding("bindings.rabbitmq",
                       {{"host", testing::sharedRabbitMq().url()}, {"queueName", queue}});
  ASSERT_TRUE(b.ok()) << b.status().toString();
  ASSERT_EQ(deleteQueue(queue), "");
  ASSERT_TRUE((*b)->output()->invoke(InvokeRequest{"create", "\"kept\"", {}}).ok());
  ASSERT_TRUE((*b)->input()->read(sink.handler()).ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0].data, "kept");
  (*b)->close();
}

// An exclusive queue belongs to the input's connection; the binding still writes to it.
TEST(RabbitMqBinding, ExclusiveQueueIsReadAndWritten) {
  std::string queue = "exclusive-" + std::to_string(::getpid());
  Sink sink;  // outlives the binding
  auto b = openBinding(
      "bindings.rabbitmq",
      {{"host", testing::sharedRabbitMq().url()}, {"queueName", queue}, {"exclusive", "true"}});
  ASSERT_TRUE(b.ok()) << b.status().toString();
  ASSERT_TRUE((*b)->input()->read(sink.handler()).ok());
  ASSERT_TRUE((*b)->output()->invoke(InvokeRequest{"create", "\"mine\"", {}}).ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.got[0].data, "mine");
  (*b)->close();
}

TEST(RabbitMqBinding, BadRequestMetadataIsNamed) {
  auto b = openBinding("bindings.rabbitmq", {{"host", testing::sharedRabbitMq().url()},
                                             {"queueName", "bad-" + std::to_string(getpid())}});
  ASSERT_TRUE(b.ok()) << b.status().toString();
  for (const char* field : {"ttlInSeconds", "priority", "deliveryMode"}) {
    auto r = (*b)->output()->invoke(InvokeRequest{"create", "\"x\"", {{field, "-5"}}});
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
  }
  (*b)->close();
}

TEST(KafkaBinding, CreateWithoutPublishTopicIsRefusedNamingIt) {
  auto b = openBinding("bindings.kafka",
                       {{"brokers", testing::sharedKafka().bootstraps}, {"authType", "none"}});
  ASSERT_TRUE(b.ok()) << b.status().toString();
  auto r = (*b)->output()->invoke(InvokeRequest{"create", "\"x\"", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("publishTopic"), std::string::npos) << r.status().message();
  // An output-only binding (no topics) reads nothing, as in Dapr: not an error.
  EXPECT_TRUE((*b)->input()->read([](const InputEvent&) { return std::string(); }).ok());
  (*b)->close();
}

TEST(KafkaBinding, OlderAuthRequiredFalseMeansNone) {
  auto b = openBinding("bindings.kafka",
                       {{"brokers", testing::sharedKafka().bootstraps}, {"authRequired", "false"}});
  EXPECT_TRUE(b.ok()) << b.status().toString();
  if (b.ok()) (*b)->close();
  auto missing = openBinding("bindings.kafka", {{"brokers", testing::sharedKafka().bootstraps}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("authType"), std::string::npos);
}

// metadata.yaml documents the fields: it must say what the factory checks.
TEST(BindingMetadata, MetadataYamlMatchesTheFactory) {
  for (const char* name : {"kafka", "rabbitmq"}) {
    SCOPED_TRACE(name);
    auto& registry = runtime::builtinRegistry();
    ASSERT_TRUE(registry.loadModuleFor(std::string("bindings.") + name).ok());
    auto factory = registry.bindings.find(std::string("bindings.") + name, "v1");
    ASSERT_TRUE(factory.ok()) << factory.status().toString();
    testing::expectMetadataYamlMatches(std::string(OUTRIGGER_SOURCE_DIR) +
                                           "/sidecar/components/bindings/" + name +
                                           "/metadata.yaml",
                                       "bindings", name, (*factory)->fields);
  }
}

}  // namespace
}  // namespace outrigger::sidecar::components::bindings
