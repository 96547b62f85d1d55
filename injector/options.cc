#include "injector/options.h"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/flags/command_line.h"
#include "common/logging/log.h"

namespace outrigger::injector {

namespace po = boost::program_options;

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// The flag when given, else the first environment variable set, else the default already there.
void fromEnv(const po::variables_map& vm, const char* flag, std::string* out,
             std::initializer_list<const char*> vars) {
  if (vm.count(flag) && !vm[flag].defaulted()) return;
  for (const char* var : vars) {
    if (const char* v = env(var)) {
      *out = v;
      return;
    }
  }
}

Status parseBool(const std::string& v, const char* flag, bool* out) {
  if (v == "true" || v == "1") {
    *out = true;
  } else if (v == "false" || v == "0") {
    *out = false;
  } else {
    return invalidArgumentError("invalid value '" + v + "' for flag --" + flag +
                                ": expected true or false");
  }
  return okStatus();
}

std::vector<std::string> splitCsv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

StatusOr<Options> parseOptions(int argc, const char* const* argv) {
  Options o;
  auto& cfg = o.admission.injector;
  std::string log_as_json = "false", enable_mtls = "false", allow_any = "false";
  std::string trust_anchors_file, allowed, allowed_prefixes, placement;
  po::options_description desc("outrigger-injector flags");
  desc.add_options()("help,h", "print this help")(
      "listen-address", po::value(&o.listen_address)->default_value(o.listen_address),
      "address the webhook listens on")("port", po::value(&o.port)->default_value(o.port),
                                        "HTTPS port of the webhook (/mutate, /healthz)")(
      "tls-cert-file", po::value(&o.tls_cert_file),
      "PEM certificate (chain) of the webhook; reloaded when it changes [TLS_CERT_FILE]")(
      "tls-key-file", po::value(&o.tls_key_file),
      "PEM private key of the webhook; reloaded when it changes [TLS_KEY_FILE]")(
      "tls-check-interval-ms",
      po::value(&o.tls_check_interval_ms)->default_value(o.tls_check_interval_ms),
      "how often, at most, the certificate files are checked for change")(
      "metrics-port", po::value(&o.metrics_port)->default_value(o.metrics_port),
      "plain HTTP port of the Prometheus metrics (0: off)")(
      "max-request-bytes", po::value(&o.max_request_bytes)->default_value(o.max_request_bytes),
      "largest request body accepted (413 above)")(
      "threads", po::value(&o.threads)->default_value(o.threads), "server threads")(
      "sidecar-image", po::value(&cfg.sidecar_image)->default_value(cfg.sidecar_image),
      "sidecar image [SIDECAR_IMAGE]")(
      "sidecar-image-pull-policy",
      po::value(&cfg.image_pull_policy)->default_value(cfg.image_pull_policy),
      "Always, IfNotPresent or Never [SIDECAR_IMAGE_PULL_POLICY]")(
      "sidecar-command", po::value(&cfg.sidecar_command)->default_value(cfg.sidecar_command),
      "the sidecar binary in its image [SIDECAR_COMMAND]")(
      "control-plane-namespace",
      po::value(&cfg.control_plane_namespace)->default_value(cfg.control_plane_namespace),
      "namespace of the control plane [DAPR_CONTROLPLANE_NAMESPACE, POD_NAMESPACE]")(
      "trust-domain", po::value(&cfg.trust_domain)->default_value(cfg.trust_domain),
      "trust domain of the control plane [DAPR_CONTROLPLANE_TRUST_DOMAIN]")(
      "kube-cluster-domain", po::value(&cfg.cluster_domain)->default_value(cfg.cluster_domain),
      "the cluster's DNS domain [KUBE_CLUSTER_DOMAIN]")(
      "control-plane-address", po::value(&cfg.control_plane_address),
      "operator address for sidecars (default dapr-api.<ns>.svc.<domain>:443) "
      "[DAPR_CONTROL_PLANE_ADDRESS]")(
      "sentry-address", po::value(&cfg.sentry_address),
      "sentry address for sidecars (default dapr-sentry.<ns>.svc.<domain>:443) "
      "[DAPR_SENTRY_ADDRESS]")(
      "placement-address", po::value(&placement),
      "placement addresses for sidecars, CSV; empty: none (default "
      "dapr-placement-server.<ns>.svc.<domain>:50005) [DAPR_PLACEMENT_ADDRESS]")(
      "scheduler-address", po::value(&cfg.scheduler_address),
      "scheduler addresses for sidecars, CSV (default: none) [DAPR_SCHEDULER_ADDRESS]")(
      "trust-anchors-file", po::value(&trust_anchors_file),
      "PEM root certificates given to sidecars (default: $DAPR_TRUST_ANCHORS)")(
      "enable-mtls", po::value(&enable_mtls)->implicit_value("true"),
      "sidecars use mTLS between each other (needs sentry) [ENABLE_MTLS]")(
      "allowed-service-accounts", po::value(&allowed),
      "more namespace:name service accounts whose pods get sidecars, CSV "
      "[ALLOWED_SERVICE_ACCOUNTS]")("allowed-service-accounts-prefix-names",
                                    po::value(&allowed_prefixes),
                                    "namespace:name patterns, either part may end with *, CSV "
                                    "[ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES]")(
      "allow-any-requester", po::value(&allow_any)->implicit_value("true"),
      "inject pods whoever creates them (Dapr only injects those of controllers and "
      "system:masters)")("log-level", po::value(&o.log_level)->default_value(o.log_level),
                         "debug, info, warn or error")(
      "log-as-json", po::value(&log_as_json)->implicit_value("true"), "log as JSON");

  po::variables_map vm;
  try {
    flags::store(flags::longForms(argc, argv), desc, vm);
  } catch (const std::exception& e) {
    return invalidArgumentError(std::string(e.what()) + " (see outrigger-injector --help)");
  }
  std::ostringstream help;
  help << desc;
  o.help_text = help.str();
  o.print_help = vm.count("help") > 0;

  fromEnv(vm, "tls-cert-file", &o.tls_cert_file, {"TLS_CERT_FILE"});
  fromEnv(vm, "tls-key-file", &o.tls_key_file, {"TLS_KEY_FILE"});
  fromEnv(vm, "sidecar-image", &cfg.sidecar_image, {"SIDECAR_IMAGE"});
  fromEnv(vm, "sidecar-image-pull-policy", &cfg.image_pull_policy, {"SIDECAR_IMAGE_PULL_POLICY"});
  fromEnv(vm, "sidecar-command", &cfg.sidecar_command, {"SIDECAR_COMMAND"});
  fromEnv(vm, "control-plane-namespace", &cfg.control_plane_namespace,
          {"DAPR_CONTROLPLANE_NAMESPACE", "POD_NAMESPACE", "NAMESPACE"});
  fromEnv(vm, "trust-domain", &cfg.trust_domain, {"DAPR_CONTROLPLANE_TRUST_DOMAIN"});
  fromEnv(vm, "kube-cluster-domain", &cfg.cluster_domain, {"KUBE_CLUSTER_DOMAIN"});
  fromEnv(vm, "control-plane-address", &cfg.control_plane_address, {"DAPR_CONTROL_PLANE_ADDRESS"});
  fromEnv(vm, "sentry-address", &cfg.sentry_address, {"DAPR_SENTRY_ADDRESS"});
  fromEnv(vm, "scheduler-address", &cfg.scheduler_address, {"DAPR_SCHEDULER_ADDRESS"});
  fromEnv(vm, "enable-mtls", &enable_mtls, {"ENABLE_MTLS"});
  fromEnv(vm, "allowed-service-accounts", &allowed, {"ALLOWED_SERVICE_ACCOUNTS"});
  fromEnv(vm, "allowed-service-accounts-prefix-names", &allowed_prefixes,
          {"ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES"});
  bool placement_given = vm.count("placement-address") > 0;
  if (!placement_given) {
    if (const char* v = std::getenv("DAPR_PLACEMENT_ADDRESS")) {
      placement = v;
      placement_given = true;
    }
  }
  cfg.placement_address = placement;
  patcher::fillDefaultAddresses(&cfg, !placement_given);

  RETURN_IF_ERROR(parseBool(log_as_json, "log-as-json", &o.log_as_json));
  RETURN_IF_ERROR(parseBool(enable_mtls, "enable-mtls", &cfg.enable_mtls));
  bool any = false;
  RETURN_IF_ERROR(parseBool(allow_any, "allow-any-requester", &any));
  o.admission.check_requester = !any;
  o.admission.allowed_service_accounts = splitCsv(allowed);
  o.admission.allowed_service_account_prefixes = splitCsv(allowed_prefixes);

  if (!trust_anchors_file.empty()) {
    std::ifstream in(trust_anchors_file, std::ios::binary);
    if (!in) return invalidArgumentError("cannot read --trust-anchors-file " + trust_anchors_file);
    std::ostringstream ss;
    ss << in.rdbuf();
    cfg.trust_anchors = ss.str();
  } else if (const char* v = env("DAPR_TRUST_ANCHORS")) {
    cfg.trust_anchors = v;
  }

  if (o.print_help) return o;
  for (auto [name, port, zero_ok] :
       {std::tuple{"port", o.port, true}, std::tuple{"metrics-port", o.metrics_port, true}}) {
    if (port < (zero_ok ? 0 : 1) || port > 65535) {
      return invalidArgumentError(std::string("invalid value '") + std::to_string(port) +
                                  "' for flag --" + name + ": expected a port");
    }
  }
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    return invalidArgumentError("--tls-cert-file and --tls-key-file are required");
  }
  if (o.threads < 1 || o.threads > 64) {
    return invalidArgumentError("invalid value for flag --threads: expected 1 to 64");
  }
  if (o.tls_check_interval_ms < 0) {
    return invalidArgumentError("invalid value for flag --tls-check-interval-ms: negative");
  }
  if (o.max_request_bytes < 1024) {
    return invalidArgumentError("invalid value for flag --max-request-bytes: at least 1024");
  }
  if (cfg.sidecar_image.empty()) return invalidArgumentError("--sidecar-image is empty");
  if (cfg.image_pull_policy != "Always" && cfg.image_pull_policy != "IfNotPresent" &&
      cfg.image_pull_policy != "Never") {
    return invalidArgumentError("invalid value '" + cfg.image_pull_policy +
                                "' for flag --sidecar-image-pull-policy: expected Always, "
                                "IfNotPresent or Never");
  }
  logging::Level level;
  if (!logging::parseLevel(o.log_level, &level)) {
    return invalidArgumentError("invalid value '" + o.log_level + "' for flag --log-level");
  }
  return o;
}

}  // namespace outrigger::injector
