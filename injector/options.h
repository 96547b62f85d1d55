#pragma once

// outrigger-injector's flags; each has an environment variable used when the flag is not given.

#include <string>
#include <vector>

#include "common/status/status.h"
#include "injector/service/admission.h"

namespace outrigger::injector {

struct Options {
  std::string listen_address = "0.0.0.0";
  int port = 4000;
  std::string tls_cert_file;
  std::string tls_key_file;
  int tls_check_interval_ms = 1000;
  int metrics_port = 9090;  // plain HTTP, path / and /metrics; 0: off
  uint64_t max_request_bytes = 2 * 1024 * 1024;
  int threads = 1;
  std::string log_level = "info";
  bool log_as_json = false;
  service::AdmissionSettings admission;

  bool print_help = false;
  std::string help_text;
};

StatusOr<Options> parseOptions(int argc, const char* const* argv);

}  // namespace outrigger::injector
