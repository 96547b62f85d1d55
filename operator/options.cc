#include "operator/options.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <tuple>
#include <utility>

#include "common/flags/command_line.h"
#include "common/logging/log.h"

namespace outrigger::operator_ {

namespace po = boost::program_options;

bool parseGoDurationMs(const std::string& text, int64_t* out) {
  static const std::pair<const char*, double> kUnits[] = {
      {"ns", 1e-6}, {"us", 1e-3}, {"\u00b5s", 1e-3}, {"ms", 1},
      {"s", 1e3},   {"m", 6e4},   {"h", 3.6e6}};
  if (text.empty()) return false;
  if (text == "0") {
    *out = 0;
    return true;
  }
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return false;
    double number;
    try {
      number = std::stod(text.substr(start, i - start));
    } catch (const std::exception&) {
      return false;
    }
    size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.')
      ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    bool known = false;
    for (const auto& [name, ms] : kUnits) {
      if (unit == name) {
        total += number * ms;
        known = true;
      }
    }
    if (!known) return false;
  }
  if (total > 1e15) return false;
  *out = static_cast<int64_t>(total);
  return true;
}

StatusOr<Options> parseOptions(int argc, const char* const* argv) {
  Options o;
  std::string leader_elect = "true", log_as_json = "false";
  std::string lease_duration = "15s", renew_deadline = "10s", retry_period = "2s";
  std::string authenticate_sidecars = "true", token_audiences;
  po::options_description desc("outrigger-operator flags");
  desc.add_options()("help,h", "print this help")(
      "kubeconfig", po::value(&o.kubeconfig),
      "kubeconfig file (default: in-cluster configuration)")(
      "listen-address", po::value(&o.listen_address), "address of the sidecar API")(
      "port", po::value(&o.port), "port of the sidecar API (components stream)")(
      "healthz-port", po::value(&o.healthz_port), "health port")(
      "metrics-port", po::value(&o.metrics_port), "Prometheus metrics port")(
      "leader-elect", po::value(&leader_elect)->implicit_value("true"),
      "elect a leader among replicas")("lease-namespace", po::value(&o.lease_namespace),
                                       "namespace of the leader Lease")(
      "identity", po::value(&o.identity), "this replica's identity in the Lease")(
      "leader-elect-lease-duration", po::value(&lease_duration),
      "how long a Lease unrenewed stays with its holder (whole seconds; default 15s)")(
      "leader-elect-renew-deadline", po::value(&renew_deadline),
      "how long the leader keeps trying to renew before it steps down (default 10s)")(
      "leader-elect-retry-period", po::value(&retry_period),
      "interval of acquire and renew attempts (default 2s)")(
      "authenticate-sidecars", po::value(&authenticate_sidecars)->implicit_value("true"),
      "require a service-account token of the namespace streamed (false: development only)")(
      "token-audiences", po::value(&token_audiences),
      "comma-separated token audiences accepted besides the API server's (default: "
      "spiffe://cluster.local/ns/<lease namespace>/dapr-sentry)")(
      "log-level", po::value(&o.log_level), "debug, info, warn or error")(
      "log-as-json", po::value(&log_as_json)->implicit_value("true"), "log as JSON");
  po::variables_map vm;
  try {
    flags::store(flags::longForms(argc, argv), desc, vm);
  } catch (const po::error& e) {
    return invalidArgumentError(std::string(e.what()) + " (see outrigger-operator --help)");
  }
  std::ostringstream help;
  help << desc;
  o.help_text = help.str();
  o.print_help = vm.count("help") > 0;
  auto boolean = [](const std::string& v, const char* flag, bool* out) -> Status {
    if (v == "true" || v == "1")
      *out = true;
    else if (v == "false" || v == "0")
      *out = false;
    else
      return invalidArgumentError(std::string("invalid value '") + v + "' for flag --" + flag);
    return okStatus();
  };
  RETURN_IF_ERROR(boolean(leader_elect, "leader-elect", &o.leader_elect));
  RETURN_IF_ERROR(boolean(log_as_json, "log-as-json", &o.log_as_json));
  RETURN_IF_ERROR(
      boolean(authenticate_sidecars, "authenticate-sidecars", &o.authenticate_sidecars));
  for (auto [name, port] : {std::pair{"port", o.port},
                            {"healthz-port", o.healthz_port},
                            {"metrics-port", o.metrics_port}}) {
    if (port < 0 || port > 65535) {
      return invalidArgumentError(std::string("invalid value '") + std::to_string(port) +
                                  "' for flag --" + name);
    }
  }
  int64_t lease_ms = 0, renew_ms = 0, retry_ms = 0;
  for (auto [flag, text, out] :
       {std::tuple{"leader-elect-lease-duration", &lease_duration, &lease_ms},
        {"leader-elect-renew-deadline", &renew_deadline, &renew_ms},
        {"leader-elect-retry-period", &retry_period, &retry_ms}}) {
    if (!parseGoDurationMs(*text, out) || *out <= 0 || *out > 24 * 3600 * 1000) {
      return invalidArgumentError("invalid value '" + *text + "' for flag --" + flag);
    }
  }
  // The Lease holds its duration in whole seconds.
  if (lease_ms % 1000 != 0) {
    return invalidArgumentError("invalid value '" + lease_duration +
                                "' for flag --leader-elect-lease-duration: whole seconds only");
  }
  if (renew_ms >= lease_ms || retry_ms >= renew_ms) {
    return invalidArgumentError(
        "leader election needs retry period < renew deadline < lease duration");
  }
  o.lease_duration_seconds = static_cast<int>(lease_ms / 1000);
  o.renew_deadline_ms = static_cast<int>(renew_ms);
  o.retry_period_ms = static_cast<int>(retry_ms);
  logging::Level level;
  if (!logging::parseLevel(o.log_level, &level)) {
    return invalidArgumentError("invalid value '" + o.log_level + "' for flag --log-level");
  }
  if (o.lease_namespace.empty()) {
    const char* ns = std::getenv("POD_NAMESPACE");
    o.lease_namespace = ns ? ns : "default";
  }
  if (vm.count("token-audiences")) {
    std::stringstream list(token_audiences);
    for (std::string a; std::getline(list, a, ',');) {
      if (!a.empty()) o.token_audiences.push_back(a);
    }
  } else {
    o.token_audiences = {"spiffe://cluster.local/ns/" + o.lease_namespace + "/dapr-sentry"};
  }
  if (o.identity.empty()) {
    if (const char* pod = std::getenv("POD_NAME")) {
      o.identity = pod;
    } else {
      char host[256] = {0};
      gethostname(host, sizeof(host) - 1);
      o.identity = std::string(host) + "-" + std::to_string(getpid());
    }
  }
  return o;
}

}  // namespace outrigger::operator_
