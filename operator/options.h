#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace outrigger::operator_ {

inline constexpr int kDefaultApiPort = 6500;
inline constexpr int kDefaultHealthzPort = 8080;
inline constexpr int kDefaultMetricsPort = 9090;

struct Options {
  std::string kubeconfig;  // empty: in-cluster configuration
  std::string listen_address = "0.0.0.0";
  int port = kDefaultApiPort;
  int healthz_port = kDefaultHealthzPort;
  int metrics_port = kDefaultMetricsPort;
  bool leader_elect = true;
  std::string lease_namespace;  // default: $POD_NAMESPACE, else "default"
  std::string identity;         // default: $POD_NAME, else the host name
  // Leader election timing, as client-go's flags: a Lease unrenewed for lease_duration is taken
  // over; a leader unable to renew for renew_deadline steps down; rounds every retry_period.
  int lease_duration_seconds = 15;
  int renew_deadline_ms = 10000;
  int retry_period_ms = 2000;
  // Sidecars present a service-account token of their namespace (TokenReview); off only for
  // development.
  bool authenticate_sidecars = true;
  // Token audiences accepted besides the API server's own; default: the Sentry's, which the
  // injector's projected token carries (spiffe://cluster.local/ns/<lease namespace>/dapr-sentry).
  std::vector<std::string> token_audiences;
  std::string log_level = "info";
  bool log_as_json = false;
  bool print_help = false;
  std::string help_text;
};

StatusOr<Options> parseOptions(int argc, const char* const* argv);

// A Go duration ("15s", "500ms", "1m30s", "1.5s") in milliseconds; false when malformed.
bool parseGoDurationMs(const std::string& text, int64_t* out);

}  // namespace outrigger::operator_
