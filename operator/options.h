#pragma once

#include <string>

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
  std::string log_level = "info";
  bool log_as_json = false;
  bool print_help = false;
  std::string help_text;
};

StatusOr<Options> parseOptions(int argc, const char* const* argv);

}  // namespace outrigger::operator_
