#include "injector/service/admission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "injector/service/handler.h"
#include "injector/service/metrics.h"

namespace outrigger::injector::service {
namespace {

using ::testing::HasSubstr;

constexpr const char* kReplicaSetController =
    R"({"username":"system:serviceaccount:kube-system:replicaset-controller",)"
    R"("uid":"c1","groups":["system:serviceaccounts","system:authenticated"]})";

std::string podJson(const std::string& annotations,
                    const std::string& containers = R"([{"name":"app","image":"orders:1"}])") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"orders-5f7c9-",)"
         R"("labels":{"app":"orders","pod-template-hash":"5f7c9"},"annotations":{)" +
         annotations +
         R"(},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"orders-5f7c9",)"
         R"("uid":"r1","controller":true}]},"spec":{"containers":)" +
         containers + "}}";
}

struct ReviewArgs {
  std::string api_version = "admission.k8s.io/v1";
  std::string uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
  std::string kind = R"({"group":"","version":"v1","kind":"Pod"})";
  std::string operation = "CREATE";
  std::string user = kReplicaSetController;
  std::string object = podJson(R"("dapr.io/enabled":"true","dapr.io/app-port":"8080")");
};

std::string reviewJson(const ReviewArgs& a) {
  return R"({"apiVersion":")" + a.api_version + R"(","kind":"AdmissionReview","request":{"uid":")" +
         a.uid + R"(","kind":)" + a.kind +
         R"(,"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop",)"
         R"("operation":")" +
         a.operation + R"(","userInfo":)" + a.user + R"(,"object":)" + a.object +
         R"(,"dryRun":false}})";
}

std::string decodeBase64(const std::string& in) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "<not base64>";
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

AdmissionSettings settings() {
  AdmissionSettings s;
  patcher::fillDefaultAddresses(&s.injector, true);
  return s;
}

json::Document parsed(const AdmissionResult& r) {
  auto doc = json::parse(r.body);
  EXPECT_TRUE(doc.ok()) << r.body;
  return doc.ok() ? std::move(*doc) : json::Document();
}

TEST(injector_admission, BothApiVersionsAnswerInKindWithAPatch) {
  for (const char* version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    ReviewArgs a;
    a.api_version = version;
    AdmissionResult r = review(reviewJson(a), settings());
    ASSERT_EQ(r.http_status, 200) << r.body;
    EXPECT_EQ(r.outcome, Outcome::kInjected);
    auto doc = parsed(r);
    EXPECT_STREQ(doc["apiVersion"].GetString(), version);
    EXPECT_STREQ(doc["kind"].GetString(), "AdmissionReview");
    const auto& res = doc["response"];
    EXPECT_EQ(std::string(res["uid"].GetString()), a.uid);
    EXPECT_TRUE(res["allowed"].GetBool());
    EXPECT_STREQ(res["patchType"].GetString(), "JSONPatch");
    auto patch = json::parse(decodeBase64(res["patch"].GetString()));
    ASSERT_TRUE(patch.ok()) << patch.status().message();
    ASSERT_TRUE(patch->IsArray());
    bool sidecar = false;
    for (const auto& op : patch->GetArray()) {
      EXPECT_STREQ(op["op"].GetString(), "add");
      if (std::string(op["path"].GetString()) == "/spec/containers/-") {
        sidecar = std::string(op["value"]["name"].GetString()) == "daprd";
      }
    }
    EXPECT_TRUE(sidecar);
    EXPECT_FALSE(res.HasMember("result"));
  }
}

TEST(injector_admission, Base64IsStandardWithPadding) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64(std::string("\xff\xfe", 2)), "//4=");
}

TEST(injector_admission, MalformedReviewsAreBadRequestsWithAMessage) {
  std::string good = reviewJson(ReviewArgs{});
  ReviewArgs wrong_version;
  wrong_version.api_version = "admission.k8s.io/v2";
  ReviewArgs no_uid;
  no_uid.uid = "";
  struct Case {
    std::string body, message;
  } cases[] = {
      {"", "empty body"},
      {good.substr(0, good.size() / 2), "not JSON"},
      {good.substr(0, good.size() - 1), "not JSON"},
      {"{\"apiVersion\":", "not JSON"},
      {"[1,2]", "not an AdmissionReview"},
      {"\"text\"", "not an AdmissionReview"},
      {reviewJson(wrong_version), "admission.k8s.io/v2"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod"})", "is not AdmissionReview"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "no request"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":7})",
       "no request"},
      {reviewJson(no_uid), "no uid"},
  };
  for (const auto& c : cases) {
    AdmissionResult r = review(c.body, settings());
    EXPECT_EQ(r.http_status, 400) << c.body;
    EXPECT_EQ(r.outcome, Outcome::kBadRequest) << c.body;
    EXPECT_THAT(r.message, HasSubstr(c.message)) << c.body;
    EXPECT_THAT(r.body, HasSubstr(c.message)) << c.body;
  }
}

