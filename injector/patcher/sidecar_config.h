#pragma once

// The sidecar settings a pod asks for through its annotations, checked: every bad value is an
// InvalidArgument naming the annotation, so the pod is denied rather than created broken.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace outrigger::injector::patcher {

using AnnotationMap = std::map<std::string, std::string, std::less<>>;

struct ProbeSettings {
  int delay_seconds = 3;
  int timeout_seconds = 3;
  int period_seconds = 6;
  int failure_threshold = 3;
};

struct EnvFromSecret {
  std::string name, secret, key;
};

struct ExtraMount {
  std::string volume, path;
  bool read_only = true;
};

struct SidecarConfig {
  std::string app_id;  // as annotated; empty when the pod did not set it
  std::optional<int> app_port;
  std::string app_protocol = "http";
  std::string app_channel_address;
  std::string config;
  std::optional<int> app_max_concurrency;
  std::string log_level = "info";
  bool log_as_json = false;
  std::optional<bool> enable_api_logging;
  bool enable_metrics = true;
  int metrics_port = 9090;
  int http_port = 3500;
  int public_port = 3501;
  int grpc_port = 50001;
  int internal_grpc_port = 50002;
  std::string listen_addresses = "[::1],127.0.0.1";
  std::string api_token_secret, app_token_secret;
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<EnvFromSecret> env_from_secret;
  std::string cpu_request, cpu_limit, memory_request, memory_limit;
  ProbeSettings liveness, readiness;
  std::string image;  // empty: the injector's default
  std::string seccomp_profile_type;
  std::string max_body_size, read_buffer_size;
  std::optional<int> http_max_request_size_mb, http_read_buffer_size_kb;
  std::optional<int> graceful_shutdown_seconds;
  std::string block_shutdown_duration;
  std::vector<ExtraMount> volume_mounts;
  bool disable_builtin_k8s_secret_store = false;
  bool enable_app_health_check = false;
  std::string app_health_check_path;
  std::optional<int> app_health_probe_interval, app_health_probe_timeout, app_health_threshold;
  std::optional<std::string> placement_address;  // unset: the injector's default; "": none
  std::optional<std::string> scheduler_address;
  bool native_sidecar = false;
  // Annotations accepted but not acted on, one message each.
  std::vector<std::string> warnings;
};

// Reads every annotation of the catalogue (dapr.io/enabled is the caller's business).
StatusOr<SidecarConfig> parseSidecarConfig(const AnnotationMap& annotations);

}  // namespace outrigger::injector::patcher
