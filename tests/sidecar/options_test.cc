// outriggerd's command line: daprd's flags and defaults, both dash forms, repeatable paths,
// quantities, and errors that name the flag at fault.

#include "sidecar/options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace outrigger::sidecar {
namespace {

StatusOr<Options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "outriggerd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parseOptions(static_cast<int>(argv.size()), argv.data());
}

// The parse fails with InvalidArgument and a message naming `flag`.
void expectRejected(const std::vector<std::string>& args, const std::string& flag) {
  auto o = parse(args);
  ASSERT_FALSE(o.ok()) << args[0];
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find(flag), std::string::npos)
      << "'" << flag << "' not in: " << o.status().message();
}

TEST(OptionsTest, DefaultsAreDaprds) {
  ::unsetenv("DAPR_CONTROLPLANE_NAMESPACE");
  auto o = parse({});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->mode, "standalone");
  EXPECT_EQ(o->dapr_http_port, 3500);
  EXPECT_EQ(o->dapr_grpc_port, 50001);
  EXPECT_EQ(o->metrics_port, 9090);
  EXPECT_EQ(o->app_port, 0);
  EXPECT_EQ(o->app_protocol, "http");
  EXPECT_EQ(o->app_max_concurrency, -1);
  EXPECT_EQ(o->max_body_bytes, 4u << 20);
  EXPECT_EQ(o->graceful_shutdown_seconds, 5);
  EXPECT_EQ(o->log_level, "info");
  EXPECT_TRUE(o->enable_metrics);
  EXPECT_FALSE(o->enable_mtls);
  EXPECT_EQ(o->control_plane_namespace, "default");
  EXPECT_TRUE(o->resources_paths.empty());
  EXPECT_EQ(o->listen_addresses, (std::vector<std::string>{"127.0.0.1"}));  // not daprd's
  EXPECT_FALSE(o->print_help);
  EXPECT_FALSE(o->print_version);
}

