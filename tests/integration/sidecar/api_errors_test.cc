// Bad input through the real outriggerd: each malformed request gets Dapr's status and errorCode,
// bad files and flags stop start-up with a message naming them, and nothing is lost afterwards.

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "common/json/json.h"
#include "tests/framework/test_app.h"
#include "tests/integration/sidecar/loopback.h"

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
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envsecrets}
spec: {type: secretstores.local.env, version: v1, metadata: []}
)";

std::string withDir(std::string text, const std::string& dir) {
  for (size_t p; (p = text.find("@DIR@")) != std::string::npos;) text.replace(p, 5, dir);
  return text;
}

// The port outriggerd reported in its log after `prefix`; 0 if none.
int portFromLog(const std::string& log, const std::string& prefix) {
  auto pos = log.find(prefix);
  return pos == std::string::npos ? 0 : std::atoi(log.c_str() + pos + prefix.size());
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
      // daprd cuts a body at --max-body-size and the JSON read fails: 400, not 413.
      {verb::post, "/v1.0/state/statestore", "[" + std::string(2000, ' ') + "]", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore/transaction",
       R"({"operations":[)" + std::string(2000, ' ') + "]}", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore", R"([{"key":"a","metadata":"x"}])", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore/bulk", "not json", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore/transaction", "[", 400, "ERR_MALFORMED_REQUEST"},
      {verb::post, "/v1.0/state/statestore/transaction",
       R"({"operations":[{"operation":"upsert","request":{"key":1}}]})", 400,
       "ERR_MALFORMED_REQUEST"},
      {verb::get, "/v1.0/secrets/nostore/a", "", 401, "ERR_SECRET_STORE_NOT_FOUND"},
      {verb::get, "/v1.0/secrets/nostore/bulk", "", 401, "ERR_SECRET_STORE_NOT_FOUND"},
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

TEST_F(ApiErrorsTest, TtlBelowMinusOneIsMalformed) {
  // Every built-in state store has TTL, so a store without it is covered by the unit tests
  // (tests/sidecar/api/universal/state_test.cc); here a TTL below -1 is malformed.
  auto res = sidecar_.request(verb::post, "/v1.0/state/memstore",
                              R"([{"key":"a","value":1,"metadata":{"ttlInSeconds":"-5"}}])");
  EXPECT_EQ(res.result_int(), 400u) << res.body();
}

// The series of the metrics text: lines that are not comments.
std::vector<std::string> series(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line.substr(0, line.rfind(' ')));
  }
  return out;
}

TEST_F(ApiErrorsTest, MetricsStayBoundedAcrossDistinctKeys) {
  int metrics_port = portFromLog(sidecar_.log(), "metrics listening on port ");
  ASSERT_GT(metrics_port, 0) << sidecar_.log();
  auto scrape = [&] {
    auto res = sendToLoopback(metrics_port, http::Request{verb::get, "/metrics", 11});
    EXPECT_EQ(res.result_int(), 200u);
    return res.body();
  };
  auto traffic = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      std::string key = "key-" + std::to_string(i);
      sidecar_.request(verb::post, "/v1.0/state/memstore",
                       R"([{"key":")" + key + R"(","value":1})");
      sidecar_.request(verb::get, "/v1.0/state/memstore/" + key);
      sidecar_.request(verb::delete_, "/v1.0/state/memstore/" + key);
      sidecar_.request(verb::get, "/unrouted/" + key);  // the invocation fallback
    }
  };
  traffic(0, 20);
  auto before = series(scrape());
  traffic(20, 220);
  std::string text = scrape();
  auto after = series(text);
  // New keys add no series: labels carry the route template, never the key.
  EXPECT_EQ(after.size(), before.size());
  EXPECT_EQ(text.find("key-"), std::string::npos);
  EXPECT_NE(text.find("/v1.0/state/{storeName}/{key}"), std::string::npos) << text.substr(0, 3000);
  EXPECT_EQ(sidecar_.log().find("key-219"), std::string::npos);  // nothing per key logged either
}

