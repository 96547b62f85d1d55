// Configuration resources: Dapr's schema type-checked with errors that name the file and the
// field, secret scopes, API lists, access control, features, env expansion, merged files, and the
// Kubernetes lookup by name.

#include "sidecar/config/configuration.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace outrigger::sidecar::config {
namespace {

namespace fs = std::filesystem;

class ConfigurationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "outrigger-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // A Configuration named appconfig with this spec (indented under "spec:").
  std::string file(const std::string& spec, const std::string& name = "config.yaml") {
    return write(name,
                 "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: "
                 "appconfig\nspec:\n" +
                     spec);
  }
  StatusOr<Configuration> load(const std::vector<std::string>& paths) {
    return loadConfigurationFiles(paths);
  }
  // Loading fails with InvalidArgument and a message holding every needle.
  void expectError(const std::string& spec, const std::vector<std::string>& needles) {
    std::string path = file(spec);
    auto c = load({path});
    ASSERT_FALSE(c.ok()) << spec;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    for (const auto& n : needles) {
      EXPECT_NE(c.status().message().find(n), std::string::npos)
          << "'" << n << "' not in: " << c.status().message();
    }
    EXPECT_NE(c.status().message().find(path), std::string::npos) << c.status().message();
  }
  std::string dir_;
};

// yaml-cpp's own depth guard makes deep nesting an invalid-YAML error naming the file.
TEST_F(ConfigurationTest, DeeplyNestedYamlIsAnErrorNotACrash) {
  std::string block = "  features:\n";
  for (int i = 2; i < 3000; ++i) block += std::string(i, ' ') + "- \n";
  for (const std::string& spec : {"  tracing: " + std::string(100000, '['), block}) {
    expectError(spec, {"invalid YAML"});
  }
}

