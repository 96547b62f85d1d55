#include "operator/options.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <sstream>

#include "common/logging/log.h"

namespace outrigger::operator_ {

namespace po = boost::program_options;

StatusOr<Options> parseOptions(int argc, const char* const* argv) {
  Options o;
  std::string leader_elect = "true", log_as_json = "false";
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
      "log-level", po::value(&o.log_level), "debug, info, warn or error")(
      "log-as-json", po::value(&log_as_json)->implicit_value("true"), "log as JSON");
  po::variables_map vm;
  try {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.size() > 2 && a[0] == '-' && a[1] != '-') a = "-" + a;  // -flag as --flag
      args.push_back(a);
    }
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
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
  for (auto [name, port] : {std::pair{"port", o.port},
                            {"healthz-port", o.healthz_port},
                            {"metrics-port", o.metrics_port}}) {
    if (port < 0 || port > 65535) {
      return invalidArgumentError(std::string("invalid value '") + std::to_string(port) +
                                  "' for flag --" + name);
    }
  }
  logging::Level level;
  if (!logging::parseLevel(o.log_level, &level)) {
    return invalidArgumentError("invalid value '" + o.log_level + "' for flag --log-level");
  }
  if (o.lease_namespace.empty()) {
    const char* ns = std::getenv("POD_NAMESPACE");
    o.lease_namespace = ns ? ns : "default";
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
