#pragma once

// outriggerd's command line: daprd's flags, names and defaults (contract §3.1), single-dash forms
// accepted too.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace outrigger::sidecar {

inline constexpr int kDefaultHttpPort = 3500;
inline constexpr int kDefaultGrpcPort = 50001;
inline constexpr int kDefaultMetricsPort = 9090;
inline constexpr int kDefaultGracefulShutdownSeconds = 5;
inline constexpr uint64_t kDefaultMaxBodyBytes = 4ull << 20;
// A body size limit of zero or less turns the limit off, as in daprd.
inline constexpr uint64_t kNoBodyLimit = ~0ull;
inline constexpr const char* kRuntimeVersion = "1.15.0-outrigger.0.1.0";

struct Options {
  std::string mode = "standalone";
  std::string app_id;
  int app_port = 0;  // 0: no app channel
  std::string app_protocol = "http";
  std::string app_channel_address = "127.0.0.1";
  int app_max_concurrency = -1;
  int dapr_http_port = kDefaultHttpPort;
  int dapr_grpc_port = kDefaultGrpcPort;
  int dapr_internal_grpc_port = 0;  // 0: derived from the app id in standalone mode
  // Bind addresses. Not given, parseOptions makes them loopback (127.0.0.1) in standalone mode
  // (unlike daprd: nothing else on the network reaches a sidecar unless told to) and all
  // interfaces (0.0.0.0) in Kubernetes mode, where other pods, probes and Prometheus call in.
  std::string internal_listen_address;
  int dapr_public_port = 0;
  std::string public_listen_address;
  std::vector<std::string> listen_addresses;
  std::vector<std::string> resources_paths;
  // Standalone: Configuration files; Kubernetes: the name of the Configuration to use.
  std::vector<std::string> config_paths;
  std::string control_plane_address;
  std::string control_plane_namespace = "default";
  std::string control_plane_trust_domain = "localhost";
  std::string sentry_address;
  std::string placement_host_address;
  std::string actors_service;
  std::string reminders_service;
  std::string scheduler_host_address;  // the flag, else $DAPR_SCHEDULER_HOST_ADDRESS
  bool enable_mtls = false;
  std::string allowed_origins = "*";
  uint64_t max_body_bytes = kDefaultMaxBodyBytes;
  uint64_t read_buffer_bytes = 4096;
  int graceful_shutdown_seconds = kDefaultGracefulShutdownSeconds;
  int64_t block_shutdown_ms = -1;  // --dapr-block-shutdown-duration; -1: not given
  bool enable_app_health_check = false;
  std::string app_health_check_path = "/healthz";
  int app_health_probe_interval_s = 5;
  int app_health_probe_timeout_ms = 500;
  int app_health_threshold = 3;
  // Unset: the Configuration's logging.apiLogging.enabled decides (default off).
  std::optional<bool> enable_api_logging;
  bool disable_builtin_k8s_secret_store = false;
  bool enable_profiling = false;
  std::string unix_domain_socket;
  std::string log_level = "info";
  bool log_as_json = false;
  bool enable_metrics = true;
  int metrics_port = kDefaultMetricsPort;
  std::string metrics_listen_address;
  // The --flags whose standalone loopback default applied, for the start-up log.
  std::vector<std::string> loopback_defaults;
  bool wait = false;
  bool print_version = false;
  bool print_help = false;
  std::string help_text;
};

// Parses argv (and the DAPR_* environment defaults daprd honours). An InvalidArgument status
// carries a message fit for the user; the caller exits 1.
StatusOr<Options> parseOptions(int argc, const char* const* argv);

// One line per flag that is accepted but not (fully) applied, for the start-up log.
std::vector<std::string> unappliedFlagNotes(const Options& options);

// The start-up line saying which listeners kept to loopback and how to open them up; "" when
// every address was given.
std::string loopbackDefaultsNote(const Options& options);

// Kubernetes quantities: "4Mi", "4M", "512Ki", "1024".
bool parseQuantity(const std::string& text, uint64_t* bytes);

// The internal port daprd derives from an app id in standalone mode: stable, in 47300-49347.
int stableInternalPort(const std::string& app_id);

}  // namespace outrigger::sidecar
