#include "injector/patcher/sidecar_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace outrigger::injector::patcher {
namespace {

using ::testing::HasSubstr;

TEST(injector_sidecar_config, DefaultsAreTheCatalogues) {
  auto c = parseSidecarConfig({});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->app_protocol, "http");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_FALSE(c->log_as_json);
  EXPECT_TRUE(c->enable_metrics);
  EXPECT_EQ(c->metrics_port, 9090);
  EXPECT_EQ(c->grpc_port, 50001);
  EXPECT_EQ(c->internal_grpc_port, 50002);
  EXPECT_EQ(c->listen_addresses, "[::1],127.0.0.1");
  EXPECT_EQ(c->liveness.delay_seconds, 3);
  EXPECT_EQ(c->liveness.timeout_seconds, 3);
  EXPECT_EQ(c->liveness.period_seconds, 6);
  EXPECT_EQ(c->liveness.failure_threshold, 3);
  EXPECT_EQ(c->readiness.period_seconds, 6);
  EXPECT_FALSE(c->app_port.has_value());
  EXPECT_FALSE(c->graceful_shutdown_seconds.has_value());
  EXPECT_FALSE(c->placement_address.has_value());
  EXPECT_FALSE(c->native_sidecar);
  EXPECT_TRUE(c->warnings.empty());
}

TEST(injector_sidecar_config, ReadsEveryAnnotation) {
  AnnotationMap m = {
      {"dapr.io/app-id", " orders "},
      {"dapr.io/app-port", "8080"},
      {"dapr.io/app-protocol", "http"},
      {"dapr.io/app-channel-address", "10.0.0.1"},
      {"dapr.io/config", "tracing"},
      {"dapr.io/app-max-concurrency", "-1"},
      {"dapr.io/log-level", "debug"},
      {"dapr.io/log-as-json", "true"},
      {"dapr.io/enable-api-logging", "false"},
      {"dapr.io/enable-metrics", "false"},
      {"dapr.io/metrics-port", "9999"},
      {"dapr.io/sidecar-listen-addresses", "0.0.0.0, [::]"},
      {"dapr.io/api-token-secret", "api-token"},
      {"dapr.io/app-token-secret", "app-token"},
      {"dapr.io/env", "A=1, B=two=2"},
      {"dapr.io/env-from-secret", "C=creds,D=creds:password"},
      {"dapr.io/sidecar-cpu-request", "100m"},
      {"dapr.io/sidecar-cpu-limit", "1"},
      {"dapr.io/sidecar-memory-request", "64Mi"},
      {"dapr.io/sidecar-memory-limit", "256Mi"},
      {"dapr.io/sidecar-liveness-probe-delay-seconds", "10"},
      {"dapr.io/sidecar-readiness-probe-threshold", "7"},
      {"dapr.io/sidecar-image", "registry.local/outriggerd:1.2"},
      {"dapr.io/sidecar-seccomp-profile-type", "RuntimeDefault"},
      {"dapr.io/max-body-size", "16Mi"},
      {"dapr.io/read-buffer-size", "8Ki"},
      {"dapr.io/http-max-request-size", "8"},
      {"dapr.io/http-read-buffer-size", "16"},
      {"dapr.io/graceful-shutdown-seconds", "20"},
      {"dapr.io/block-shutdown-duration", "30s"},
      {"dapr.io/volume-mounts", "certs:/etc/certs"},
      {"dapr.io/volume-mounts-rw", "scratch:/tmp/scratch"},
      {"dapr.io/disable-builtin-k8s-secret-store", "yes"},
      {"dapr.io/enable-app-health-check", "true"},
      {"dapr.io/app-health-check-path", "/health"},
      {"dapr.io/app-health-probe-interval", "10"},
      {"dapr.io/app-health-probe-timeout", "1000"},
      {"dapr.io/app-health-threshold", "2"},
      {"dapr.io/placement-host-address", " "},
      {"dapr.io/scheduler-host-address", "s-0:50006,s-1:50006"},
      {"outrigger.io/native-sidecar", "true"},
  };
  auto c = parseSidecarConfig(m);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->app_id, "orders");
  EXPECT_EQ(*c->app_port, 8080);
  EXPECT_EQ(c->app_protocol, "http");
  EXPECT_EQ(c->app_channel_address, "10.0.0.1");
  EXPECT_EQ(c->config, "tracing");
  EXPECT_EQ(*c->app_max_concurrency, -1);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_TRUE(c->log_as_json);
  EXPECT_EQ(c->enable_api_logging, std::optional<bool>(false));
  EXPECT_FALSE(c->enable_metrics);
  EXPECT_EQ(c->metrics_port, 9999);
  EXPECT_EQ(c->listen_addresses, "0.0.0.0,[::]");
  EXPECT_EQ(c->api_token_secret, "api-token");
  EXPECT_EQ(c->app_token_secret, "app-token");
  ASSERT_EQ(c->env.size(), 2u);
  EXPECT_EQ(c->env[1], (std::pair<std::string, std::string>{"B", "two=2"}));
  ASSERT_EQ(c->env_from_secret.size(), 2u);
  EXPECT_EQ(c->env_from_secret[0].key, "creds");  // the key defaults to the secret's name
  EXPECT_EQ(c->env_from_secret[1].secret, "creds");
  EXPECT_EQ(c->env_from_secret[1].key, "password");
  EXPECT_EQ(c->cpu_request, "100m");
  EXPECT_EQ(c->memory_limit, "256Mi");
  EXPECT_EQ(c->liveness.delay_seconds, 10);
  EXPECT_EQ(c->readiness.failure_threshold, 7);
  EXPECT_EQ(c->image, "registry.local/outriggerd:1.2");
  EXPECT_EQ(c->seccomp_profile_type, "RuntimeDefault");
  EXPECT_EQ(c->max_body_size, "16Mi");
  EXPECT_EQ(*c->http_max_request_size_mb, 8);
  EXPECT_EQ(*c->graceful_shutdown_seconds, 20);
  EXPECT_EQ(c->block_shutdown_duration, "30s");
  ASSERT_EQ(c->volume_mounts.size(), 2u);
  EXPECT_TRUE(c->volume_mounts[0].read_only);
  EXPECT_FALSE(c->volume_mounts[1].read_only);
  EXPECT_TRUE(c->disable_builtin_k8s_secret_store);
  EXPECT_TRUE(c->enable_app_health_check);
  EXPECT_EQ(*c->app_health_probe_timeout, 1000);
  EXPECT_EQ(c->placement_address, std::optional<std::string>(""));  // blank: no placement
  EXPECT_EQ(*c->scheduler_address, "s-0:50006,s-1:50006");
  EXPECT_TRUE(c->native_sidecar);
}

