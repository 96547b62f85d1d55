#include "injector/patcher/patcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace outrigger::injector::patcher {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

InjectorConfig config() {
  InjectorConfig c;
  fillDefaultAddresses(&c, /*default_placement=*/true);
  return c;
}

// A pod as a Deployment's ReplicaSet creates it, with the given annotations (JSON members) and
// spec (JSON members).
std::string pod(const std::string& annotations, const std::string& spec,
                const std::string& labels = R"("app":"orders","pod-template-hash":"7d9f8b6c5")") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"orders-7d9f8b6c5-",)"
         R"("namespace":"shop",)" +
         (labels.empty() ? std::string() : R"("labels":{)" + labels + "},") + R"("annotations":{)" +
         annotations +
         R"(},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet",)"
         R"("name":"orders-7d9f8b6c5","uid":"1","controller":true}]},"spec":{)" +
         spec + "}}";
}

constexpr const char* kEnabled = R"("dapr.io/enabled":"true")";
constexpr const char* kOneContainer = R"("containers":[{"name":"app","image":"orders:1"}])";

struct Built {
  PatchResult result;
  json::Document ops;

  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const auto& op : ops.GetArray()) out.push_back(op["path"].GetString());
    return out;
  }
  const json::Value* value(const std::string& path) const {
    for (const auto& op : ops.GetArray()) {
      if (path == op["path"].GetString()) return &op["value"];
    }
    return nullptr;
  }
  const json::Value& sidecar() const {
    for (const auto& op : ops.GetArray()) {
      const auto& v = op["value"];
      if (v.IsObject() && v.HasMember("name") && std::string(v["name"].GetString()) == "daprd") {
        return v;
      }
      if (v.IsArray() && !v.Empty() && v[0].IsObject() && v[0].HasMember("image")) return v[0];
    }
    ADD_FAILURE() << "no daprd container in the patch";
    static json::Value none;
    return none;
  }
  std::vector<std::string> args() const {
    std::vector<std::string> out;
    for (const auto& a : sidecar()["args"].GetArray()) out.push_back(a.GetString());
    return out;
  }
};

StatusOr<Built> build(const std::string& pod_json, const InjectorConfig& cfg = config()) {
  auto doc = json::parse(pod_json);
  EXPECT_TRUE(doc.ok()) << doc.status().message() << "\n" << pod_json;
  if (!doc.ok()) return doc.status();
  Built b;
  ASSIGN_OR_RETURN(b.result, buildPatch(*doc, "shop", cfg));
  if (b.result.inject) {
    auto ops = json::parse(b.result.patch);
    if (!ops.ok()) return ops.status();
    b.ops = std::move(*ops);
  }
  return b;
}

bool hasArg(const std::vector<std::string>& args, const std::string& flag,
            const std::string& value) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag && args[i + 1] == value) return true;
  }
  return false;
}

TEST(injector_patcher, PatchFollowsTheContractOrder) {
  auto b = build(pod(std::string(kEnabled) + R"(,"dapr.io/app-id":"orders")", kOneContainer,
                     /*labels=*/""));
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_TRUE(b->result.inject);
  // Parents first, then the volume, the sidecar, the labels and the app's env.
  EXPECT_THAT(
      b->paths(),
      ElementsAre("/metadata/labels", "/spec/volumes", "/spec/containers/-",
                  "/metadata/labels/dapr.io~1sidecar-injected", "/metadata/labels/dapr.io~1app-id",
                  "/metadata/labels/dapr.io~1metrics-enabled", "/spec/containers/0/env"));
  EXPECT_EQ(b->result.app_id, "orders");
  EXPECT_STREQ((*b->value("/metadata/labels/dapr.io~1app-id")).GetString(), "orders");
  EXPECT_STREQ((*b->value("/metadata/labels/dapr.io~1sidecar-injected")).GetString(), "true");
  const json::Value& token = (*b->value("/spec/volumes"))[0];
  EXPECT_STREQ(token["name"].GetString(), "dapr-identity-token");
  EXPECT_STREQ(token["projected"]["sources"][0]["serviceAccountToken"]["audience"].GetString(),
               "spiffe://cluster.local/ns/dapr-system/dapr-sentry");
}

