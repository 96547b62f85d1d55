// Hostile bytes at the API edge, through the real outriggerd: CR LF that would write HTTP heads
// (bindings.localstorage's fileName, bindings.http's metadata and path), NUL bytes that would cut
// names short past a check (secret scopes, state keys), unbounded extended metadata, and the
// health checks' token exemption after path cleaning.

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
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
metadata: {name: files}
spec: {type: bindings.localstorage, version: v1, metadata: [{name: rootPath, value: "@DIR@/files"}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: web}
spec: {type: bindings.http, version: v1, metadata: [{name: url, value: "http://127.0.0.1:@APP@/api"}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envsecrets}
spec: {type: secretstores.local.env, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec: {type: pubsub.in-memory, version: v1, metadata: []}
)";

const char* kConfiguration = R"(apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: edge}
spec:
  secrets:
    scopes:
    - {storeName: envsecrets, deniedSecrets: [EDGE_PROBE_SECRET]}
)";

std::string substitute(std::string text, const std::string& from, const std::string& to) {
  for (size_t p; (p = text.find(from)) != std::string::npos;) text.replace(p, from.size(), to);
  return text;
}

void expectError(const http::Response& res, unsigned status, const std::string& code,
                 const std::string& what) {
  EXPECT_EQ(res.result_int(), status) << what << " -> " << res.body();
  EXPECT_NE(res.body().find("\"errorCode\":\"" + code + "\""), std::string::npos)
      << what << " -> " << res.body();
}

class EdgeInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("outrigger-edge");
    std::filesystem::create_directories(dir_ + "/res");
    writeFile(dir_ + "/res/c.yaml", substitute(substitute(kResources, "@DIR@", dir_), "@APP@",
                                               std::to_string(app_.port())));
    writeFile(dir_ + "/config.yaml", kConfiguration);
    ::setenv("EDGE_PROBE_SECRET", "abc=hidden-tail", 1);
    ::setenv("EDGE_OPEN_SECRET", "open", 1);
    bool started = sidecar_.start(
        {"--app-id", "edge", "--resources-path", dir_ + "/res", "--config", dir_ + "/config.yaml"});
    ::unsetenv("EDGE_PROBE_SECRET");
    ::unsetenv("EDGE_OPEN_SECRET");
    ASSERT_TRUE(started) << sidecar_.log();
  }
  std::string dir_;
  TestApp app_;
  SidecarProcess sidecar_;
};

TEST_F(EdgeInputTest, LocalStorageFileNameCannotSplitTheResponse) {
  auto res = sidecar_.request(
      verb::post, "/v1.0/bindings/files",
      R"({"operation":"create","data":"x","metadata":{"fileName":"a.txt\r\nSet-Cookie: x=1"}})");
  expectError(res, 400, "ERR_INVOKE_OUTPUT_BINDING", "fileName with CR LF");
  EXPECT_EQ(res.find(http::bhttp::field::set_cookie), res.end());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/files"));
  // A plain name still works and is echoed.
  res = sidecar_.request(verb::post, "/v1.0/bindings/files",
                         R"({"operation":"create","data":"x","metadata":{"fileName":"a.txt"}})");
  EXPECT_EQ(res.result_int(), 204u) << res.body();
  EXPECT_EQ(res["metadata.fileName"], "a.txt");
}

TEST_F(EdgeInputTest, LocalStorageListNamesLinksWithoutRevealingTargets) {
  std::string outside = dir_ + "/outside";
  std::filesystem::create_directories(outside);
  writeFile(outside + "/secret.txt", "outside");
  writeFile(dir_ + "/files/real.txt", "inside");
  std::filesystem::create_symlink(dir_ + "/files/real.txt", dir_ + "/files/alias.txt");
  std::filesystem::create_symlink(outside + "/secret.txt", dir_ + "/files/leak.txt");
  std::filesystem::create_symlink(outside + "/new.txt", dir_ + "/files/dangling.txt");
  auto list = sidecar_.request(verb::post, "/v1.0/bindings/files", R"({"operation":"list"})");
  ASSERT_EQ(list.result_int(), 200u) << list.body();
  auto doc = json::parse(list.body());
  ASSERT_TRUE(doc.ok() && doc->IsArray()) << list.body();
  std::vector<std::string> names;
  for (const auto& v : doc->GetArray()) names.push_back(v.GetString());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"alias.txt", "real.txt"})) << list.body();
  EXPECT_EQ(list.body().find(outside), std::string::npos) << list.body();
  // Through a link out of rootPath nothing is read or written.
  auto leak = sidecar_.request(verb::post, "/v1.0/bindings/files",
                               R"({"operation":"get","metadata":{"fileName":"leak.txt"}})");
  expectError(leak, 500, "ERR_INVOKE_OUTPUT_BINDING", "get through a link");
  auto write = sidecar_.request(
      verb::post, "/v1.0/bindings/files",
      R"({"operation":"create","data":"planted","metadata":{"fileName":"dangling.txt"}})");
  expectError(write, 500, "ERR_INVOKE_OUTPUT_BINDING", "create through a dangling link");
  EXPECT_FALSE(std::filesystem::exists(outside + "/new.txt"));
}