// Dapr's other protocols are known but outriggerd refuses to start with them: the pod is denied
// instead of getting a sidecar that crash-loops.
TEST(injector_sidecar_config, ProtocolsTheSidecarDoesNotSpeakAreDenied) {
  for (const char* p : {"https", "h2c", "grpc", "grpcs"}) {
    auto c = parseSidecarConfig({{"dapr.io/app-protocol", p}});
    ASSERT_FALSE(c.ok()) << p;
    EXPECT_THAT(c.status().message(), HasSubstr("dapr.io/app-protocol"));
    EXPECT_THAT(c.status().message(), HasSubstr(std::string("app protocol ") + p));
  }
  // app-ssl is Dapr's old spelling of https.
  auto ssl = parseSidecarConfig({{"dapr.io/app-ssl", "true"}});
  ASSERT_FALSE(ssl.ok());
  EXPECT_THAT(ssl.status().message(), HasSubstr("dapr.io/app-ssl"));
  EXPECT_THAT(ssl.status().message(), HasSubstr("https"));
  auto plain = parseSidecarConfig({{"dapr.io/app-ssl", "false"}, {"dapr.io/app-protocol", "http"}});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->app_protocol, "http");
}

TEST(injector_sidecar_config, NegativeGracefulShutdownIsTheDefault) {
  auto c = parseSidecarConfig({{"dapr.io/graceful-shutdown-seconds", "-1"}});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->graceful_shutdown_seconds.has_value());
}

struct BadCase {
  std::string key, value, annotation_in_message;
};

class injector_sidecar_config_bad : public ::testing::TestWithParam<BadCase> {};

TEST_P(injector_sidecar_config_bad, DeniesNamingTheAnnotation) {
  const BadCase& b = GetParam();
  AnnotationMap m = {{b.key, b.value}};
  if (b.key == "dapr.io/sidecar-cpu-request") m["dapr.io/sidecar-cpu-limit"] = "100m";
  if (b.key == "dapr.io/sidecar-memory-request") m["dapr.io/sidecar-memory-limit"] = "64Mi";
  auto c = parseSidecarConfig(m);
  ASSERT_FALSE(c.ok()) << b.key << "=" << b.value;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(b.annotation_in_message));
}