TEST(injector_patcher, ExistingListsAreAppendedTo) {
  auto b = build(pod(kEnabled, R"("volumes":[{"name":"data","emptyDir":{}}],)"
                               R"("containers":[{"name":"app","image":"a",)"
                               R"("env":[{"name":"DAPR_HTTP_PORT","value":"3600"}]}])"));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_THAT(b->paths(), ElementsAre("/spec/volumes/-", "/spec/containers/-",
                                      "/metadata/labels/dapr.io~1sidecar-injected",
                                      "/metadata/labels/dapr.io~1app-id",
                                      "/metadata/labels/dapr.io~1metrics-enabled",
                                      "/spec/containers/0/env/-", "/spec/containers/0/env/-"));
  // DAPR_HTTP_PORT was set by the user: only the two others are added.
  std::vector<std::string> added;
  for (const auto& op : b->ops.GetArray()) {
    if (std::string(op["path"].GetString()) == "/spec/containers/0/env/-") {
      added.push_back(op["value"]["name"].GetString());
    }
  }
  EXPECT_THAT(added, ElementsAre("DAPR_GRPC_PORT", "APP_PROTOCOL"));
}

TEST(injector_patcher, NullListsAreMissingLists) {
  auto b =
      build(pod(kEnabled, R"("volumes":null,"initContainers":null,"containers":[{"name":"app",)"
                          R"("image":"a","env":null}])"));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_NE(b->value("/spec/volumes"), nullptr);
  EXPECT_NE(b->value("/spec/containers/0/env"), nullptr);
}

TEST(injector_patcher, PodWithoutContainersGetsTheList) {
  auto b = build(pod(kEnabled, ""));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->paths().front(), "/spec/containers");
}

TEST(injector_patcher, SidecarContainerHasTheContractsShape) {
  auto b = build(pod(std::string(kEnabled) + R"(,"dapr.io/app-port":"8080")", kOneContainer));
  ASSERT_TRUE(b.ok()) << b.status().message();
  const json::Value& d = b->sidecar();
  EXPECT_STREQ(d["name"].GetString(), "daprd");
  EXPECT_STREQ(d["image"].GetString(), "ghcr.io/outrigger/outriggerd:latest");
  auto args = b->args();
  EXPECT_TRUE(hasArg(args, "--mode", "kubernetes"));
  EXPECT_TRUE(hasArg(args, "--app-id", "orders"));
  EXPECT_TRUE(hasArg(args, "--app-port", "8080"));
  EXPECT_TRUE(hasArg(args, "--dapr-http-port", "3500"));
  EXPECT_TRUE(hasArg(args, "--dapr-public-port", "3501"));
  EXPECT_TRUE(
      hasArg(args, "--control-plane-address", "dapr-api.dapr-system.svc.cluster.local:443"));
  EXPECT_TRUE(hasArg(args, "--sentry-address", "dapr-sentry.dapr-system.svc.cluster.local:443"));
  EXPECT_TRUE(hasArg(args, "--placement-host-address",
                     "dapr-placement-server.dapr-system.svc.cluster.local:50005"));
  std::vector<std::pair<std::string, int>> ports;
  for (const auto& p : d["ports"].GetArray()) {
    ports.emplace_back(p["name"].GetString(), p["containerPort"].GetInt());
  }
  EXPECT_THAT(ports, ElementsAre(std::pair<std::string, int>{"dapr-http", 3500},
                                 std::pair<std::string, int>{"dapr-grpc", 50001},
                                 std::pair<std::string, int>{"dapr-internal", 50002},
                                 std::pair<std::string, int>{"dapr-metrics", 9090}));
  EXPECT_EQ(d["readinessProbe"]["httpGet"]["port"].GetInt(), 3501);
  EXPECT_STREQ(d["readinessProbe"]["httpGet"]["path"].GetString(), "/v1.0/healthz");
  EXPECT_EQ(d["livenessProbe"]["tcpSocket"]["port"].GetInt(), 3501);
  const json::Value& sc = d["securityContext"];
  EXPECT_FALSE(sc["allowPrivilegeEscalation"].GetBool());
  EXPECT_TRUE(sc["runAsNonRoot"].GetBool());
  EXPECT_TRUE(sc["readOnlyRootFilesystem"].GetBool());
  EXPECT_STREQ(sc["capabilities"]["drop"][0].GetString(), "ALL");
  EXPECT_FALSE(d.HasMember("restartPolicy"));
  EXPECT_FALSE(d.HasMember("resources"));
}

TEST(injector_patcher, BlankPlacementAnnotationMeansNone) {
  auto b =
      build(pod(std::string(kEnabled) + R"(,"dapr.io/placement-host-address":" ")", kOneContainer));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_THAT(b->args(), Not(::testing::Contains("--placement-host-address")));
}