// RapidJSON recursed once per level: 200 KB of '[' took the injector down, unauthenticated.
TEST(injector_admission, DeeplyNestedBodiesAreBadRequests) {
  ReviewArgs deep_object;
  deep_object.object = podJson(R"("x":)" + std::string(100000, '[') + std::string(100000, ']'));
  for (const std::string& body : {std::string(200000, '['), reviewJson(deep_object)}) {
    AdmissionResult r = review(body, settings());
    EXPECT_EQ(r.http_status, 400);
    EXPECT_EQ(r.outcome, Outcome::kBadRequest);
    EXPECT_THAT(r.message, HasSubstr("nested deeper than"));
  }
  InjectorMetrics metrics;
  Handler h(settings(), &metrics);
  HttpReply reply = h.handle("POST", "/mutate", "application/json", std::string(200000, '['));
  EXPECT_EQ(reply.status, 400u);
  EXPECT_THAT(reply.body, HasSubstr("not JSON"));
}

struct Denial {
  std::string annotations, annotation;
};

class injector_admission_denied : public ::testing::TestWithParam<Denial> {};

TEST_P(injector_admission_denied, NamesTheAnnotation) {
  ReviewArgs a;
  a.object = podJson(R"("dapr.io/enabled":"true",)" + GetParam().annotations);
  AdmissionResult r = review(reviewJson(a), settings());
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(r.outcome, Outcome::kDenied);
  auto doc = parsed(r);
  const auto& res = doc["response"];
  EXPECT_EQ(std::string(res["uid"].GetString()), a.uid);
  EXPECT_FALSE(res["allowed"].GetBool());
  EXPECT_FALSE(res.HasMember("patch"));
  EXPECT_STREQ(res["result"]["status"].GetString(), "Failure");
  EXPECT_EQ(res["result"]["code"].GetInt(), 400);
  EXPECT_THAT(res["result"]["message"].GetString(), HasSubstr(GetParam().annotation));
}

INSTANTIATE_TEST_SUITE_P(
    BadValues, injector_admission_denied,
    ::testing::Values(
        Denial{R"("dapr.io/app-id":"Orders.Service")", "dapr.io/app-id"},
        Denial{R"("dapr.io/app-id":"-orders")", "dapr.io/app-id"},
        Denial{R"("dapr.io/app-port":"http")", "dapr.io/app-port"},
        Denial{R"("dapr.io/app-port":"80.5")", "dapr.io/app-port"},
        Denial{R"("dapr.io/sidecar-memory-limit":"1GB")", "dapr.io/sidecar-memory-limit"},
        Denial{R"("dapr.io/sidecar-cpu-request":"half")", "dapr.io/sidecar-cpu-request"},
        Denial{R"("dapr.io/app-protocol":"tcp")", "dapr.io/app-protocol"},
        Denial{R"("dapr.io/app-protocol":"grpc")", "dapr.io/app-protocol"},
        Denial{R"("dapr.io/metrics-port":"nine")", "dapr.io/metrics-port"},
        Denial{R"("dapr.io/log-level":"loud")", "dapr.io/log-level"}));

TEST(injector_admission, WhatIsNotForUsIsAllowedWithoutAPatch) {
  std::vector<ReviewArgs> cases(6);
  cases[0].kind = R"({"group":"apps","version":"v1","kind":"Deployment"})";
  cases[1].kind = R"({"group":"","version":"v1","kind":"Service"})";
  cases[2].operation = "UPDATE";
  cases[3].operation = "DELETE";
  cases[4].object = podJson(R"("dapr.io/enabled":"true")",
                            R"([{"name":"app","image":"a"},{"name":"daprd","image":"d"}])");
  cases[5].object = podJson(R"("dapr.io/enabled":"no")");
  for (const auto& a : cases) {
    AdmissionResult r = review(reviewJson(a), settings());
    ASSERT_EQ(r.http_status, 200) << r.body;
    EXPECT_EQ(r.outcome, Outcome::kSkipped) << reviewJson(a);
    auto doc = parsed(r);
    const auto& res = doc["response"];
    EXPECT_EQ(std::string(res["uid"].GetString()), a.uid);
    EXPECT_TRUE(res["allowed"].GetBool());
    EXPECT_FALSE(res.HasMember("patch"));
    EXPECT_FALSE(res.HasMember("patchType"));
  }
}

// As in Dapr: pods a user creates directly (not a controller, not system:masters) are let through
// untouched, whatever their annotations.
TEST(injector_admission, PodsOfRequestersNotAllowedAreLeftAlone) {
  ReviewArgs a;
  a.object = podJson(R"("dapr.io/enabled":"true","dapr.io/app-port":"x")");
  EXPECT_EQ(review(reviewJson(a), settings()).outcome, Outcome::kDenied);
  a.user = R"({"username":"alice","groups":["devs"]})";
  EXPECT_EQ(review(reviewJson(a), settings()).outcome, Outcome::kSkipped);
}