INSTANTIATE_TEST_SUITE_P(
    Values, injector_sidecar_config_bad,
    ::testing::Values(
        BadCase{"dapr.io/app-port", "http", "dapr.io/app-port"},
        BadCase{"dapr.io/app-port", "70000", "dapr.io/app-port"},
        BadCase{"dapr.io/app-protocol", "tcp", "dapr.io/app-protocol"},
        BadCase{"dapr.io/app-ssl", "sometimes", "dapr.io/app-ssl"},
        BadCase{"dapr.io/config", "My Config", "dapr.io/config"},
        BadCase{"dapr.io/app-max-concurrency", "0", "dapr.io/app-max-concurrency"},
        BadCase{"dapr.io/log-level", "verbose", "dapr.io/log-level"},
        BadCase{"dapr.io/log-as-json", "maybe", "dapr.io/log-as-json"},
        BadCase{"dapr.io/enable-metrics", "si", "dapr.io/enable-metrics"},
        BadCase{"dapr.io/metrics-port", "-5", "dapr.io/metrics-port"},
        BadCase{"dapr.io/metrics-port", "3500", "dapr.io/metrics-port"},
        BadCase{"dapr.io/app-port", "50001", "dapr.io/app-port"},
        BadCase{"dapr.io/grpc-port", "3501", "dapr.io/grpc-port"},
        BadCase{"dapr.io/api-token-secret", "Bad_Secret", "dapr.io/api-token-secret"},
        BadCase{"dapr.io/env", "NOEQUALS", "dapr.io/env"},
        BadCase{"dapr.io/env", "1BAD=x", "dapr.io/env"},
        BadCase{"dapr.io/env", "A=1,A=2", "dapr.io/env"},
        BadCase{"dapr.io/env-from-secret", "A=Bad_Secret", "dapr.io/env-from-secret"},
        BadCase{"dapr.io/env-from-secret", "A", "dapr.io/env-from-secret"},
        BadCase{"dapr.io/sidecar-cpu-request", "lots", "dapr.io/sidecar-cpu-request"},
        BadCase{"dapr.io/sidecar-cpu-limit", "-1", "dapr.io/sidecar-cpu-limit"},
        BadCase{"dapr.io/sidecar-memory-limit", "1GB", "dapr.io/sidecar-memory-limit"},
        BadCase{"dapr.io/sidecar-cpu-request", "2", "dapr.io/sidecar-cpu-request"},
        BadCase{"dapr.io/sidecar-memory-request", "1Gi", "dapr.io/sidecar-memory-request"},
        BadCase{"dapr.io/sidecar-liveness-probe-delay-seconds", "soon",
                "dapr.io/sidecar-liveness-probe-delay-seconds"},
        BadCase{"dapr.io/sidecar-readiness-probe-period-seconds", "0",
                "dapr.io/sidecar-readiness-probe-period-seconds"},
        BadCase{"dapr.io/sidecar-liveness-probe-threshold", "-3",
                "dapr.io/sidecar-liveness-probe-threshold"},
        BadCase{"dapr.io/sidecar-image", "has space:1", "dapr.io/sidecar-image"},
        BadCase{"dapr.io/sidecar-seccomp-profile-type", "Localhost",
                "dapr.io/sidecar-seccomp-profile-type"},
        BadCase{"dapr.io/sidecar-seccomp-profile-type", "strict",
                "dapr.io/sidecar-seccomp-profile-type"},
        BadCase{"dapr.io/max-body-size", "4MB", "dapr.io/max-body-size"},
        BadCase{"dapr.io/read-buffer-size", "lots", "dapr.io/read-buffer-size"},
        BadCase{"dapr.io/http-max-request-size", "0", "dapr.io/http-max-request-size"},
        BadCase{"dapr.io/graceful-shutdown-seconds", "5s", "dapr.io/graceful-shutdown-seconds"},
        BadCase{"dapr.io/block-shutdown-duration", "30", "dapr.io/block-shutdown-duration"},
        BadCase{"dapr.io/volume-mounts", "certs", "dapr.io/volume-mounts"},
        BadCase{"dapr.io/volume-mounts-rw", "certs:relative/path", "dapr.io/volume-mounts-rw"},
        BadCase{"dapr.io/app-health-check-path", "health", "dapr.io/app-health-check-path"},
        BadCase{"dapr.io/app-health-probe-timeout", "6000", "dapr.io/app-health-probe-timeout"},
        BadCase{"dapr.io/app-health-threshold", "x", "dapr.io/app-health-threshold"},
        BadCase{"dapr.io/placement-host-address", "a b", "dapr.io/placement-host-address"},
        BadCase{"outrigger.io/native-sidecar", "perhaps", "outrigger.io/native-sidecar"}));

TEST(injector_sidecar_config, UnsupportedAnnotationsWarn) {
  auto c = parseSidecarConfig({{"dapr.io/enable-debug", "true"},
                               {"dapr.io/enable-profiling", "false"},
                               {"dapr.io/unix-domain-socket-path", "/tmp/sock"}});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_THAT(c->warnings[0], HasSubstr("dapr.io/enable-debug"));
  EXPECT_THAT(c->warnings[1], HasSubstr("dapr.io/unix-domain-socket-path"));
}

}  // namespace
}  // namespace outrigger::injector::patcher
