// Configuration (--config) through the real outriggerd: secret scopes, API allow/deny lists,
// features in the metadata API, API logging, access control between two sidecars, the Kubernetes
// lookup by name, start-up failures that name the file and the field, and
// --dapr-block-shutdown-duration.

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/json/json.h"
#include "tests/framework/checks.h"
#include "tests/framework/process.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

// The top-level members of a JSON object answer, sorted.
std::vector<std::string> keysOf(const http::Response& res) {
  std::vector<std::string> out;
  auto doc = json::parse(res.body());
  EXPECT_TRUE(doc.ok() && doc->IsObject()) << res.body();
  if (!doc.ok() || !doc->IsObject()) return out;
  for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
    out.push_back(it->name.GetString());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string configuration(const std::string& spec, const std::string& name = "appconfig") {
  return "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: " + name +
         "\nspec:\n" + spec;
}

// Two local.file stores over one secrets file.
void writeSecretStores(const std::string& dir, const std::string& data) {
  writeFile(data + "/secrets.json", R"({"a": "1", "b": "2", "c": "3"})");
  std::string components;
  for (const char* name : {"scoped", "strict", "open"}) {
    components += std::string(components.empty() ? "" : "---\n") +
                  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: " + name +
                  "}\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata: "
                  "[{name: secretsFile, value: \"" +
                  data + "/secrets.json\"}]\n";
  }
  components +=
      "---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\n"
      "spec: {type: state.in-memory, version: v1}\n";
  writeFile(dir + "/components.yaml", components);
}

// A sidecar over the secret stores above with this Configuration spec; false if it did not start.
bool startWithConfig(SidecarProcess& sidecar, const std::string& app_id, const std::string& spec,
                     std::vector<std::string> extra = {}) {
  std::string dir = makeTempDir("outrigger-cfg-res");
  std::string data = makeTempDir("outrigger-cfg-data");
  writeSecretStores(dir, data);
  writeFile(data + "/config.yaml", configuration(spec));
  std::vector<std::string> args = {"--app-id", app_id,     "--resources-path",
                                   dir,        "--config", data + "/config.yaml"};
  args.insert(args.end(), extra.begin(), extra.end());
  return sidecar.start(args);
}

TEST(ConfigurationIntegration, SecretScopesDenyKeysAndFilterBulk) {
  SidecarProcess sidecar;
  ASSERT_TRUE(startWithConfig(sidecar, "scopes", R"(  secrets:
    scopes:
    - {storeName: scoped, deniedSecrets: [b]}
    - {storeName: strict, defaultAccess: deny, allowedSecrets: [a, missing]}
)")) << sidecar.log();

  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/secrets/scoped/a").body(), R"({"a":"1"})");
  auto denied = sidecar.request(verb::get, "/v1.0/secrets/scoped/b");
  expectErrorCode(denied, 403, "ERR_PERMISSION_DENIED");
  EXPECT_NE(denied.body().find(R"(access denied by policy to get \"b\" from \"scoped\")"),
            std::string::npos)
      << denied.body();
  expectErrorCode(sidecar.request(verb::get, "/v1.0/secrets/strict/b"), 403,
                  "ERR_PERMISSION_DENIED");
  // The scope is checked before the store: a denied secret that does not exist is still 403,
  // an allowed one that does not exist is 204.
  expectErrorCode(sidecar.request(verb::get, "/v1.0/secrets/strict/nope"), 403,
                  "ERR_PERMISSION_DENIED");
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/secrets/strict/missing").result_int(), 204u);
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/secrets/open/b").body(), R"({"b":"2"})");

  auto bulk = sidecar.request(verb::get, "/v1.0/secrets/scoped/bulk");
  ASSERT_EQ(bulk.result_int(), 200u) << bulk.body();
  EXPECT_EQ(keysOf(bulk), (std::vector<std::string>{"a", "c"}));
  bulk = sidecar.request(verb::get, "/v1.0/secrets/strict/bulk");
  ASSERT_EQ(bulk.result_int(), 200u) << bulk.body();
  EXPECT_EQ(keysOf(bulk), (std::vector<std::string>{"a"}));
  bulk = sidecar.request(verb::get, "/v1.0/secrets/open/bulk");
  EXPECT_EQ(keysOf(bulk), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

TEST(ConfigurationIntegration, DeniedApisAreNotServedAndFeaturesShowInMetadata) {
  SidecarProcess sidecar;
  ASSERT_TRUE(startWithConfig(sidecar, "apis", R"(  api:
    denied:
    - {name: state, version: v1, protocol: http}
    - {name: secrets, version: v1, protocol: grpc}
  features:
  - {name: HotReload, enabled: true}
  - {name: Disabled, enabled: false}
  tracing: {samplingRate: "1"}
)")) << sidecar.log();
  // A route that is not registered falls through to service invocation, as in daprd.
  expectErrorCode(sidecar.request(verb::get, "/v1.0/state/kv/k"), 404, "ERR_DIRECT_INVOKE");
  expectErrorCode(sidecar.request(verb::post, "/v1.0/state/kv", R"([{"key":"k","value":1}])"), 404,
                  "ERR_DIRECT_INVOKE");
  // A gRPC rule leaves HTTP alone.
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/secrets/open/a").result_int(), 200u);

  auto meta = sidecar.request(verb::get, "/v1.0/metadata");
  ASSERT_EQ(meta.result_int(), 200u);
  auto doc = json::parse(meta.body());
  ASSERT_TRUE(doc.ok());
  const json::Value* features = json::find(*doc, "enabledFeatures");
  ASSERT_NE(features, nullptr);
  std::vector<std::string> names;
  for (const auto& f : features->GetArray()) names.push_back(f.GetString());
  EXPECT_EQ(names, (std::vector<std::string>{"HotReload", "SchedulerReminders"}));
  std::string log = sidecar.log();
  EXPECT_TRUE(oneLineHasAll(log, {"spec.tracing", "not applied"})) << log;
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

TEST(ConfigurationIntegration, AnAllowListWithoutInvokeLeavesNoFallback) {
  SidecarProcess sidecar;
  ASSERT_TRUE(startWithConfig(sidecar, "allow", R"(  api:
    allowed:
    - {name: state, version: v1.0, protocol: http}
)")) << sidecar.log();
  EXPECT_EQ(
      sidecar.request(verb::post, "/v1.0/state/kv", R"([{"key":"k","value":1}])").result_int(),
      204u);
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/state/kv/k").body(), "1");
  // Nothing catches the rest: Go's router answers 404 (or 405 for a known path).
  auto secrets = sidecar.request(verb::get, "/v1.0/secrets/open/a");
  EXPECT_EQ(secrets.result_int(), 404u);
  EXPECT_EQ(secrets.body(), "404 page not found\n");
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/metadata").result_int(), 404u);
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/state/kv").result_int(), 405u);
  // Health is always served.
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/healthz").result_int(), 204u);
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

TEST(ConfigurationIntegration, ApiLoggingFollowsTheFlagOverTheConfiguration) {
  SidecarProcess logged;
  ASSERT_TRUE(startWithConfig(logged, "logged", R"(  logging:
    apiLogging: {enabled: true, obfuscateURLs: true, omitHealthChecks: true}
)")) << logged.log();
  logged.request(verb::get, "/v1.0/secrets/open/a");
  EXPECT_EQ(logged.stop(SIGTERM), 0);
  std::string log = logged.log();
  // The route, not the URL (obfuscateURLs); health checks left out.
  EXPECT_TRUE(oneLineHasAll(
      log, {"HTTP API Called", "GET /v1.0/secrets/{secretStoreName}/{key}", "code=200"}))
      << log;
  EXPECT_EQ(log.find("/v1.0/secrets/open/a"), std::string::npos) << log;
  EXPECT_EQ(log.find("/v1.0/healthz"), std::string::npos) << log;

  SidecarProcess quiet;
  ASSERT_TRUE(startWithConfig(quiet, "quiet", R"(  logging:
    apiLogging: {enabled: true}
)",
                              {"--enable-api-logging=false"}))
      << quiet.log();
  quiet.request(verb::get, "/v1.0/secrets/open/a");
  EXPECT_EQ(quiet.stop(SIGTERM), 0);
  EXPECT_EQ(quiet.log().find("HTTP API Called"), std::string::npos) << quiet.log();
}

// outriggerd's callers carry no mTLS identity, so the callee applies accessControl.defaultAction
// alone, as daprd does for a caller without one.
TEST(ConfigurationIntegration, AccessControlDefaultActionGuardsTheCallee) {
  TestApp app;
  app.setBehaviour(
      [](const http::Request&) { return http::makeResponse(200, "ok", "text/plain"); });
  std::string nr = makeTempDir("outrigger-nr");
  ::setenv("OUTRIGGER_NAMERESOLUTION_DIR", nr.c_str(), 1);
  std::string data = makeTempDir("outrigger-cfg-data");
  writeFile(data + "/deny.yaml", configuration(R"(  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: caller
      defaultAction: allow
      trustDomain: public
      namespace: default
)"));
  SidecarProcess callee;
  ASSERT_TRUE(callee.start({"--app-id", "guarded", "--app-port", std::to_string(app.port()),
                            "--config", data + "/deny.yaml"}))
      << callee.log();
  SidecarProcess caller;
  ASSERT_TRUE(caller.start({"--app-id", "caller"})) << caller.log();
  auto res = caller.request(verb::post, "/v1.0/invoke/guarded/method/orders", "x");
  expectErrorCode(res, 403, "ERR_DIRECT_INVOKE");
  EXPECT_NE(res.body().find("/orders"), std::string::npos) << res.body();
  EXPECT_TRUE(app.received().empty());
  // The callee's own app is not behind the access control.
  EXPECT_EQ(callee.request(verb::get, "/v1.0/invoke/guarded/method/orders").result_int(), 200u);
  EXPECT_TRUE(oneLineHasAll(callee.log(), {"accessControl.policies are not enforced"}))
      << callee.log();
}

TEST(ConfigurationIntegration, KubernetesModeUsesTheConfigurationNamed) {
  std::string dir = makeTempDir("outrigger-cfg-res");
  // Without an operator, the resources path supplies the Configuration resources.
  writeFile(dir + "/configs.yaml",
            configuration("  features: [{name: Mine, enabled: true}]\n", "appconfig") + "---\n" +
                configuration("  features: [{name: Other, enabled: true}]\n", "other"));
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "k8s", "--mode", "kubernetes", "--resources-path", dir,
                             "--config", "appconfig"}))
      << sidecar.log();
  auto meta = sidecar.request(verb::get, "/v1.0/metadata");
  EXPECT_NE(meta.body().find(R"("enabledFeatures":["Mine","SchedulerReminders"])"),
            std::string::npos)
      << meta.body();
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);

  std::string out;
  EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "k8s", "--mode", "kubernetes",
                                       "--resources-path", dir, "--config", "absent"},
                                      &out),
            1)
      << out;
  EXPECT_TRUE(oneLineHasAll(out, {"configuration", "absent", "not found"})) << out;
}

TEST(ConfigurationIntegration, BadConfigurationsStopStartUpNamingFileAndField) {
  std::string data = makeTempDir("outrigger-cfg-data");
  struct Case {
    std::string text;  // empty: the file is missing
    std::vector<std::string> needles;
  } cases[] = {
      {"", {"missing.yaml"}},
      {"spec:\n  features: [\n", {"bad.yaml", "invalid YAML"}},
      {configuration("  secrets:\n    scopes:\n    - {storeName: s, allowedSecrets: a}\n"),
       {"bad.yaml", "spec.secrets.scopes[0].allowedSecrets", "list of strings"}},
      {configuration("  api:\n    allowed: {name: state}\n"), {"bad.yaml", "spec.api.allowed"}},
      {configuration("  secrets:\n    scopes:\n    - {storeName: s, defaultAccess: maybe}\n"),
       {"bad.yaml", "spec.secrets.scopes[0].defaultAccess", "maybe"}},
  };
  for (const auto& c : cases) {
    std::string file = data + (c.text.empty() ? "/missing.yaml" : "/bad.yaml");
    if (!c.text.empty()) writeFile(file, c.text);
    std::string out;
    EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "bad", "--config", file}, &out), 1) << out;
    std::vector<std::string> needles = c.needles;
    needles.push_back(data);
    EXPECT_TRUE(oneLineHasAll(out, needles)) << ::testing::PrintToString(needles) << "\n" << out;
  }
}

