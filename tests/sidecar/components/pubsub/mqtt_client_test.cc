// pubsub.mqtt3's MQTT 3.1.1 client against a real mosquitto: wildcard matching, QoS 0/1/2 round
// trips, and the guarantee it exists for: a message not released is the broker's again on the
// session's next connection.

#include "sidecar/components/pubsub/mqtt3/mqtt_client.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>

#include "tests/framework/broker_servers.h"

namespace outrigger::sidecar::components::pubsub::mqtt3 {
namespace {

TEST(TopicMatchesTest, Wildcards) {
  EXPECT_TRUE(topicMatches("a/b", "a/b"));
  EXPECT_FALSE(topicMatches("a/b", "a/c"));
  EXPECT_FALSE(topicMatches("a", "a/b"));
  EXPECT_FALSE(topicMatches("a/b", "a"));
  EXPECT_TRUE(topicMatches("a/+", "a/b"));
  EXPECT_FALSE(topicMatches("a/+", "a/b/c"));
  EXPECT_FALSE(topicMatches("a/+", "a"));
  EXPECT_TRUE(topicMatches("+/+", "/x"));  // a level may be empty
  EXPECT_TRUE(topicMatches("a/#", "a"));   // '#' covers the parent level too
  EXPECT_TRUE(topicMatches("a/#", "a/b/c"));
  EXPECT_TRUE(topicMatches("#", "x/y"));
  EXPECT_FALSE(topicMatches("#", "$SYS/x"));
  EXPECT_FALSE(topicMatches("+/x", "$SYS/x"));
  EXPECT_TRUE(topicMatches("$SYS/#", "$SYS/x"));
}

// Collects what a client receives, keeping each message's acknowledgement for the test.
struct Inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::pair<Incoming, std::shared_ptr<Ack>>> got;
  OnMessage handler() {
    return [this](const Incoming& in, const std::shared_ptr<Ack>& ack) {
      ack->hold();
      std::lock_guard<std::mutex> lock(mutex);
      got.emplace_back(in, ack);
      cv.notify_all();
    };
  }
  // The next message (bounded wait), or nullopt.
  std::optional<std::pair<Incoming, std::shared_ptr<Ack>>> next() {
    std::unique_lock<std::mutex> lock(mutex);
    if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return !got.empty(); }))
      return std::nullopt;
    auto out = got.front();
    got.pop_front();
    return out;
  }
};

class MqttClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = new testing::MosquittoServer();
    ASSERT_EQ(broker_->start(), "");
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }
  ClientOptions options(const std::string& id) {
    ClientOptions o;
    o.host = "127.0.0.1";
    o.port = broker_->port();
    o.client_id = id + "-" + std::to_string(::getpid());
    o.timeout_ms = 5000;
    return o;
  }
  static testing::MosquittoServer* broker_;
};

testing::MosquittoServer* MqttClientTest::broker_ = nullptr;

TEST_F(MqttClientTest, RoundTripsAtEveryQos) {
  Inbox inbox;
  Client sub(options("qos-sub"), inbox.handler());
  ASSERT_TRUE(sub.start().ok());
  ASSERT_TRUE(sub.subscribe("qos/+", 2).ok());
  Client pub(options("qos-pub"), [](const Incoming&, const std::shared_ptr<Ack>&) {});
  ASSERT_TRUE(pub.start().ok());
  std::string bytes("b\0\xff", 3);
  for (int qos = 0; qos <= 2; ++qos) {
    ASSERT_TRUE(
        pub.publish("qos/" + std::to_string(qos), bytes + std::to_string(qos), qos, false).ok());
    auto m = inbox.next();
    // QoS 1 is at least once: a loaded machine may see the qos/1 message twice (a resend after a
    // late PUBACK). A duplicate is legal; a loss or a wrong message is not.
    while (m && qos == 2 && m->first.topic == "qos/1") {
      m->second->release();
      m = inbox.next();
    }
    ASSERT_TRUE(m) << "qos " << qos;
    EXPECT_EQ(m->first.topic, "qos/" + std::to_string(qos));
    EXPECT_EQ(m->first.payload, bytes + std::to_string(qos));
    EXPECT_EQ(m->first.qos, qos);
    m->second->release();
  }
  EXPECT_FALSE(pub.publish("qos/x", "", 3, false).ok());
}

TEST_F(MqttClientTest, WhatIsNotReleasedComesBackOnTheNextConnection) {
  ClientOptions o = options("keep");
  Client pub(options("keep-pub"), [](const Incoming&, const std::shared_ptr<Ack>&) {});
  ASSERT_TRUE(pub.start().ok());
  {
    Inbox inbox;
    Client sub(o, inbox.handler());
    ASSERT_TRUE(sub.start().ok());
    ASSERT_TRUE(sub.subscribe("keep", 1).ok());
    ASSERT_TRUE(pub.publish("keep", "first", 1, false).ok());
    auto m = inbox.next();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->first.payload, "first");
    EXPECT_FALSE(m->second->stale());
    sub.close();  // not released: no PUBACK went
    EXPECT_TRUE(m->second->stale());
  }
  {
    Inbox inbox;
    Client sub(o, inbox.handler());  // the same session
    ASSERT_TRUE(sub.start().ok());
    auto m = inbox.next();
    ASSERT_TRUE(m) << "the unacknowledged message did not come back";
    EXPECT_EQ(m->first.payload, "first");
    m->second->release();  // PUBACK
    ASSERT_TRUE(sub.subscribe("keep", 1).ok());
    ASSERT_TRUE(pub.publish("keep", "second", 1, false).ok());
    m = inbox.next();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->first.payload, "second");
    m->second->release();
  }
  Inbox inbox;
  Client sub(o, inbox.handler());
  ASSERT_TRUE(sub.start().ok());
  ASSERT_TRUE(pub.publish("keep", "third", 1, false).ok());
  auto m = inbox.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->first.payload, "third");  // the released ones did not come back
  m->second->release();
}

TEST_F(MqttClientTest, StartFailsWithTheReason) {
  ClientOptions o = options("nobody");
  o.port = testing::freeTcpPort();
  Client c(o, [](const Incoming&, const std::shared_ptr<Ack>&) {});
  Status st = c.start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot connect"), std::string::npos) << st.message();
}

TEST_F(MqttClientTest, PublishesWaitForTheBrokerToComeBack) {
  Inbox inbox;
  ClientOptions o = options("back");
  Client c(o, inbox.handler());
  ASSERT_TRUE(c.start().ok());
  ASSERT_TRUE(c.subscribe("back", 1).ok());
  broker_->stop();
  ASSERT_EQ(broker_->start(), "");
  // Published while the client may still be reconnecting: sent on the next connection.
  ASSERT_TRUE(c.publish("back", "after", 1, false).ok());
  auto m = inbox.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->first.payload, "after");
  m->second->release();
}

}  // namespace
}  // namespace outrigger::sidecar::components::pubsub::mqtt3
