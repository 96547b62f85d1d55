// Input bindings deliver events to a real HTTP app with the event's metadata as headers; what
// could write the request's head (CR/LF, control bytes, keys that are no header names, framing
// fields) is dropped with a warning naming the binding and the key.

#include "sidecar/bindings/input_bindings.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "common/http/client.h"
#include "sidecar/runtime/app_call.h"
#include "tests/framework/test_app.h"

namespace outrigger::sidecar::bindings {
namespace {

namespace b = components::bindings;

// An input binding the test drives: read() keeps the handler.
class FakeInput : public b::Binding, public b::InputBinding {
 public:
  Status init(const runtime::Properties&) override { return okStatus(); }
  b::InputBinding* input() override { return this; }
  Status read(b::InputHandler handler) override {
    handler_ = std::move(handler);
    return okStatus();
  }
  b::InputHandler handler_;
};

class InputBindingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { ioc_.run(); });
    invoke::AppChannelOptions options;
    options.port = app_.port();
    channel_ = std::make_shared<invoke::AppChannel>(
        outrigger::http::ClientPool::create(ioc_, outrigger::http::ClientOptions{}), options);
    auto inst = std::make_shared<runtime::BindingInstance>();
    inst->spec.name = "events";
    inst->component = fake_;
    inst->properties.set("direction", "input");
    context_.compstore.bindings.put(inst);
  }
  void TearDown() override {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  testing::TestApp app_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(ioc_);
  std::thread thread_;
  std::shared_ptr<invoke::AppChannel> channel_;
  runtime::Context context_;
  std::shared_ptr<FakeInput> fake_ = std::make_shared<FakeInput>();
};

TEST_F(InputBindingsTest, MetadataThatCouldWriteTheRequestHeadIsDropped) {
  InputBindings input(context_, channel_);
  input.start();
  ASSERT_TRUE(fake_->handler_) << "the binding was not read";
  b::InputEvent event;
  event.data = R"({"n":1})";
  event.metadata = {
      {"good", "plain value\twith a tab and \xc3\xa9"},
      {"split", "x\r\ninjected: yes"},
      {"lf-only", "x\ninjected-lf: yes"},
      {"nul", std::string("a\0b", 3)},
      {"bad name", "v"},
      {"colon:name", "v"},
      {"crlf\r\nkey", "v"},
      {"transfer-encoding", "chunked"},
      {"Content-Length", "0"},
  };
  ::testing::internal::CaptureStderr();
  auto answered = fake_->handler_(event);
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(answered.ok()) << answered.status().toString();
  auto received = app_.received();
  ASSERT_EQ(received.size(), 1u);
  const auto& r = received[0];
  EXPECT_EQ(r.body, R"({"n":1})");  // the body was framed by the sidecar, not the event
  EXPECT_EQ(r.headers.at("good"), "plain value\twith a tab and \xc3\xa9");
  for (const char* gone : {"split", "injected", "lf-only", "injected-lf", "nul", "bad name",
                           "colon:name", "colon", "transfer-encoding", "Transfer-Encoding"}) {
    EXPECT_EQ(r.headers.count(gone), 0u) << gone << " reached the app";
  }
  // (The CR/LF key is escaped in the log line: only its start is looked for.)
  for (const char* key : {"split", "lf-only", "nul", "bad name", "colon:name", "crlf",
                          "transfer-encoding", "Content-Length"}) {
    EXPECT_NE(log.find(std::string("input binding events: metadata '") + key), std::string::npos)
        << "no warning for " << key << " in:\n"
        << log;
  }
}

TEST(SetMetadataHeadersTest, KeepsValidEntriesAsTheyAre) {
  outrigger::http::Request req;
  runtime::setMetadataHeaders("b", {{"x-trace", "abc"}, {"Empty", ""}, {"!#$%&'*+-.^_`|~", "ok"}},
                              req);
  EXPECT_EQ(req["x-trace"], "abc");
  EXPECT_EQ(req.count("Empty"), 1u);
  EXPECT_EQ(req["!#$%&'*+-.^_`|~"], "ok");
}

}  // namespace
}  // namespace outrigger::sidecar::bindings