// SIGTERM with --dapr-block-shutdown-duration: the API keeps answering for the duration, then the
// sidecar shuts down cleanly.
TEST(ConfigurationIntegration, BlockShutdownKeepsServingAfterSigterm) {
  uint16_t port = freePort();
  Process sidecar;
  ASSERT_TRUE(
      sidecar
          .start(
              {OUTRIGGERD_PATH,
               {"--app-id", "blocker", "--dapr-http-port", std::to_string(port), "--metrics-port",
                std::to_string(freePort()), "--dapr-internal-grpc-port", std::to_string(freePort()),
                "--dapr-listen-addresses", "127.0.0.1", "--dapr-block-shutdown-duration", "3s"}})
          .ok());
  ASSERT_TRUE(waitForHttp(port, "/v1.0/healthz", 204, std::chrono::seconds(20), &sidecar))
      << sidecar.output();
  ASSERT_EQ(::kill(sidecar.pid(), SIGTERM), 0);
  // Bounded wait for the signal to be taken; the block then lasts 3 s.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!oneLineHasAll(sidecar.output(), {"blocking graceful shutdown"}) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(oneLineHasAll(sidecar.output(), {"blocking graceful shutdown"})) << sidecar.output();
  EXPECT_EQ(httpCall(port, verb::get, "/v1.0/metadata").result_int(), 200u);
  EXPECT_EQ(sidecar.waitExit(std::chrono::seconds(20)), 0) << sidecar.output();
  EXPECT_TRUE(oneLineHasAll(sidecar.output(), {"block shutdown period expired"}))
      << sidecar.output();
}

}  // namespace
}  // namespace outrigger::testing