// Unlike daprd, a standalone sidecar is reachable from this host only unless told otherwise
// (issue 12); Kubernetes mode keeps all interfaces, where other pods and probes call in.
TEST(OptionsTest, StandaloneListensOnLoopbackUnlessToldOtherwise) {
  auto o = parse({"--app-id", "a", "--dapr-public-port", "3501"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->listen_addresses, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(o->internal_listen_address, "127.0.0.1");
  EXPECT_EQ(o->public_listen_address, "127.0.0.1");
  EXPECT_EQ(o->metrics_listen_address, "127.0.0.1");
  std::string note = loopbackDefaultsNote(*o);
  for (const char* flag : {"--dapr-listen-addresses", "--dapr-internal-grpc-listen-address",
                           "--dapr-public-listen-address", "--metrics-listen-address"}) {
    EXPECT_NE(note.find(flag), std::string::npos) << flag << " not in: " << note;
  }

  // Opened up flag by flag; the note names only what is still loopback by default.
  o = parse({"--dapr-listen-addresses", "0.0.0.0", "--metrics-listen-address", "0.0.0.0"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->listen_addresses, (std::vector<std::string>{"0.0.0.0"}));
  EXPECT_EQ(o->metrics_listen_address, "0.0.0.0");
  EXPECT_EQ(o->internal_listen_address, "127.0.0.1");
  note = loopbackDefaultsNote(*o);
  EXPECT_NE(note.find("--dapr-internal-grpc-listen-address"), std::string::npos) << note;
  EXPECT_EQ(note.find("--dapr-listen-addresses"), std::string::npos) << note;
  EXPECT_EQ(note.find("--metrics-listen-address"), std::string::npos) << note;
  EXPECT_EQ(note.find("--dapr-public-listen-address"), std::string::npos) << note;  // no port
  o = parse({"--dapr-listen-addresses", "0.0.0.0", "--metrics-listen-address", "0.0.0.0",
             "--dapr-internal-grpc-listen-address", "10.0.0.7"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(loopbackDefaultsNote(*o), "");

  o = parse({"--mode", "kubernetes", "--dapr-public-port", "3501"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->listen_addresses, (std::vector<std::string>{"0.0.0.0"}));
  EXPECT_EQ(o->internal_listen_address, "0.0.0.0");
  EXPECT_EQ(o->public_listen_address, "0.0.0.0");
  EXPECT_EQ(o->metrics_listen_address, "0.0.0.0");
  EXPECT_EQ(loopbackDefaultsNote(*o), "");
  // The injector's addresses are kept.
  o = parse({"--mode", "kubernetes", "--dapr-listen-addresses", "[::1],127.0.0.1"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->listen_addresses, (std::vector<std::string>{"[::1]", "127.0.0.1"}));
}

TEST(OptionsTest, DoubleAndSingleDashFormsAgree) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--app-id", "orders", "--app-port", "8080", "--dapr-http-port", "3601"},
           {"-app-id", "orders", "-app-port", "8080", "-dapr-http-port", "3601"},
           {"--app-id=orders", "--app-port=8080", "-dapr-http-port=3601"},
       }) {
    auto o = parse(args);
    ASSERT_TRUE(o.ok()) << args[0] << ": " << o.status().message();
    EXPECT_EQ(o->app_id, "orders");
    EXPECT_EQ(o->app_port, 8080);
    EXPECT_EQ(o->dapr_http_port, 3601);
  }
}

TEST(OptionsTest, NegativeNumbersAreValuesNotFlags) {
  // The dapr CLI passes "--app-max-concurrency -1" on every run.
  auto o = parse({"--app-id", "a", "--app-max-concurrency", "-1"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->app_max_concurrency, -1);
  o = parse({"-app-max-concurrency", "-1", "-app-id", "a"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->app_max_concurrency, -1);
  EXPECT_EQ(o->app_id, "a");
  // Out of range, and reported as the number given (not mangled into a flag "--10").
  expectRejected({"--dapr-graceful-shutdown-seconds", "-10"}, "dapr-graceful-shutdown-seconds");
  expectRejected({"-app-max-concurrency", "-7"}, "'-7' for flag --app-max-concurrency");
}

TEST(OptionsTest, AppHealthSettingsFallBackToDefaultsLikeDaprd) {
  auto o = parse({"--app-health-threshold", "-10", "--app-health-probe-interval", "0",
                  "-app-health-probe-timeout", "-5", "--app-id", "a"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->app_health_threshold, 3);
  EXPECT_EQ(o->app_health_probe_interval_s, 5);
  EXPECT_EQ(o->app_health_probe_timeout_ms, 500);
  EXPECT_EQ(o->app_id, "a");
  o = parse({"--app-health-probe-interval", "2", "--app-health-probe-timeout", "1500"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->app_health_probe_timeout_ms, 1500);
  expectRejected({"--app-health-probe-interval", "1", "--app-health-probe-timeout", "1500"},
                 "app-health-probe-timeout");
}

TEST(OptionsTest, ResourcesPathIsRepeatableAndCsv) {
  auto o = parse({"--resources-path", "a,b", "--resources-path", "c", "-resources-path", "d",
                  "--components-path", "legacy"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->resources_paths, (std::vector<std::string>{"a", "b", "c", "d", "legacy"}));
  o = parse({"--dapr-listen-addresses", "127.0.0.1,[::1]"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->listen_addresses, (std::vector<std::string>{"127.0.0.1", "[::1]"}));
  o = parse({"--config", "one.yaml", "--config", "two.yaml"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->config_paths, (std::vector<std::string>{"one.yaml", "two.yaml"}));
}

TEST(OptionsTest, BodyAndBufferSizesAreQuantities) {
  auto o = parse({"--max-body-size", "4Mi", "--read-buffer-size", "16Ki"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->max_body_bytes, 4u << 20);
  EXPECT_EQ(o->read_buffer_bytes, 16u << 10);
  o = parse({"--max-body-size", "2M"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->max_body_bytes, 2000000u);
  o = parse({"--max-body-size", "1024"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->max_body_bytes, 1024u);
  // The deprecated flag is in MB, and the new one wins when both are given.
  o = parse({"--dapr-http-max-request-size", "16"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->max_body_bytes, 16u << 20);
  o = parse({"--dapr-http-max-request-size", "16", "--max-body-size", "1Ki"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->max_body_bytes, 1024u);
  // Zero or less: no limit, as in daprd.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--max-body-size", "0"},
                                             {"--dapr-http-max-request-size", "0"},
                                             {"--dapr-http-max-request-size", "-1"}}) {
    o = parse(args);
    ASSERT_TRUE(o.ok()) << args[0] << ": " << o.status().message();
    EXPECT_EQ(o->max_body_bytes, kNoBodyLimit) << args[0] << " " << args[1];
  }
  // The deprecated read buffer flag is in KB; the new one wins.
  o = parse({"--dapr-http-read-buffer-size", "64"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->read_buffer_bytes, 64u << 10);
  o = parse({"--dapr-http-read-buffer-size", "64", "--read-buffer-size", "8Ki"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->read_buffer_bytes, 8u << 10);
}

TEST(OptionsTest, ParseQuantity) {
  uint64_t n = 0;
  EXPECT_TRUE(parseQuantity("512Ki", &n));
  EXPECT_EQ(n, 512u << 10);
  EXPECT_TRUE(parseQuantity("1Gi", &n));
  EXPECT_EQ(n, 1ull << 30);
  EXPECT_TRUE(parseQuantity("3k", &n));
  EXPECT_EQ(n, 3000u);
  EXPECT_TRUE(parseQuantity("0", &n));
  EXPECT_EQ(n, 0u);
  for (const char* bad : {"", "Mi", "4 Mi", "4mi", "4Xi", "-4Mi", "4.5Mi", "lots"}) {
    EXPECT_FALSE(parseQuantity(bad, &n)) << bad;
  }
}

TEST(OptionsTest, BooleanFlags) {
  auto o = parse({"--enable-metrics=false", "--enable-mtls", "--log-as-json=true"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_FALSE(o->enable_metrics);
  EXPECT_TRUE(o->enable_mtls);
  EXPECT_TRUE(o->log_as_json);
  expectRejected({"--enable-metrics=maybe"}, "enable-metrics");
}

TEST(OptionsTest, UnknownAndMalformedFlagsNameTheFlag) {
  expectRejected({"--bogus-flag"}, "bogus-flag");
  expectRejected({"-bogus-flag", "x"}, "bogus-flag");
  expectRejected({"--app-port", "eighty"}, "app-port");
  expectRejected({"--app-port", "70000"}, "app-port");
  expectRejected({"--app-port", "0"}, "app-port");
  expectRejected({"--dapr-http-port", "-5"}, "dapr-http-port");
  expectRejected({"--metrics-port", "65536"}, "metrics-port");
  expectRejected({"--max-body-size", "lots"}, "max-body-size");
  expectRejected({"--read-buffer-size", "4XB"}, "read-buffer-size");
  expectRejected({"--log-level", "loud"}, "log-level");
  expectRejected({"--mode", "cloud"}, "mode");
  expectRejected({"--app-protocol", "smtp"}, "app-protocol");
  expectRejected({"--app-max-concurrency", "0"}, "app-max-concurrency");
  expectRejected({"--app-id"}, "app-id");  // the value is missing
}

// Boost.Program_options would take a unique prefix for the flag it starts ("--app-i" for
// "--app-id"); daprd (Go's flag package) knows only exact names, and so does outriggerd.
TEST(OptionsTest, PrefixesOfFlagsAreUnknownFlags) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--app-i", "x"},
                                             {"--resources", "dir"},
                                             {"--conf", "f.yaml"},
                                             {"-app-i", "x"},
                                             {"--app-i=x"},
                                             {"--log-as", "true"},
                                             {"--dapr-http", "3500"}}) {
    std::string flag = args[0];
    if (flag.rfind("--", 0) != 0) flag = "-" + flag;
    expectRejected(args, "unrecognised option '" + flag + "'");
  }
  // The exact names still work, and a prefix that is itself a flag is that flag.
  auto o = parse({"--app-id", "x", "--resources-path", "dir", "--config", "f.yaml"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->app_id, "x");
  EXPECT_EQ(o->resources_paths, (std::vector<std::string>{"dir"}));
  EXPECT_EQ(o->config_paths, (std::vector<std::string>{"f.yaml"}));
}

// Go's flag package reads "--log-as-json false" as --log-as-json=true followed by a first
// non-flag argument, where daprd silently stops reading flags (Boost alone would take "false" as
// the value). outriggerd refuses the form and says which one to use; a boolean flag followed by
// another flag is still true.
TEST(OptionsTest, SpaceSeparatedBooleanValueIsRejected) {
  expectRejected({"--log-as-json", "false"}, "--log-as-json=false");
  expectRejected({"--app-id", "a", "-enable-metrics", "false", "--app-port", "80"},
                 "--enable-metrics=false");
  expectRejected({"--enable-mtls", "true"}, "--enable-mtls=true");
  expectRejected({"--app-id", "a", "stray"}, "unexpected argument 'stray'");
  expectRejected({"stray", "--app-id", "a"}, "unexpected argument 'stray'");
  auto o = parse({"--log-as-json", "--app-id", "a"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE(o->log_as_json);
  EXPECT_EQ(o->app_id, "a");
  o = parse({"--log-as-json=false", "--enable-metrics=0"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_FALSE(o->log_as_json);
  EXPECT_FALSE(o->enable_metrics);
}

TEST(OptionsTest, HelpAndVersion) {
  auto o = parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->print_help);
  EXPECT_NE(o->help_text.find("--resources-path"), std::string::npos);
  o = parse({"-version"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->print_version);
}

TEST(OptionsTest, InternalPortIsStableInStandaloneMode) {
  auto a = parse({"--app-id", "orders"});
  auto b = parse({"--app-id", "orders"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->dapr_internal_grpc_port, b->dapr_internal_grpc_port);
  EXPECT_EQ(a->dapr_internal_grpc_port, stableInternalPort("orders"));
  EXPECT_GE(stableInternalPort("orders"), 47300);
  EXPECT_LT(stableInternalPort("orders"), 47300 + 2048);
  EXPECT_NE(stableInternalPort("orders"), stableInternalPort("payments"));
  auto explicit_port = parse({"--app-id", "orders", "--dapr-internal-grpc-port", "50010"});
  ASSERT_TRUE(explicit_port.ok());
  EXPECT_EQ(explicit_port->dapr_internal_grpc_port, 50010);
  auto k8s = parse({"--app-id", "orders", "--mode", "kubernetes"});
  ASSERT_TRUE(k8s.ok());
  EXPECT_EQ(k8s->dapr_internal_grpc_port, 50002);
}

TEST(OptionsTest, ControlPlaneNamespaceFromEnvironmentUnlessFlagged) {
  ::setenv("DAPR_CONTROLPLANE_NAMESPACE", "dapr-system", 1);
  auto o = parse({});
  auto flagged = parse({"--control-plane-namespace", "mine"});
  ::unsetenv("DAPR_CONTROLPLANE_NAMESPACE");
  ASSERT_TRUE(o.ok() && flagged.ok());
  EXPECT_EQ(o->control_plane_namespace, "dapr-system");
  EXPECT_EQ(flagged->control_plane_namespace, "mine");
}

// The flags the injector passes (injector/patcher) are all accepted, and kept.
TEST(OptionsTest, InjectorFlagsAreKept) {
  ::unsetenv("DAPR_SCHEDULER_HOST_ADDRESS");
  ::unsetenv("DAPR_SCHEDULER_HOST_ADDRESS_DNS_A");
  auto o = parse({"--mode",
                  "kubernetes",
                  "--config",
                  "appconfig",
                  "--placement-host-address",
                  "dapr-placement-server.dapr-system.svc.cluster.local:50005",
                  "--scheduler-host-address",
                  "sched:50006",
                  "--enable-api-logging=true",
                  "--disable-builtin-k8s-secret-store=true",
                  "--enable-app-health-check=true",
                  "--app-health-check-path",
                  "/ready",
                  "--app-health-probe-interval",
                  "3",
                  "--app-health-probe-timeout",
                  "400",
                  "--app-health-threshold",
                  "2",
                  "--dapr-block-shutdown-duration",
                  "1m30s",
                  "--dapr-internal-grpc-port",
                  "50002",
                  "--dapr-internal-grpc-listen-address",
                  "10.0.0.7",
                  "--dapr-public-listen-address",
                  "127.0.0.1",
                  "--unix-domain-socket",
                  "/var/run/dapr-sockets",
                  "--enable-profiling=false"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->config_paths, (std::vector<std::string>{"appconfig"}));
  EXPECT_EQ(o->placement_host_address, "dapr-placement-server.dapr-system.svc.cluster.local:50005");
  EXPECT_EQ(o->scheduler_host_address, "sched:50006");
  EXPECT_EQ(o->enable_api_logging, true);
  EXPECT_TRUE(o->disable_builtin_k8s_secret_store);
  EXPECT_TRUE(o->enable_app_health_check);
  EXPECT_EQ(o->app_health_check_path, "/ready");
  EXPECT_EQ(o->app_health_probe_interval_s, 3);
  EXPECT_EQ(o->app_health_probe_timeout_ms, 400);
  EXPECT_EQ(o->app_health_threshold, 2);
  EXPECT_EQ(o->block_shutdown_ms, 90000);
  EXPECT_EQ(o->dapr_internal_grpc_port, 50002);
  EXPECT_EQ(o->internal_listen_address, "10.0.0.7");
  EXPECT_EQ(o->public_listen_address, "127.0.0.1");
  EXPECT_EQ(o->unix_domain_socket, "/var/run/dapr-sockets");
  EXPECT_FALSE(o->enable_profiling);
  // Each accepted-but-not-applied flag says so once at start-up.
  auto notes = unappliedFlagNotes(*o);
  for (const char* flag : {"--enable-app-health-check", "--placement-host-address", "sched:50006",
                           "--unix-domain-socket", "--disable-builtin-k8s-secret-store"}) {
    EXPECT_EQ(
        std::count_if(notes.begin(), notes.end(),
                      [&](const std::string& n) { return n.find(flag) != std::string::npos; }),
        1)
        << flag;
  }
  expectRejected({"--dapr-block-shutdown-duration", "soon"}, "dapr-block-shutdown-duration");
  expectRejected({"--enable-api-logging=perhaps"}, "enable-api-logging");
}

TEST(OptionsTest, ApiLoggingIsTriStateAndSchedulerComesFromTheEnvironment) {
  ::setenv("DAPR_SCHEDULER_HOST_ADDRESS", "a:50006,b:50006", 1);
  auto o = parse({});
  ::unsetenv("DAPR_SCHEDULER_HOST_ADDRESS");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_FALSE(o->enable_api_logging.has_value());  // the Configuration decides
  EXPECT_EQ(o->block_shutdown_ms, -1);
  EXPECT_EQ(o->scheduler_host_address, "a:50006,b:50006");
  EXPECT_TRUE(unappliedFlagNotes(*parse({})).empty());
  o = parse({"--enable-api-logging=false"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->enable_api_logging, false);
}

}  // namespace
}  // namespace outrigger::sidecar
