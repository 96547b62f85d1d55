#include "injector/patcher/values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace outrigger::injector::patcher {
namespace {

using ::testing::HasSubstr;

TEST(injector_values, TruthyAcceptsDaprSpellingsOnly) {
  for (const char* v : {"1", "true", "T", "Yes", "y", "ON", " true "})
    EXPECT_TRUE(isTruthy(v)) << v;
  for (const char* v : {"0", "false", "", "enabled", "2", "tru"}) EXPECT_FALSE(isTruthy(v)) << v;
}

TEST(injector_values, BoolRefusesGarbageNamingTheAnnotation) {
  EXPECT_TRUE(*parseBool("a/b", "yes"));
  EXPECT_FALSE(*parseBool("a/b", "Off"));
  auto r = parseBool("dapr.io/log-as-json", "maybe");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("dapr.io/log-as-json"));
  EXPECT_THAT(r.status().message(), HasSubstr("\"maybe\""));
}

TEST(injector_values, IntegersAndPorts) {
  EXPECT_EQ(*parsePort("p", "8080"), 8080);
  EXPECT_EQ(*parsePort("p", " 1 "), 1);
  EXPECT_EQ(*parsePort("p", "+443"), 443);
  for (const char* v : {"0", "65536", "-1", "80a", "http", "8080.0", "", "0x50"}) {
    EXPECT_FALSE(parsePort("dapr.io/app-port", v).ok()) << v;
  }
  EXPECT_EQ(*parseInt("x", "-1", -1, 10, "n"), -1);
  EXPECT_FALSE(parseInt("x", "99999999999999999999", 0, 10, "n").ok());
}

TEST(injector_values, QuantitiesFollowKubernetesGrammar) {
  long double v = 0;
  ASSERT_TRUE(parseQuantity("100m", &v));
  EXPECT_NEAR(static_cast<double>(v), 0.1, 1e-9);
  ASSERT_TRUE(parseQuantity("128Mi", &v));
  EXPECT_EQ(v, 128.0L * 1024 * 1024);
  ASSERT_TRUE(parseQuantity("1.5", &v));
  EXPECT_EQ(v, 1.5L);
  ASSERT_TRUE(parseQuantity("1e3", &v));
  EXPECT_NEAR(static_cast<double>(v), 1000, 1e-6);
  ASSERT_TRUE(parseQuantity(".5Gi", &v));
  ASSERT_TRUE(parseQuantity("2G", &v));
  for (const char* q : {"", "lots", "1 Gi", "-1", "1MB", "1mi", "Mi", "1.2.3", "1e", "1Kii"}) {
    EXPECT_FALSE(parseQuantity(q, &v)) << q;
  }
}

TEST(injector_values, ByteSizesAsTheSidecarReadsThem) {
  for (const char* s : {"4Mi", "16Ki", "1000000", "2G", "3k"}) EXPECT_TRUE(isByteSize(s)) << s;
  for (const char* s : {"", "4.5Mi", "4MB", "Mi", "-1"}) EXPECT_FALSE(isByteSize(s)) << s;
}

TEST(injector_values, Durations) {
  for (const char* d : {"10s", "1m30s", "500ms", "1.5h", "0", "2h45m"}) {
    EXPECT_TRUE(isDuration(d)) << d;
  }
  for (const char* d : {"", "10", "s", "10x", "1m30", "-5s"}) EXPECT_FALSE(isDuration(d)) << d;
}

TEST(injector_values, Names) {
  EXPECT_TRUE(isDnsLabel("my-app-1"));
  EXPECT_FALSE(isDnsLabel("My-app"));
  EXPECT_FALSE(isDnsLabel("-app"));
  EXPECT_FALSE(isDnsLabel("app-"));
  EXPECT_FALSE(isDnsLabel(std::string(64, 'a')));
  EXPECT_TRUE(isDnsSubdomain("db-secret.v1"));
  EXPECT_FALSE(isDnsSubdomain("db..secret"));
  EXPECT_TRUE(isEnvVarName("MY_VAR.x-1"));
  EXPECT_FALSE(isEnvVarName("1VAR"));
  EXPECT_FALSE(isEnvVarName("A=B"));
  EXPECT_TRUE(isSecretKey("tls.crt"));
  EXPECT_FALSE(isSecretKey("a/b"));
}

}  // namespace
}  // namespace outrigger::injector::patcher