TEST_F(EdgeInputTest, HttpBindingMetadataCannotSmuggleARequest) {
  const std::vector<std::string> bodies = {
      R"({"operation":"get","metadata":{"path":"a HTTP/1.1\r\nHost: x\r\n\r\nDELETE /smuggled"}})",
      R"({"operation":"post","data":"x","metadata":{"X-Token":"a\r\nX-Injected: 1"}})",
      R"({"operation":"post","data":"x","metadata":{"Bad Name":"v"}})",
  };
  for (const auto& body : bodies) {
    expectError(sidecar_.request(verb::post, "/v1.0/bindings/web", body), 400,
                "ERR_INVOKE_OUTPUT_BINDING", body);
  }
  EXPECT_TRUE(app_.received().empty());
  auto ok = sidecar_.request(verb::post, "/v1.0/bindings/web",
                             R"({"operation":"get","metadata":{"path":"fine","X-Token":"t"}})");
  EXPECT_EQ(ok.result_int(), 200u) << ok.body();
  auto got = app_.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/api/fine");
  EXPECT_EQ(got[0].headers["X-Token"], "t");
}

TEST_F(EdgeInputTest, NulCannotSlipPastSecretScopes) {
  expectError(sidecar_.request(verb::get, "/v1.0/secrets/envsecrets/EDGE_PROBE_SECRET"), 403,
              "ERR_PERMISSION_DENIED", "the denied secret");
  auto nul = sidecar_.request(verb::get, "/v1.0/secrets/envsecrets/EDGE_PROBE_SECRET%00");
  expectError(nul, 400, "ERR_SECRET_GET", "the denied secret with a NUL");
  EXPECT_EQ(nul.body().find("hidden"), std::string::npos) << nul.body();
  // getenv matches a name up to '=': "NAME=abc" must not read the tail of NAME's value.
  auto eq = sidecar_.request(verb::get, "/v1.0/secrets/envsecrets/EDGE_PROBE_SECRET%3Dabc");
  EXPECT_EQ(eq.result_int(), 204u) << eq.body();
  EXPECT_EQ(eq.body().find("hidden"), std::string::npos) << eq.body();
  expectError(sidecar_.request(verb::get, "/v1.0/secrets/envsecrets%00/EDGE_OPEN_SECRET"), 400,
              "ERR_SECRET_GET", "a store name with a NUL");
  expectError(
      sidecar_.request(verb::get, "/v1.0/secrets/envsecrets/EDGE_OPEN_SECRET?metadata.a%00=1"), 400,
      "ERR_SECRET_GET", "a metadata key with a NUL");
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/secrets/envsecrets/EDGE_OPEN_SECRET").body(),
            R"({"EDGE_OPEN_SECRET":"open"})");
}

TEST_F(EdgeInputTest, NulInStateKeysIsMalformedEverywhere) {
  struct Case {
    verb method;
    std::string target;
    std::string body;
  };
  const std::vector<Case> cases = {
      {verb::post, "/v1.0/state/statestore",
       R"([{"key":"nul\u0000x","value":1},{"key":"nul\u0000y","value":2}])"},
      {verb::get, "/v1.0/state/statestore/nul%00x", ""},
      {verb::delete_, "/v1.0/state/statestore/nul%00x", ""},
      {verb::post, "/v1.0/state/statestore/bulk", R"({"keys":["nul\u0000x"]})"},
      {verb::post, "/v1.0/state/statestore/transaction",
       R"({"operations":[{"operation":"upsert","request":{"key":"nul\u0000x","value":1}}]})"},
      {verb::post, "/v1.0/state/statestore",
       R"([{"key":"k","value":1,"metadata":{"ttl\u0000InSeconds":"5"}}])"},
      {verb::get, "/v1.0/state/statestore/k?metadata.a%00b=1", ""},
      {verb::get, "/v1.0/state/statestore%00/k", ""},
  };
  for (const auto& c : cases) {
    expectError(sidecar_.request(c.method, c.target, c.body), 400, "ERR_MALFORMED_REQUEST",
                c.target + " " + c.body);
  }
  // Nothing was stored under the cut-short key.
  EXPECT_EQ(sidecar_.request(verb::get, "/v1.0/state/statestore/nul").result_int(), 204u);
}

TEST_F(EdgeInputTest, NulInPubSubNamesAndMetadataIsRefused) {
  // (The topic is the path's raw rest, never percent-decoded, so it cannot carry a NUL.)
  expectError(sidecar_.request(verb::post, "/v1.0/publish/pub%00sub/topic", "{}"), 400,
              "ERR_MALFORMED_REQUEST", "a pubsub name with a NUL");
  expectError(sidecar_.request(verb::post, "/v1.0/publish/pubsub/topic?metadata.k%00=v", "{}"), 400,
              "ERR_PUBSUB_REQUEST_METADATA", "a metadata key with a NUL");
  EXPECT_EQ(sidecar_.request(verb::post, "/v1.0/publish/pubsub/topic", "{}").result_int(), 204u);
}