TEST(injector_patcher, UserEnvAndSecretsReachTheSidecar) {
  auto b =
      build(pod(std::string(kEnabled) +
                    R"(,"dapr.io/env":"A=1,SSL_CERT_DIR=/certs",)"
                    R"("dapr.io/env-from-secret":"B=creds:pw","dapr.io/api-token-secret":"tok")",
                kOneContainer));
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::vector<std::string> names;
  const json::Value& d = b->sidecar();
  for (const auto& e : d["env"].GetArray()) names.push_back(e["name"].GetString());
  EXPECT_THAT(names, ElementsAre("NAMESPACE", "POD_NAME", "DAPR_TRUST_ANCHORS",
                                 "DAPR_CONTROLPLANE_NAMESPACE", "DAPR_CONTROLPLANE_TRUST_DOMAIN",
                                 "A", "SSL_CERT_DIR", "B", "DAPR_ENV_KEYS", "DAPR_API_TOKEN"));
  EXPECT_STREQ(d["env"][7]["valueFrom"]["secretKeyRef"]["key"].GetString(), "pw");
  EXPECT_STREQ(d["env"][8]["value"].GetString(), "A SSL_CERT_DIR B");
  // SSL_CERT_DIR: the sidecar may write certificates, as in Dapr.
  EXPECT_FALSE(d["securityContext"]["runAsNonRoot"].GetBool());
  EXPECT_FALSE(d["securityContext"]["readOnlyRootFilesystem"].GetBool());
}

TEST(injector_patcher, InjectorsOwnVariablesCannotBeOverridden) {
  auto b = build(pod(std::string(kEnabled) + R"(,"dapr.io/env":"POD_NAME=x")", kOneContainer));
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("dapr.io/env"));
  EXPECT_THAT(b.status().message(), HasSubstr("POD_NAME"));
}

TEST(injector_patcher, VolumeMountsMustNameThePodsVolumes) {
  const std::string spec =
      R"("volumes":[{"name":"certs","secret":{"secretName":"c"}}],)" + std::string(kOneContainer);
  auto ok =
      build(pod(std::string(kEnabled) + R"(,"dapr.io/volume-mounts":"certs:/etc/certs")", spec));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  const json::Value& mounts = ok->sidecar()["volumeMounts"];
  ASSERT_EQ(mounts.Size(), 2u);
  EXPECT_STREQ(mounts[1]["mountPath"].GetString(), "/etc/certs");
  EXPECT_TRUE(mounts[1]["readOnly"].GetBool());

  auto missing =
      build(pod(std::string(kEnabled) + R"(,"dapr.io/volume-mounts-rw":"cache:/cache")", spec));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("dapr.io/volume-mounts-rw"));
  EXPECT_THAT(missing.status().message(), HasSubstr("\"cache\""));
}

TEST(injector_patcher, NativeSidecarIsTheFirstInitContainer) {
  const std::string ann = std::string(kEnabled) + R"(,"outrigger.io/native-sidecar":"true")";
  auto none = build(pod(ann, kOneContainer));
  ASSERT_TRUE(none.ok()) << none.status().message();
  const json::Value* list = none->value("/spec/initContainers");
  ASSERT_NE(list, nullptr);
  ASSERT_EQ(list->Size(), 1u);
  const json::Value& d = (*list)[0];
  EXPECT_STREQ(d["restartPolicy"].GetString(), "Always");
  EXPECT_STREQ(d["startupProbe"]["httpGet"]["path"].GetString(), "/v1.0/healthz");
  EXPECT_EQ(none->value("/spec/containers/-"), nullptr);

  auto some = build(pod(
      ann, R"("initContainers":[{"name":"migrate","image":"m"}],)" + std::string(kOneContainer)));
  ASSERT_TRUE(some.ok()) << some.status().message();
  ASSERT_NE(some->value("/spec/initContainers/0"), nullptr);
  // The app's init container moved to index 1 and can talk to the sidecar.
  ASSERT_NE(some->value("/spec/initContainers/1/env"), nullptr);
  EXPECT_STREQ((*some->value("/spec/initContainers/1/env"))[0]["name"].GetString(),
               "DAPR_HTTP_PORT");
}

TEST(injector_patcher, OrdinaryInitContainersGetNoEnv) {
  auto b = build(pod(kEnabled, R"("initContainers":[{"name":"migrate","image":"m"}],)" +
                                   std::string(kOneContainer)));
  ASSERT_TRUE(b.ok()) << b.status().message();
  for (const auto& path : b->paths()) EXPECT_THAT(path, Not(HasSubstr("initContainers")));
}