TEST_F(ConfigurationTest, AFullDaprConfigurationLoads) {
  auto c = load({file(R"(  tracing:
    samplingRate: "1"
    stdout: true
    zipkin: {endpointAddress: "http://localhost:9411/api/v2/spans"}
    otel: {protocol: grpc, endpointAddress: "localhost:4317", isSecure: false, timeout: 1000}
  metric:
    enabled: true
    recordErrorCodes: true
    http: {increasedCardinality: false, pathMatching: ["/orders/{id}"], excludeVerbs: true}
    latencyDistributionBuckets: [1, 5, 10]
    rules:
    - name: dapr_runtime_service_invocation_req_sent_total
      labels:
      - name: method
        regex: {"orders/": "orders/.+"}
  mtls: {enabled: true, workloadCertTTL: 24h, allowedClockSkew: 15m, tokenValidators: [{name: jwks, options: {source: x}}]}
  nameResolution: {component: mdns, version: v1, configuration: {anything: [1, 2]}}
  httpPipeline:
    handlers:
    - name: oauth
      type: middleware.http.oauth2
      selector: {fields: [{field: a, value: b}]}
  secrets:
    scopes:
    - storeName: vault
      defaultAccess: deny
      allowedSecrets: ["a", "b"]
    - storeName: local
      deniedSecrets: ["c"]
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: app1
      defaultAction: allow
      trustDomain: public
      namespace: default
      operations:
      - {name: /op1, httpVerb: [POST, GET], action: deny}
  features:
  - {name: HotReload, enabled: true}
  - {name: ActorStateTTL, enabled: false}
  api:
    allowed:
    - {name: state, version: v1.0, protocol: http}
    denied:
    - {name: secrets, version: v1, protocol: HTTP}
  components:
    deny: [bindings.smtp, state.redis/v2]
  logging:
    apiLogging: {enabled: true, obfuscateURLs: true, omitHealthChecks: true}
  wasm: {strictSandbox: true}
  workflow: {maxConcurrentWorkflowInvocations: 10, maxConcurrentActivityInvocations: 20}
)")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "appconfig");
  ASSERT_EQ(c->secret_scopes.size(), 2u);
  EXPECT_FALSE(c->secret_scopes.at("vault").default_allow);
  EXPECT_EQ(c->api_allowed.size(), 1u);
  ASSERT_EQ(c->api_denied.size(), 1u);
  EXPECT_EQ(c->api_denied[0].protocol, "http");  // lower-cased, as daprd compares it
  EXPECT_TRUE(c->access_control.present);
  EXPECT_EQ(c->access_control.default_action, "deny");
  ASSERT_EQ(c->access_control.policies.size(), 1u);
  EXPECT_EQ(c->access_control.policies[0].operations[0].http_verbs,
            (std::vector<std::string>{"POST", "GET"}));
  EXPECT_EQ(c->api_logging, true);
  EXPECT_TRUE(c->api_logging_obfuscate_urls);
  EXPECT_TRUE(c->api_logging_omit_health_checks);
  EXPECT_EQ(c->metrics_enabled, true);
  EXPECT_TRUE(c->componentDenied("bindings.smtp", "v1"));
  EXPECT_TRUE(c->componentDenied("state.redis", "v2"));
  EXPECT_FALSE(c->componentDenied("state.redis", "v1"));
  EXPECT_TRUE(c->unknown_fields.empty()) << c->unknown_fields[0];
  for (const char* section : {"tracing", "mtls", "nameResolution", "httpPipeline", "wasm",
                              "workflow", "metric.rules", "metric.http"}) {
    EXPECT_NE(std::find(c->not_applied.begin(), c->not_applied.end(), section),
              c->not_applied.end())
        << section;
  }
}

TEST_F(ConfigurationTest, FeaturesKeepTheirOrderAndDaprsDefaults) {
  auto c =
      load({file("  features:\n  - {name: HotReload, enabled: true}\n"
                 "  - {name: Off, enabled: false}\n  - {name: Custom, enabled: yes}\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  // SchedulerReminders is on in daprd 1.15 unless a Configuration turns it off.
  EXPECT_EQ(c->enabledFeatures(),
            (std::vector<std::string>{"HotReload", "Custom", "SchedulerReminders"}));
  c = load({file("  features:\n  - {name: SchedulerReminders, enabled: false}\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->enabledFeatures().empty());
}

TEST_F(ConfigurationTest, SecretScopesFollowDaprsPriority) {
  auto c = load({file(R"(  secrets:
    scopes:
    - {storeName: onlylisted, defaultAccess: allow, allowedSecrets: [a], deniedSecrets: [a, b]}
    - {storeName: denyall, defaultAccess: DENY}
    - {storeName: denysome, deniedSecrets: [x]}
    - {storeName: denybutallow, defaultAccess: deny, allowedSecrets: [y]}
)")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  // An allow list is the whole answer, even over the deny list.
  EXPECT_TRUE(c->secretAllowed("onlylisted", "a"));
  EXPECT_FALSE(c->secretAllowed("onlylisted", "b"));
  EXPECT_FALSE(c->secretAllowed("onlylisted", "c"));
  EXPECT_FALSE(c->secretAllowed("denyall", "anything"));
  EXPECT_FALSE(c->secretAllowed("denysome", "x"));
  EXPECT_TRUE(c->secretAllowed("denysome", "y"));
  EXPECT_TRUE(c->secretAllowed("denybutallow", "y"));
  EXPECT_FALSE(c->secretAllowed("denybutallow", "z"));
  // Keys are case-sensitive; stores without a scope allow everything.
  EXPECT_TRUE(c->secretAllowed("denysome", "X"));
  EXPECT_TRUE(c->secretAllowed("unscoped", "x"));
}

TEST_F(ConfigurationTest, AccessControlDefaultsLikeDaprd) {
  auto c = load({file("  tracing: {samplingRate: \"0\"}\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->access_control.present);
  EXPECT_TRUE(c->access_control.checkAnonymousCall("me", "/m", "GET").ok());
  // daprd decodes the file over a default of allow: a missing defaultAction stays allow.
  c = load({file("  accessControl:\n    trustDomain: example\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->access_control.present);
  EXPECT_EQ(c->access_control.default_action, "allow");
  EXPECT_EQ(c->access_control.trust_domain, "example");
  c = load({file("  accessControl: {defaultAction: Deny}\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  Status denied = c->access_control.checkAnonymousCall("me", "/orders/1?x=1", "POST");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.errorCode(), "ERR_DIRECT_INVOKE");
  EXPECT_EQ(denied.httpStatus(), 403);
  EXPECT_NE(denied.message().find("/orders/1 verb: POST"), std::string::npos) << denied.message();
}

TEST_F(ConfigurationTest, WrongTypesNameTheFileAndTheField) {
  expectError(
      "  secrets:\n    scopes:\n    - storeName: s\n      allowedSecrets: a\n",
      {"Configuration 'appconfig'", "spec.secrets.scopes[0].allowedSecrets", "list of strings"});
  expectError("  features:\n  - {name: X, enabled: maybe}\n",
              {"spec.features[0].enabled", "true or false"});
  expectError("  features: {name: X}\n", {"spec.features", "expected a list"});
  expectError("  tracing:\n    samplingRate: [1]\n", {"spec.tracing.samplingRate", "string"});
  expectError("  api:\n    allowed:\n    - name: {a: b}\n", {"spec.api.allowed[0].name"});
  expectError("  metric:\n    latencyDistributionBuckets: [1, two]\n",
              {"spec.metric.latencyDistributionBuckets[1]", "integer"});
  expectError("  workflow: {maxConcurrentWorkflowInvocations: many}\n",
              {"spec.workflow.maxConcurrentWorkflowInvocations"});
  expectError("  logging:\n    apiLogging: true\n", {"spec.logging.apiLogging", "map"});
  expectError(
      "  accessControl:\n    policies:\n    - appId: a\n      trustDomain: public\n"
      "      namespace: default\n      operations:\n      - {name: /x, httpVerb: GET}\n",
      {"spec.accessControl.policies[0].operations[0].httpVerb"});
}

TEST_F(ConfigurationTest, BadValuesNameTheField) {
  expectError("  secrets:\n    scopes:\n    - {storeName: s, defaultAccess: maybe}\n",
              {"spec.secrets.scopes[0].defaultAccess", "'maybe'"});
  expectError("  secrets:\n    scopes:\n    - {storeName: s}\n    - {storeName: s}\n",
              {"spec.secrets.scopes[1].storeName", "repeated"});
  expectError("  secrets:\n    scopes:\n    - {defaultAccess: deny}\n",
              {"spec.secrets.scopes[0].storeName", "missing"});
  expectError("  accessControl: {defaultAction: block}\n", {"spec.accessControl.defaultAction"});
  // daprd refuses policies it could not match a caller against.
  expectError("  accessControl:\n    policies:\n    - {appId: a, trustDomain: public}\n",
              {"spec.accessControl.policies[0].namespace", "missing"});
  expectError("  accessControl:\n    policies:\n    - {namespace: n, trustDomain: public}\n",
              {"spec.accessControl.policies[0].appId", "missing"});
  expectError(
      "  spec_is_fine: 1\n  accessControl:\n    policies:\n"
      "    - {appId: a, namespace: n, trustDomain: t, operations: [{name: /x, action: "
      "perhaps}]}\n",
      {"spec.accessControl.policies[0].operations[0].action"});
}

TEST_F(ConfigurationTest, KindAndApiVersionMustBeConfigurations) {
  std::string path =
      write("c.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n");
  auto c = load({path});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("field kind"), std::string::npos) << c.status().message();
  path = write("d.yaml", "apiVersion: dapr.io/v2\nkind: Configuration\nmetadata: {name: x}\n");
  c = load({path});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("field apiVersion"), std::string::npos);
}

TEST_F(ConfigurationTest, MissingFilesAndBadYamlNameTheFile) {
  auto c = load({dir_ + "/absent.yaml"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir_ + "/absent.yaml"), std::string::npos);
  std::string bad = write("bad.yaml", "spec:\n  features: [\n");
  c = load({bad});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(bad), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("invalid YAML"), std::string::npos);
}

TEST_F(ConfigurationTest, UnknownFieldsAreIgnoredAndReported) {
  auto c = load({file("  tracng: {samplingRate: \"1\"}\n  secrets:\n    scopez: []\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->unknown_fields, (std::vector<std::string>{"spec.tracng", "spec.secrets.scopez"}));
}

TEST_F(ConfigurationTest, EnvironmentVariablesAreExpandedAsDaprdDoes) {
  ::setenv("OUTRIGGER_CFG_TEST_STORE", "vault", 1);
  ::unsetenv("OUTRIGGER_CFG_TEST_UNSET");
  auto c =
      load({file("  secrets:\n    scopes:\n    - storeName: ${OUTRIGGER_CFG_TEST_STORE}\n"
                 "      deniedSecrets: [\"$OUTRIGGER_CFG_TEST_STORE-x\", "
                 "\"a${OUTRIGGER_CFG_TEST_UNSET}b\"]\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->secret_scopes.count("vault"), 1u);
  EXPECT_EQ(c->secret_scopes.at("vault").denied, (std::set<std::string>{"vault-x", "ab"}));

  EXPECT_EQ(expandEnv("cost: 5$"), "cost: 5$");  // a lone $ stays
  EXPECT_EQ(expandEnv("a$ b"), "a$ b");
  EXPECT_EQ(expandEnv("x${}y"), "xy");                 // empty braces are dropped
  EXPECT_EQ(expandEnv("x${OUTRIGGER"), "xOUTRIGGER");  // an unclosed "${" is dropped
  EXPECT_EQ(expandEnv("$OUTRIGGER_CFG_TEST_STORE/$OUTRIGGER_CFG_TEST_UNSET."), "vault/.");
}

TEST_F(ConfigurationTest, LaterFilesMergeOverEarlierOnes) {
  std::string a = file(
      "  features:\n  - {name: A, enabled: true}\n  secrets:\n    scopes:\n"
      "    - {storeName: s1, defaultAccess: deny}\n  logging:\n    apiLogging: {enabled: true}\n",
      "a.yaml");
  std::string b = file(
      "  features:\n  - {name: B, enabled: true}\n  logging:\n"
      "    apiLogging: {obfuscateURLs: true}\n",
      "b.yaml");
  auto c = load({a, b});
  ASSERT_TRUE(c.ok()) << c.status().message();
  // Lists are replaced, maps merged key by key.
  EXPECT_EQ(c->enabledFeatures(), (std::vector<std::string>{"B", "SchedulerReminders"}));
  EXPECT_EQ(c->secret_scopes.count("s1"), 1u);
  EXPECT_EQ(c->api_logging, true);
  EXPECT_TRUE(c->api_logging_obfuscate_urls);
  EXPECT_NE(c->source.find("a.yaml"), std::string::npos);
  EXPECT_NE(c->source.find("b.yaml"), std::string::npos);
}

TEST_F(ConfigurationTest, KubernetesModePicksTheNamedResource) {
  auto resource = [](const std::string& name, const std::string& source, const std::string& spec) {
    runtime::Resource r;
    r.kind = "Configuration";
    r.name = name;
    r.source = source;
    r.node =
        YAML::Load("{apiVersion: dapr.io/v1alpha1, kind: Configuration, metadata: {name: " + name +
                   "}, spec: " + spec + "}");
    return r;
  };
  std::vector<runtime::Resource> resources = {
      resource("appconfig", "file.yaml", "{features: [{name: FromFile, enabled: true}]}"),
      resource("appconfig", "operator: Configuration appconfig",
               "{features: [{name: FromOperator, enabled: true}]}"),
      resource("other", "operator: Configuration other", "{}"),
  };
  Options o;
  o.mode = "kubernetes";
  o.config_paths = {"appconfig"};
  auto c = loadConfiguration(o, resources);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->enabledFeatures()[0], "FromOperator");
  o.config_paths = {"missing"};
  c = loadConfiguration(o, resources);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("missing"), std::string::npos);
  // A bad resource from the operator names it.
  resources.push_back(resource("bad", "operator: Configuration bad", "{features: 3}"));
  o.config_paths = {"bad"};
  c = loadConfiguration(o, resources);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("operator: Configuration bad"), std::string::npos);
  EXPECT_NE(c.status().message().find("spec.features"), std::string::npos);
}

TEST_F(ConfigurationTest, NoConfigMeansNothingRestricted) {
  Options o;
  auto c = loadConfiguration(o, {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->source.empty());
  EXPECT_TRUE(c->enabledFeatures().empty());
  EXPECT_TRUE(c->secretAllowed("any", "key"));
}

TEST_F(ConfigurationTest, ApplyLeavesDeniedComponentsOutAndTurnsMetricsOff) {
  auto c = load({file("  metric: {enabled: false}\n  components:\n    deny: [state.redis]\n")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  Options o;
  std::vector<runtime::ComponentSpec> components(2);
  components[0].name = "a";
  components[0].type = "state.redis";
  components[0].version = "v1";
  components[1].name = "b";
  components[1].type = "state.in-memory";
  components[1].version = "v1";
  applyConfiguration(*c, &o, &components);
  ASSERT_EQ(components.size(), 1u);
  EXPECT_EQ(components[0].name, "b");
  EXPECT_FALSE(o.enable_metrics);
}

}  // namespace
}  // namespace outrigger::sidecar::config