TEST_F(EdgeInputTest, ExtendedMetadataIsBounded) {
  auto put = [&](const std::string& key, const std::string& value) {
    return sidecar_.request(verb::put, "/v1.0/metadata/" + key, value, "text/plain");
  };
  EXPECT_EQ(put("small", std::string(4096, 'v')).result_int(), 204u);
  expectError(put("big", std::string(4097, 'v')), 400, "ERR_BAD_REQUEST", "a 4 KiB + 1 value");
  expectError(put(std::string(257, 'k'), "v"), 400, "ERR_BAD_REQUEST", "a 257-byte key");
  // 64 KiB in all: with "small", fifteen more values of 4000 bytes fit, the next does not.
  int accepted = 0;
  for (int i = 0; i < 20; ++i) {
    auto res = put("label" + std::to_string(i), std::string(4000, 'v'));
    if (res.result_int() == 204u) {
      ++accepted;
    } else {
      expectError(res, 400, "ERR_BAD_REQUEST", "past the total");
    }
  }
  EXPECT_EQ(accepted, 15);
  // Replacing a value counts it once: the same key can be rewritten at the limit.
  EXPECT_EQ(put("label0", std::string(4000, 'w')).result_int(), 204u);
  auto md = sidecar_.request(verb::get, "/v1.0/metadata");
  ASSERT_EQ(md.result_int(), 200u);
  EXPECT_LT(md.body().size(), 70u * 1024);
  EXPECT_EQ(md.body().find("big"), std::string::npos);
}

// With DAPR_API_TOKEN and a public port.
class EdgeTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("DAPR_API_TOKEN", "edge-token", 1);
    // start() retries its own ports when one was taken meanwhile; the public port is ours to retry.
    bool started = false;
    for (int attempt = 0; attempt < 3; ++attempt) {
      public_port_ = freePort();
      started = sidecar_.start({"--app-id", "edge-token", "--resources-path",
                                makeTempDir("outrigger-edge-token"), "--dapr-public-port",
                                std::to_string(public_port_)});
      if (started || sidecar_.log().find("Address already in use") == std::string::npos) break;
      sidecar_.stop(SIGKILL);
    }
    ::unsetenv("DAPR_API_TOKEN");
    ASSERT_TRUE(started) << sidecar_.log();
  }
  http::Response call(int port, verb method, const std::string& target, bool token,
                      const std::string& body = "") {
    http::Request req{method, target, 11};
    if (token) req.set("dapr-api-token", "edge-token");
    req.body() = body;
    return sendToLoopback(port, std::move(req));
  }
  int public_port_ = 0;
  SidecarProcess sidecar_;
};

TEST_F(EdgeTokenTest, HealthChecksAreExemptAfterCleaningAndNothingElseIs) {
  const int port = sidecar_.httpPort();
  for (const char* path : {"/v1.0/healthz", "/v1.0/healthz/", "/v1.0/healthz/outbound",
                           "/v1.0/healthz/outbound/", "/v1.0/./healthz"}) {
    EXPECT_EQ(call(port, verb::get, path, false).result_int(), 204u) << path;
  }
  for (const char* path : {"/v1.0/healthzX", "/v1.0/healthz/../metadata", "/v1.0/healthz/../state",
                           "/v1.0/healthz/x", "/v1.0/healthz/outbound/x", "/v1.0/metadata"}) {
    auto res = call(port, verb::get, path, false);
    EXPECT_EQ(res.result_int(), 401u) << path << " -> " << res.body();
  }
  EXPECT_EQ(call(port, verb::post, "/v1.0/healthz/", false).result_int(), 401u);
  EXPECT_EQ(call(port, verb::get, "/v1.0/metadata", true).result_int(), 200u);
}

TEST_F(EdgeTokenTest, ThePublicPortNeedsTheTokenToWriteMetadata) {
  auto denied = call(public_port_, verb::put, "/v1.0/metadata/team", false, "x");
  EXPECT_EQ(denied.result_int(), 401u) << denied.body();
  EXPECT_EQ(call(public_port_, verb::put, "/v1.0/metadata/team", true, "payments").result_int(),
            204u);
  // Reading metadata and health stay open there, as in daprd.
  auto md = call(public_port_, verb::get, "/v1.0/metadata", false);
  ASSERT_EQ(md.result_int(), 200u) << md.body();
  EXPECT_NE(md.body().find(R"("team":"payments")"), std::string::npos) << md.body();
  EXPECT_EQ(call(public_port_, verb::get, "/v1.0/healthz/", false).result_int(), 204u);
}

}  // namespace
}  // namespace outrigger::testing
