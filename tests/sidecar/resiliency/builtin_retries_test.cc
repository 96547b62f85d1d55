#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>
#include <vector>

#include "common/http/types.h"
#include "sidecar/resiliency/http_call.h"
#include "sidecar/resiliency/resiliency.h"

namespace outrigger::sidecar::resiliency {
namespace {

using outrigger::http::Request;
using outrigger::http::Response;
using outrigger::http::ResponseCallback;

// Runs one call under policy; send answers attempt n with answers[n] (the last one repeats).
struct Run {
  int attempts = 0;
  std::optional<StatusOr<Response>> result;
};

Run callWith(std::shared_ptr<const Policy> policy, std::vector<StatusOr<Response>> answers) {
  boost::asio::io_context ioc;
  Run run;
  callWithPolicy(
      ioc, std::move(policy), Request{},
      [&](Request, ResponseCallback cb) {
        size_t n = static_cast<size_t>(run.attempts++);
        cb(answers[std::min(n, answers.size() - 1)]);
      },
      [&](StatusOr<Response> res) { run.result = std::move(res); });
  ioc.run();
  return run;
}

TEST(BuiltInServiceRetriesTest, AnUnreachableSidecarIsTriedAgainThreeTimes) {
  auto policy = Resiliency::builtInServiceRetries(nullptr);
  ASSERT_TRUE(policy && policy->retry);
  EXPECT_EQ(policy->retry->max_retries, 3);
  EXPECT_EQ(policy->retry->duration_ms, 1000);

  // Reached on the third attempt (a sidecar that was restarting).
  auto ok = callWith(policy, {unavailableError("refused"), unavailableError("refused"),
                              outrigger::http::makeResponse(200, "hi")});
  EXPECT_EQ(ok.attempts, 3);
  ASSERT_TRUE(ok.result && ok.result->ok());
  EXPECT_EQ((*ok.result)->result_int(), 200u);

  // Never reached: one attempt and three retries, then the error.
  auto down = callWith(policy, {unavailableError("refused")});
  EXPECT_EQ(down.attempts, 4);
  ASSERT_TRUE(down.result);
  EXPECT_EQ(down.result->status().code(), StatusCode::kUnavailable);
}

TEST(BuiltInServiceRetriesTest, AnswersAndTimeoutsAreFinal) {
  auto policy = Resiliency::builtInServiceRetries(nullptr);
  // The app's own error is its answer: not sent again (it may not be idempotent).
  auto error = callWith(policy, {outrigger::http::makeResponse(500)});
  EXPECT_EQ(error.attempts, 1);
  ASSERT_TRUE(error.result && error.result->ok());
  EXPECT_EQ((*error.result)->result_int(), 500u);
  // A call that may have reached the app and timed out is not repeated either.
  auto slow = callWith(policy, {deadlineExceededError("timed out")});
  EXPECT_EQ(slow.attempts, 1);
  // Nor is an app that name resolution does not know.
  auto unknown = callWith(policy, {notFoundError("app id ghost not found")});
  EXPECT_EQ(unknown.attempts, 1);
}

TEST(BuiltInServiceRetriesTest, AResiliencyResourceCanRedefineThem) {
  runtime::Resource r;
  r.source = "res.yaml";
  r.kind = "Resiliency";
  r.name = "r";
  r.node = YAML::Load(R"(
spec:
  policies:
    retries:
      DaprBuiltInServiceRetries: {policy: constant, duration: 10ms, maxRetries: 1}
)");
  auto res = Resiliency::load({r}, "app");
  ASSERT_TRUE(res.ok()) << res.status().message();
  auto policy = Resiliency::builtInServiceRetries(res->get());
  ASSERT_TRUE(policy && policy->retry);
  EXPECT_EQ(policy->retry->max_retries, 1);
  auto down = callWith(policy, {unavailableError("refused")});
  EXPECT_EQ(down.attempts, 2);
  // Still only for an unreachable sidecar.
  EXPECT_EQ(callWith(policy, {outrigger::http::makeResponse(503)}).attempts, 1);
}

}  // namespace
}  // namespace outrigger::sidecar::resiliency