TEST(injector_patcher, AppContainerOnASidecarPortIsDenied) {
  auto clash = build(pod(kEnabled, R"("containers":[{"name":"app","image":"a",)"
                                   R"("ports":[{"containerPort":9090}]}])"));
  ASSERT_FALSE(clash.ok());
  EXPECT_THAT(clash.status().message(), HasSubstr("dapr.io/metrics-port"));
  EXPECT_THAT(clash.status().message(), HasSubstr("\"app\""));
  // Moving the metrics port, or turning metrics off, resolves it.
  EXPECT_TRUE(build(pod(std::string(kEnabled) + R"(,"dapr.io/metrics-port":"9091")",
                        R"("containers":[{"name":"app","image":"a",)"
                        R"("ports":[{"containerPort":9090}]}])"))
                  .ok());
  EXPECT_TRUE(build(pod(std::string(kEnabled) + R"(,"dapr.io/enable-metrics":"false")",
                        R"("containers":[{"name":"app","image":"a",)"
                        R"("ports":[{"containerPort":9090}]}])"))
                  .ok());
  // UDP does not clash; an init container that is over before the sidecar starts neither.
  EXPECT_TRUE(build(pod(kEnabled, R"("containers":[{"name":"app","image":"a",)"
                                  R"("ports":[{"containerPort":3500,"protocol":"UDP"}]}])"))
                  .ok());
  EXPECT_TRUE(build(pod(kEnabled, R"("initContainers":[{"name":"i","image":"i",)"
                                  R"("ports":[{"containerPort":3500}]}],)" +
                                      std::string(kOneContainer)))
                  .ok());
  auto http = build(pod(kEnabled, R"("containers":[{"name":"web","image":"a",)"
                                  R"("ports":[{"containerPort":3500}]}])"));
  ASSERT_FALSE(http.ok());
  EXPECT_THAT(http.status().message(), HasSubstr("port 3500"));
}

TEST(injector_patcher, SkipsWhatIsNotForIt) {
  for (const std::string& p :
       {pod("", kOneContainer), pod(R"("dapr.io/enabled":"false")", kOneContainer),
        pod(R"("dapr.io/enabled":"true","dapr.io/control-plane":"operator")", kOneContainer),
        pod(kEnabled, R"("containers":[{"name":"app","image":"a"},{"name":"daprd","image":"d"}])"),
        pod(kEnabled,
            R"("initContainers":[{"name":"daprd","image":"d","restartPolicy":"Always"}],)" +
                std::string(kOneContainer))}) {
    auto b = build(p);
    ASSERT_TRUE(b.ok()) << b.status().message() << "\n" << p;
    EXPECT_FALSE(b->result.inject) << p;
    EXPECT_FALSE(b->result.skip_reason.empty());
  }
}

TEST(injector_patcher, ControlPlanePodsAreSkippedInTheirNamespaceOnly) {
  InjectorConfig cfg = config();
  std::string p = pod(kEnabled, kOneContainer, R"("app":"dapr-sentry")");
  auto doc = json::parse(p);
  ASSERT_TRUE(doc.ok());
  auto in_cp = buildPatch(*doc, "dapr-system", cfg);
  ASSERT_TRUE(in_cp.ok());
  EXPECT_FALSE(in_cp->inject);
  auto elsewhere = buildPatch(*doc, "shop", cfg);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_TRUE(elsewhere->inject);
}

TEST(injector_patcher, DefaultAppIds) {
  auto id = [](const std::string& text) {
    auto doc = json::parse(text);
    EXPECT_TRUE(doc.ok());
    return defaultAppId(*doc);
  };
  // A Deployment's pod: the ReplicaSet's name without the pod-template-hash.
  EXPECT_EQ(id(pod("", "")), "orders");
  EXPECT_EQ(id(pod(R"("dapr.io/app-id":" billing ")", "")), "billing");
  EXPECT_EQ(id(R"({"metadata":{"name":"web-0","ownerReferences":[{"kind":"StatefulSet",)"
               R"("name":"web","controller":true}]}})"),
            "web");
  EXPECT_EQ(id(R"({"metadata":{"name":"solo"}})"), "solo");
  EXPECT_EQ(id(R"({"metadata":{"generateName":"job-x-"}})"), "job-x");
}

TEST(injector_patcher, InvalidAppIdsAreDeniedSayingWhy) {
  auto annotated =
      build(pod(std::string(kEnabled) + R"(,"dapr.io/app-id":"Orders_1")", kOneContainer));
  ASSERT_FALSE(annotated.ok());
  EXPECT_EQ(annotated.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(annotated.status().message(), HasSubstr("dapr.io/app-id"));
  EXPECT_THAT(annotated.status().message(), HasSubstr("Orders_1"));

  EXPECT_TRUE(validateAppId(std::string(58, 'a'), true).ok());
  auto too_long = validateAppId(std::string(59, 'a'), false);
  ASSERT_FALSE(too_long.ok());
  // Not annotated: the message says how to fix it.
  EXPECT_THAT(too_long.message(), HasSubstr("set the annotation dapr.io/app-id"));
}

TEST(injector_patcher, PointerSegmentsAreEscaped) {
  EXPECT_EQ(escapePointer("dapr.io/app-id"), "dapr.io~1app-id");
  EXPECT_EQ(escapePointer("a~b/c"), "a~0b~1c");
}

}  // namespace
}  // namespace outrigger::injector::patcher