TEST_F(ApiErrorsTest, EtagMismatchesAreConflicts) {
  ASSERT_EQ(sidecar_.request(verb::post, "/v1.0/state/statestore", R"([{"key":"e","value":1}])")
                .result_int(),
            204u);
  auto got = sidecar_.request(verb::get, "/v1.0/state/statestore/e");
  ASSERT_EQ(got.result_int(), 200u);
  std::string etag(got[http::bhttp::field::etag]);
  ASSERT_FALSE(etag.empty());
  ASSERT_EQ(sidecar_
                .request(verb::post, "/v1.0/state/statestore",
                         R"([{"key":"e","value":2,"etag":")" + etag + R"("}])")
                .result_int(),
            204u);
  // The etag is stale now: saving or deleting with it is a conflict, and the value stays.
  auto stale_save = sidecar_.request(verb::post, "/v1.0/state/statestore",
                                     R"([{"key":"e","value":3,"etag":")" + etag + R"("}])");
  EXPECT_EQ(stale_save.result_int(), 409u) << stale_save.body();
  EXPECT_NE(stale_save.body().find("\"errorCode\":\"ERR_STATE_SAVE\""), std::string::npos);
  http::Request del{verb::delete_, "/v1.0/state/statestore/e", 11};
  del.set(http::bhttp::field::if_match, etag);
  auto stale_delete = sendToLoopback(sidecar_.httpPort(), del);
  EXPECT_EQ(stale_delete.result_int(), 409u) << stale_delete.body();
  EXPECT_NE(stale_delete.body().find("\"errorCode\":\"ERR_STATE_DELETE\""), std::string::npos);
  // first-write without an etag on an existing key is a conflict too.
  auto first =
      sidecar_.request(verb::post, "/v1.0/state/statestore",
                       R"([{"key":"e","value":4,"options":{"concurrency":"first-write"}}])");
  EXPECT_EQ(first.result_int(), 409u) << first.body();
  got = sidecar_.request(verb::get, "/v1.0/state/statestore/e");
  EXPECT_EQ(got.body(), "2");
  // With the current etag the delete goes through.
  del.set(http::bhttp::field::if_match, got[http::bhttp::field::etag]);
  EXPECT_EQ(sendToLoopback(sidecar_.httpPort(), del).result_int(), 204u);
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/statestore/e").result_int(), 204u);
}

TEST_F(ApiErrorsTest, PathParametersAreQueryUnescaped) {
  // As daprd: '+' in a path parameter reads as a space, "%2B" as a plus, "%2F" as a slash.
  ASSERT_EQ(sidecar_
                .request(verb::post, "/v1.0/state/memstore",
                         R"([{"key":"a b","value":"space"},{"key":"a+b","value":"plus"},)"
                         R"({"key":"a/b","value":"slash"}])")
                .result_int(),
            204u);
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/memstore/a+b").body(), R"("space")");
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/memstore/a%20b").body(), R"("space")");
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/memstore/a%2Bb").body(), R"("plus")");
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/memstore/a%2Fb").body(), R"("slash")");
  EXPECT_EQ(sidecar_.request(verb::delete_, "/v1.0/state/memstore/a%2Bb").result_int(), 204u);
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/memstore/a%2Bb").result_int(), 204u);
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/memstore/a+b").body(), R"("space")");
}

TEST_F(ApiErrorsTest, MetadataShowsCapabilitiesAndExtendedKeys) {
  auto put = sidecar_.request(verb::put, "/v1.0/metadata/team", "payments", "text/plain");
  EXPECT_EQ(put.result_int(), 204u) << put.body();
  auto res = sidecar_.request(verb::get, "/v1.0/metadata");
  ASSERT_EQ(res.result_int(), 200u);
  auto doc = json::parse(res.body());
  ASSERT_TRUE(doc.ok()) << res.body();
  EXPECT_STREQ((*doc)["id"].GetString(), "errs");
  std::map<std::string, std::vector<std::string>> caps;
  for (const auto& c : (*doc)["components"].GetArray()) {
    auto& list = caps[c["name"].GetString()];
    if (c.HasMember("capabilities")) {
      for (const auto& cap : c["capabilities"].GetArray()) list.push_back(cap.GetString());
    }
  }
  ASSERT_EQ(caps.size(), 4u) << res.body();
  for (const char* store : {"statestore", "memstore"}) {
    for (const char* cap : {"ETAG", "TRANSACTIONAL", "TTL"}) {
      EXPECT_NE(std::find(caps[store].begin(), caps[store].end(), cap), caps[store].end())
          << store << " lacks " << cap << ": " << res.body();
    }
  }
  EXPECT_NE(std::find(caps["files"].begin(), caps["files"].end(), "OUTPUT_BINDING"),
            caps["files"].end());
  ASSERT_TRUE((*doc)["extended"].HasMember("team")) << res.body();
  EXPECT_STREQ((*doc)["extended"]["team"].GetString(), "payments");
  // The runtime's version key cannot be overwritten, nor shown twice.
  ASSERT_EQ(sidecar_.request(verb::put, "/v1.0/metadata/daprRuntimeVersion", "9.9", "text/plain")
                .result_int(),
            204u);
  res = sidecar_.request(verb::get, "/v1.0/metadata");
  doc = json::parse(res.body());
  ASSERT_TRUE(doc.ok()) << res.body();
  int versions = 0;
  for (const auto& m : (*doc)["extended"].GetObject()) {
    if (std::string(m.name.GetString()) == "daprRuntimeVersion") {
      ++versions;
      EXPECT_STREQ(m.value.GetString(), (*doc)["runtimeVersion"].GetString());
    }
  }
  EXPECT_EQ(versions, 1) << res.body();
}

