// Bad input through the real outriggerd: each malformed request gets Dapr's status and errorCode,
// bad files and flags stop start-up with a message naming them, and nothing is lost afterwards.

#include <gtest/gtest.h>

#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

const char* kResources = R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec: {type: state.sqlite, version: v1, metadata: [{name: connectionString, value: "@DIR@/s.db"}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: memstore}
spec: {type: state.in-memory, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: files}
spec: {type: bindings.localstorage, version: v1, metadata: [{name: rootPath, value: "@DIR@/files"}]}
)";

std::string withDir(std::string text, const std::string& dir) {
  for (size_t p; (p = text.find("@DIR@")) != std::string::npos;) text.replace(p, 5, dir);
  return text;
}

class ApiErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("outrigger-errors");
    writeFile(dir_ + "/c.yaml", withDir(kResources, dir_));
    ASSERT_TRUE(
        sidecar_.start({"--app-id", "errs", "--resources-path", dir_, "--max-body-size", "1Ki"}))
        << sidecar_.log();
  }
  std::string dir_;
  SidecarProcess sidecar_;
};

TEST_F(ApiErrorsTest, MalformedRequestsGetDaprErrors) {
  struct Case {
    verb method;
    std::string target;
    std::string body;
    unsigned status;
    std::string error_code;
  };
  const std::vector<Case> cases = {
      {verb::post, "/v1.0/state/statestore", "{not json", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"({"key":"a"})", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":1,"value":1}])", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"value":1}])", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":"a","metadata":{"x":1}}])", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":"a","options":"fast"}])", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":"a","options":{"concurrency":"x"}}])", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":"a||b","value":1}])", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore",
       R"([{"key":"a","value":1,"metadata":{"ttlInSeconds":"soon"}}])", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":"a","value":1,"etag":"not-a-version"}])",
       400, "ERR_STATE_SAVE"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":"a","value":1,"etag":"12345"}])", 409,
       "ERR_STATE_SAVE"},
      {verb::post, "/v1.0/state/nostore", R"([{"key":"a","value":1}])", 400,
       "ERR_STATE_STORE_NOT_FOUND"},
      {verb::get, "/v1.0/state/nostore/a", "", 400, "ERR_STATE_STORE_NOT_FOUND"},
      {verb::post, "/v1.0/state/statestore/bulk", R"({"keys":"a"})", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore/bulk", R"({"keys":[1]})", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore/transaction", R"({"operations":{}})", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore/transaction",
       R"({"operations":[{"operation":"merge","request":{"key":"a"}}]})", 400,
       "ERR_NOT_SUPPORTED_STATE_OPERATION"},
      {verb::post, "/v1.0/state/statestore", "[" + std::string(2000, ' ') + "]", 413,
       "ERR_BODY_TOO_LARGE"},
      {verb::get, "/v1.0/secrets/nostore/a", "", 500, "ERR_SECRET_STORES_NOT_CONFIGURED"},
      {verb::post, "/v1.0/publish/pubsub/t", "{}", 400, "ERR_PUBSUB_NOT_CONFIGURED"},
      {verb::post, "/v1.0/bindings/files", "{bad", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/bindings/nobinding", R"({"operation":"create"})", 500,
       "ERR_INVOKE_OUTPUT_BINDING"},
      {verb::post, "/v1.0/bindings/files", R"({"operation":"get","metadata":{"fileName":"../x"}})",
       500, "ERR_INVOKE_OUTPUT_BINDING"},
      {verb::get, "/some/path", "", 404, "ERR_DIRECT_INVOKE"},
      {verb::get, "/v1.0/invoke/nobody/method/x", "", 500, "ERR_DIRECT_INVOKE"},
  };
  for (const auto& c : cases) {
    auto res = sidecar_.request(c.method, c.target, c.body);
    EXPECT_EQ(res.result_int(), c.status)
        << c.target << " " << c.body.substr(0, 80) << " -> " << res.body();
    EXPECT_NE(res.body().find("\"errorCode\":\"" + c.error_code + "\""), std::string::npos)
        << c.target << " " << c.body.substr(0, 80) << " -> " << res.body();
  }
  // A bad escape in a path parameter: 400, plain text, as Dapr's router does.
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/statestore/%zz").result_int(), 400u);
  // Nothing crashed or got lost: the sidecar still saves and reads.
  EXPECT_EQ(
      sidecar_.request(verb::post, "/v1.0/state/statestore", R"([{"key":"ok","value":{"v":1}}])")
          .result_int(),
      204u);
  auto got = sidecar_.request(verb::get, "/v1.0/state/statestore/ok");
  EXPECT_EQ(got.result_int(), 200u);
  EXPECT_EQ(got.body(), R"({"v":1})");
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/statestore/missing").result_int(), 204u);
}

TEST_F(ApiErrorsTest, TtlOnAStoreWithoutTtlIsRefused) {
  // state.sqlite and in-memory support TTL; a negative TTL below -1 is malformed.
  auto res = sidecar_.request(verb::post, "/v1.0/state/memstore",
                              R"([{"key":"a","value":1,"metadata":{"ttlInSeconds":"-5"}}])");
  EXPECT_EQ(res.result_int(), 400u) << res.body();
}

TEST_F(ApiErrorsTest, MetricsStayBoundedAcrossDistinctKeys) {
  for (int i = 0; i < 200; ++i)
    sidecar_.request(verb::get, "/v1.0/state/memstore/key-" + std::to_string(i));
  auto md = sidecar_.request(verb::get, "/v1.0/metadata");
  EXPECT_EQ(md.result_int(), 200u);
  EXPECT_EQ(sidecar_.log().find("key-199"), std::string::npos);  // nothing per key logged either
}

TEST(StartupErrors, BadFilesAndFlagsExitWithAMessage) {
  std::string dir = makeTempDir("outrigger-bad");
  struct Case {
    std::string file;
    std::vector<std::string> needles;
  } cases[] = {
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.nope, version: v1}\n",
       {"bad.yaml", "component 's'", "spec.type"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.redis, version: v1, metadata: []}\n",
       {"bad.yaml", "component 's'", "redisHost"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {version: v1}\n",
       {"bad.yaml", "spec.type"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: [unclosed\n",
       {"bad.yaml", "invalid YAML"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.in-memory, version: v1, "
       "metadata: [{name: keyPrefix, secretKeyRef: {name: x}}]}\n",
       {"bad.yaml", "keyPrefix", "auth.secretStore"}},
  };
  for (const auto& c : cases) {
    writeFile(dir + "/bad.yaml", c.file);
    std::string out;
    EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--resources-path", dir}, &out), 1)
        << out;
    for (const auto& n : c.needles)
      EXPECT_NE(out.find(n), std::string::npos) << n << " in: " << out;
  }
  std::string out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--bogus-flag"}, &out), 1);
  EXPECT_NE(out.find("bogus-flag"), std::string::npos) << out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--max-body-size", "lots"}, &out), 1);
  EXPECT_NE(out.find("max-body-size"), std::string::npos) << out;
  EXPECT_EQ(SidecarProcess::runToExit({"-app-id", "x", "-log-level", "loud"}, &out), 1);
  EXPECT_NE(out.find("log-level"), std::string::npos) << out;
}

}  // namespace
}  // namespace outrigger::testing