TEST(injector_admission, RequesterAllowList) {
  AdmissionSettings s = settings();
  s.allowed_service_accounts = {"ci:deployer"};
  s.allowed_service_account_prefixes = {"team-*:builder*"};
  auto allowed = [&](const std::string& user) {
    auto doc = json::parse(user);
    EXPECT_TRUE(doc.ok()) << user;
    return requesterAllowed(*doc, s);
  };
  EXPECT_TRUE(allowed(kReplicaSetController));
  EXPECT_TRUE(allowed(R"({"username":"system:serviceaccount:kube-system:job-controller"})"));
  EXPECT_TRUE(allowed(R"({"username":"admin","groups":["system:masters"]})"));
  EXPECT_TRUE(allowed(R"({"username":"system:serviceaccount:ci:deployer"})"));
  EXPECT_TRUE(allowed(R"({"username":"system:serviceaccount:team-a:builder-7"})"));
  EXPECT_FALSE(allowed(R"({"username":"system:serviceaccount:team-a:deployer"})"));
  EXPECT_FALSE(allowed(R"({"username":"system:serviceaccount:ci:deployer2"})"));
  EXPECT_FALSE(allowed(R"({"username":"alice","groups":["system:authenticated"]})"));
  EXPECT_FALSE(allowed(R"({"username":"system:serviceaccount:default:default"})"));
  EXPECT_FALSE(allowed("{}"));
  s.check_requester = false;
  EXPECT_TRUE(allowed(R"({"username":"alice"})"));
}

TEST(injector_admission, WarningsForAnnotationsOutriggerIgnores) {
  ReviewArgs a;
  a.object = podJson(R"("dapr.io/enabled":"true","dapr.io/enable-debug":"true")");
  AdmissionResult r = review(reviewJson(a), settings());
  ASSERT_EQ(r.outcome, Outcome::kInjected) << r.body;
  auto doc = parsed(r);
  ASSERT_TRUE(doc["response"].HasMember("warnings"));
  EXPECT_THAT(doc["response"]["warnings"][0].GetString(), HasSubstr("dapr.io/enable-debug"));
}

// The transport-free router the HTTPS server calls.
TEST(injector_handler, RoutesMutateHealthAndMetrics) {
  InjectorMetrics metrics;
  Handler h(settings(), &metrics);
  std::string body = reviewJson(ReviewArgs{});

  HttpReply ok = h.handle("POST", "/mutate?timeout=10s", "application/json; charset=utf-8", body);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.content_type, "application/json");
  EXPECT_THAT(ok.body, HasSubstr("\"patchType\":\"JSONPatch\""));

  HttpReply bad = h.handle("POST", "/mutate", "application/json", "{");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_THAT(bad.body, HasSubstr("not JSON"));
  HttpReply empty = h.handle("POST", "/mutate", "application/json", "");
  EXPECT_EQ(empty.status, 400u);
  EXPECT_THAT(empty.body, HasSubstr("empty body"));

  HttpReply media = h.handle("POST", "/mutate", "text/plain", body);
  EXPECT_EQ(media.status, 415u);
  EXPECT_THAT(media.body, HasSubstr("application/json"));
  EXPECT_EQ(h.handle("POST", "/mutate", "", body).status, 415u);
  EXPECT_EQ(h.handle("GET", "/mutate", "application/json", "").status, 405u);

  EXPECT_EQ(h.handle("GET", "/healthz", "", "").status, 200u);
  EXPECT_EQ(h.handle("POST", "/healthz", "", "").status, 405u);
  EXPECT_EQ(h.handle("GET", "/nope", "", "").status, 404u);

  ReviewArgs denied;
  denied.object = podJson(R"("dapr.io/enabled":"true","dapr.io/app-port":"x")");
  EXPECT_EQ(h.handle("POST", "/mutate", "application/json", reviewJson(denied)).status, 200u);

  HttpReply m = h.handle("GET", "/metrics", "", "");
  EXPECT_EQ(m.status, 200u);
  EXPECT_THAT(m.body, HasSubstr("dapr_injector_sidecar_injection_requests_total 4"));
  EXPECT_THAT(m.body,
              HasSubstr("dapr_injector_sidecar_injection_succeeded_total{app_id=\"orders\"} 1"));
  EXPECT_THAT(m.body,
              HasSubstr("outrigger_injector_admission_reviews_total{outcome=\"denied\"} 1"));
  EXPECT_THAT(m.body,
              HasSubstr("outrigger_injector_admission_reviews_total{outcome=\"bad_request\"} 2"));
  EXPECT_THAT(m.body, HasSubstr("outrigger_injector_admission_latency_seconds_count 4"));
  EXPECT_THAT(m.body,
              HasSubstr("outrigger_injector_http_requests_total{code=\"415\",path=\"/mutate\"} 2"));
}

TEST(injector_handler, TooLargeIs413AndCounted) {
  InjectorMetrics metrics;
  Handler h(settings(), &metrics);
  HttpReply r = h.tooLarge("/mutate?timeout=10s", 4096);
  EXPECT_EQ(r.status, 413u);
  EXPECT_THAT(r.body, HasSubstr("4096"));
  EXPECT_THAT(metrics.render(),
              HasSubstr("outrigger_injector_admission_reviews_total{outcome=\"bad_request\"} 1"));
}

}  // namespace
}  // namespace outrigger::injector::service