TEST(NoComponents, StateAndSecretsAreNotConfigured) {
  std::string dir = makeTempDir("outrigger-empty");
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "bare", "--resources-path", dir})) << sidecar.log();
  struct Case {
    verb method;
    std::string target;
    std::string body;
    unsigned status;
    std::string error_code;
  };
  const std::vector<Case> cases = {
      {verb::post, "/v1.0/state/any", R"([{"key":"a","value":1}])", 500,
       "ERR_STATE_STORE_NOT_CONFIGURED"},
      {verb::get, "/v1.0/state/any/a", "", 500, "ERR_STATE_STORE_NOT_CONFIGURED"},
      {verb::delete_, "/v1.0/state/any/a", "", 500, "ERR_STATE_STORE_NOT_CONFIGURED"},
      {verb::post, "/v1.0/state/any/bulk", R"({"keys":["a"]})", 500,
       "ERR_STATE_STORE_NOT_CONFIGURED"},
      {verb::post, "/v1.0/state/any/transaction", R"({"operations":[]})", 500,
       "ERR_STATE_STORE_NOT_CONFIGURED"},
      {verb::get, "/v1.0/secrets/any/a", "", 500, "ERR_SECRET_STORES_NOT_CONFIGURED"},
  };
  for (const auto& c : cases) {
    auto res = sidecar.request(c.method, c.target, c.body);
    EXPECT_EQ(res.result_int(), c.status) << c.target << " -> " << res.body();
    EXPECT_NE(res.body().find("\"errorCode\":\"" + c.error_code + "\""), std::string::npos)
        << c.target << " -> " << res.body();
  }
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/healthz").result_int(), 204u);
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

// Some single line of the log holds every needle: one message names file, component and field.
bool oneLineHasAll(const std::string& log, const std::vector<std::string>& needles) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return line.find(n) != std::string::npos; })) {
      return true;
    }
  }
  return false;
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
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.in-memory}\n",
       {"bad.yaml", "component 's'", "spec.version"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nspec: {type: state.in-memory, version: "
       "v1}\n",
       {"bad.yaml", "metadata"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.sqlite, version: v1, metadata: [{name: timeout, value: soon}]}\n",
       {"bad.yaml", "component 's'", "'timeout'", "soon"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: [unclosed\n",
       {"bad.yaml", "invalid YAML"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.in-memory, version: v1, "
       "metadata: [{name: keyPrefix, secretKeyRef: {name: x}}]}\n",
       {"bad.yaml", "keyPrefix", "auth.secretStore"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.in-memory, version: v1, metadata: [{name: actorStateStore, value: maybe}]}\n",
       {"bad.yaml", "component 's'", "'actorStateStore'", "maybe"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.sqlite, version: v1, metadata: [{name: keyPrefix, value: \"{appid}\"}]}\n",
       {"bad.yaml", "component 's'", "'keyPrefix'", "{appid}"}},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\nspec: {type: "
       "state.in-memory, version: v1, metadata: [{name: keyPrefix, value: \"my app\"}]}\n",
       {"bad.yaml", "component 's'", "'keyPrefix'", "my app"}},
  };
  for (const auto& c : cases) {
    writeFile(dir + "/bad.yaml", c.file);
    std::string out;
    EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--resources-path", dir}, &out), 1)
        << out;
    EXPECT_TRUE(oneLineHasAll(out, c.needles)) << out;
  }
  // Two files holding the same component name: the second file is named.
  writeFile(dir + "/bad.yaml",
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: twin}\nspec: {type: "
            "state.in-memory, version: v1}\n");
  writeFile(dir + "/bad2.yaml",
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: twin}\nspec: {type: "
            "state.in-memory, version: v1}\n");
  std::string out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--resources-path", dir}, &out), 1);
  EXPECT_TRUE(oneLineHasAll(out, {"bad2.yaml", "component 'twin'", "duplicate"})) << out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--bogus-flag"}, &out), 1);
  EXPECT_NE(out.find("bogus-flag"), std::string::npos) << out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--max-body-size", "lots"}, &out), 1);
  EXPECT_NE(out.find("max-body-size"), std::string::npos) << out;
  EXPECT_EQ(SidecarProcess::runToExit({"-app-id", "x", "-log-level", "loud"}, &out), 1);
  EXPECT_NE(out.find("log-level"), std::string::npos) << out;
  // A prefix of a flag is not that flag.
  EXPECT_EQ(SidecarProcess::runToExit({"--app-i", "x"}, &out), 1);
  EXPECT_NE(out.find("'--app-i'"), std::string::npos) << out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--resources", dir}, &out), 1);
  EXPECT_NE(out.find("'--resources'"), std::string::npos) << out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--conf", "f.yaml"}, &out), 1);
  EXPECT_NE(out.find("'--conf'"), std::string::npos) << out;
  // "--log-as-json false" would silently end daprd's flag parsing; outriggerd refuses it.
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--log-as-json", "false"}, &out), 1);
  EXPECT_NE(out.find("--log-as-json=false"), std::string::npos) << out;
}

}  // namespace
}  // namespace outrigger::testing
