#include "sidecar/options.h"

#include <boost/program_options.hpp>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "common/flags/command_line.h"
#include "common/logging/log.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar {

namespace po = boost::program_options;

namespace {

std::vector<std::string> splitCsv(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

Status parseBoolFlag(const po::variables_map& vm, const char* name, bool* out) {
  if (!vm.count(name)) return okStatus();
  if (!runtime::parseBool(vm[name].as<std::string>(), out)) {
    return invalidArgumentError(std::string("invalid value '") + vm[name].as<std::string>() +
                                "' for flag --" + name + ": expected true or false");
  }
  return okStatus();
}

Status checkPort(const char* name, int port, bool allow_zero) {
  if (port < (allow_zero ? 0 : 1) || port > 65535) {
    return invalidArgumentError(std::string("invalid value '") + std::to_string(port) +
                                "' for flag --" + name + ": expected a port from 1 to 65535");
  }
  return okStatus();
}

bool isBooleanFlag(const std::string& name) {
  static const char* const kBooleanFlags[] = {"app-ssl",
                                              "enable-mtls",
                                              "enable-app-health-check",
                                              "enable-api-logging",
                                              "disable-builtin-k8s-secret-store",
                                              "enable-profiling",
                                              "enable-metrics",
                                              "log-as-json",
                                              "wait"};
  for (const char* b : kBooleanFlags) {
    if (name == b) return true;
  }
  return false;
}

// daprd parses flags with Go's flag package, where "--log-as-json false" sets the flag to true
// and silently ends flag parsing at "false" (every later flag is ignored); Boost would instead take
// "false" as the value. Neither is safe to guess, so outriggerd refuses the form and names the one
// that works ("--log-as-json=false"); a boolean flag followed by another flag is still true.
Status checkBooleanValues(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.find('=') != std::string::npos) continue;
    const std::string& next = args[i + 1];
    if (!isBooleanFlag(a.substr(2)) || (!next.empty() && next[0] == '-')) continue;
    return invalidArgumentError("unexpected argument '" + next + "' after boolean flag " + a +
                                ": give its value as " + a + "=" + next +
                                " (see outriggerd --help)");
  }
  return okStatus();
}

}  // namespace

bool parseQuantity(const std::string& text, uint64_t* bytes) {
  if (text.empty()) return false;
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return false;
  uint64_t n = std::strtoull(text.substr(0, i).c_str(), nullptr, 10);
  std::string unit = text.substr(i);
  uint64_t scale = 1;
  if (unit.empty())
    scale = 1;
  else if (unit == "Ki")
    scale = 1ull << 10;
  else if (unit == "Mi")
    scale = 1ull << 20;
  else if (unit == "Gi")
    scale = 1ull << 30;
  else if (unit == "k" || unit == "K")
    scale = 1000;
  else if (unit == "M")
    scale = 1000 * 1000;
  else if (unit == "G")
    scale = 1000ull * 1000 * 1000;
  else
    return false;
  *bytes = n * scale;
  return true;
}

int stableInternalPort(const std::string& app_id) {
  // FNV-1a keeps it stable across runs and platforms.
  uint32_t h = 2166136261u;
  for (unsigned char c : app_id) {
    h ^= c;
    h *= 16777619u;
  }
  return 47300 + static_cast<int>(h % 2048);
}

std::vector<std::string> unappliedFlagNotes(const Options& o) {
  std::vector<std::string> notes;
  auto note = [&](bool given, const std::string& text) {
    if (given) notes.push_back(text);
  };
  note(o.enable_app_health_check,
       "--enable-app-health-check: app health probes are not implemented; the app counts as "
       "healthy once its port accepts connections");
  note(!o.placement_host_address.empty() || !o.actors_service.empty() ||
           !o.reminders_service.empty(),
       "--placement-host-address/--actors-service/--reminders-service: actors are not "
       "supported; no placement connection is made");
  note(!o.scheduler_host_address.empty(),
       "scheduler address " + o.scheduler_host_address +
           ": jobs and scheduler reminders are not supported; not used");
  note(o.enable_mtls,
       "--enable-mtls: sidecar-to-sidecar calls are plain HTTP; mTLS is not applied");
  note(!o.sentry_address.empty(),
       "--sentry-address: no workload certificate is requested (mTLS is not supported)");
  note(o.enable_profiling, "--enable-profiling: profiling is not supported");
  note(!o.unix_domain_socket.empty(),
       "--unix-domain-socket: not supported; the API listens on TCP only");
  note(o.disable_builtin_k8s_secret_store,
       "--disable-builtin-k8s-secret-store: outriggerd has no built-in kubernetes secret store");
  return notes;
}

std::string loopbackDefaultsNote(const Options& o) {
  if (o.loopback_defaults.empty()) return "";
  std::string flags;
  for (const auto& f : o.loopback_defaults) flags += (flags.empty() ? "" : ", ") + f;
  return "standalone mode: listening on 127.0.0.1 only (daprd listens on all interfaces); to "
         "accept other hosts, give " +
         flags + " (for example 0.0.0.0)";
}

StatusOr<Options> parseOptions(int argc, const char* const* argv) {
  // daprd accepts "-app-id x" as well as "--app-id x".
  // A negative number after a flag is that flag's value, as in Go's flag package (the dapr CLI
  // passes "--app-max-concurrency -1"); it is glued on so it is not read as a short option.
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool negative_number =
        a.size() > 1 && a[0] == '-' && std::isdigit(static_cast<unsigned char>(a[1]));
    if (negative_number && !args.empty() && args.back().rfind("--", 0) == 0 &&
        args.back().size() > 2 && args.back().find('=') == std::string::npos) {
      args.back() += "=" + a;
      continue;
    }
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') a = "-" + a;
    args.push_back(a);
  }

  Options o;
  std::vector<std::string> resources, components, configs, listen;
  std::string max_body, read_buffer, block_shutdown;
  po::options_description desc("outriggerd flags");
  auto boolean = [] { return po::value<std::string>()->implicit_value("true"); };
  desc.add_options()("help,h", "print this help")("mode", po::value(&o.mode),
                                                  "runtime mode: standalone or kubernetes")(
      "app-id", po::value(&o.app_id), "a unique id for the application")(
      "app-port", po::value(&o.app_port), "the port the application listens on")(
      "app-protocol", po::value(&o.app_protocol),
      "protocol of the app: http, https, h2c, grpc, grpcs")(
      "app-channel-address", po::value(&o.app_channel_address), "the host the app listens on")(
      "app-max-concurrency", po::value(&o.app_max_concurrency),
      "max concurrent calls to the app (-1 unlimited)")("app-ssl", boolean(),
                                                        "deprecated: use --app-protocol https")(
      "dapr-http-port", po::value(&o.dapr_http_port), "HTTP API port")(
      "dapr-grpc-port", po::value(&o.dapr_grpc_port), "gRPC API port")(
      "dapr-internal-grpc-port", po::value(&o.dapr_internal_grpc_port), "sidecar-to-sidecar port")(
      "dapr-internal-grpc-listen-address", po::value(&o.internal_listen_address),
      "bind address of the internal port (standalone default 127.0.0.1)")(
      "dapr-public-port", po::value(&o.dapr_public_port), "public port for health and metadata")(
      "dapr-public-listen-address", po::value(&o.public_listen_address),
      "bind address of the public port (standalone default 127.0.0.1)")(
      "dapr-listen-addresses", po::value<std::vector<std::string>>(&listen)->composing(),
      "addresses the API listens on (CSV; standalone default 127.0.0.1)")(
      "unix-domain-socket", po::value(&o.unix_domain_socket),
      "not supported: a directory for unix sockets")(
      "resources-path", po::value<std::vector<std::string>>(&resources)->composing(),
      "directory of resource YAML files (repeatable)")(
      "components-path", po::value<std::vector<std::string>>(&components)->composing(),
      "deprecated alias of --resources-path")(
      "config", po::value<std::vector<std::string>>(&configs)->composing(),
      "Configuration file(s)")("control-plane-address", po::value(&o.control_plane_address),
                               "operator address")(
      "control-plane-namespace", po::value(&o.control_plane_namespace), "control plane namespace")(
      "control-plane-trust-domain", po::value(&o.control_plane_trust_domain),
      "control plane trust domain")("sentry-address", po::value(&o.sentry_address),
                                    "sentry address")(
      "placement-host-address", po::value(&o.placement_host_address), "placement addresses (CSV)")(
      "actors-service", po::value(&o.actors_service), "actors service")(
      "reminders-service", po::value(&o.reminders_service), "reminders service")(
      "scheduler-host-address", po::value(&o.scheduler_host_address), "scheduler addresses")(
      "enable-mtls", boolean(), "enable mTLS")("allowed-origins", po::value(&o.allowed_origins),
                                               "CORS origins")(
      "max-body-size", po::value(&max_body), "max request body size, e.g. 4Mi")(
      "dapr-http-max-request-size", po::value<int>(), "deprecated: max body size in MB")(
      "read-buffer-size", po::value(&read_buffer), "max header size, e.g. 4Ki")(
      "dapr-http-read-buffer-size", po::value<int>(), "deprecated: read buffer in KB")(
      "dapr-graceful-shutdown-seconds", po::value(&o.graceful_shutdown_seconds),
      "graceful shutdown window")("dapr-block-shutdown-duration", po::value(&block_shutdown),
                                  "block shutdown duration")("enable-app-health-check", boolean(),
                                                             "probe the app's health")(
      "app-health-check-path", po::value(&o.app_health_check_path), "app health path")(
      "app-health-probe-interval", po::value(&o.app_health_probe_interval_s),
      "seconds between probes")("app-health-probe-timeout",
                                po::value(&o.app_health_probe_timeout_ms), "probe timeout in ms")(
      "app-health-threshold", po::value(&o.app_health_threshold), "failures before unhealthy")(
      "enable-api-logging", boolean(), "log every API call")(
      "disable-builtin-k8s-secret-store", boolean(), "disable the kubernetes secret store")(
      "enable-profiling", boolean(), "profiling (not supported; accepted)")(
      "profile-port", po::value<int>(), "profiling port")("enable-metrics", boolean(),
                                                          "serve Prometheus metrics")(
      "metrics-port", po::value(&o.metrics_port), "metrics port")(
      "metrics-listen-address", po::value(&o.metrics_listen_address),
      "metrics bind address (standalone default 127.0.0.1)")("log-level", po::value(&o.log_level),
                                                             "debug, info, warn or error")(
      "log-as-json", boolean(), "log as JSON")("wait", boolean(), "wait for outbound readiness")(
      "version", "print the version and exit")("build-info", "print build information and exit");

  RETURN_IF_ERROR(checkBooleanValues(args));
  // Stray words are collected so that they can be reported by name.
  std::vector<std::string> stray;
  po::options_description hidden;
  hidden.add_options()("stray-argument", po::value<std::vector<std::string>>(&stray));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("stray-argument", -1);
  po::variables_map vm;
  try {
    // No guessing: "--app-i" or "--resources" must not pass for "--app-id" / "--resources-path".
    flags::store(args, all, vm, &positional);
  } catch (const po::error& e) {
    return invalidArgumentError(std::string(e.what()) + " (see outriggerd --help)");
  }
  if (!stray.empty()) {
    return invalidArgumentError("unexpected argument '" + stray.front() +
                                "': outriggerd takes only flags (see outriggerd --help)");
  }
  std::ostringstream help;
  help << desc;
  o.help_text = help.str();
  o.print_help = vm.count("help") > 0;
  o.print_version = vm.count("version") > 0 || vm.count("build-info") > 0;

  bool app_ssl = false;
  RETURN_IF_ERROR(parseBoolFlag(vm, "app-ssl", &app_ssl));
  if (app_ssl && o.app_protocol == "http") o.app_protocol = "https";
  RETURN_IF_ERROR(parseBoolFlag(vm, "enable-mtls", &o.enable_mtls));
  RETURN_IF_ERROR(parseBoolFlag(vm, "enable-app-health-check", &o.enable_app_health_check));
  RETURN_IF_ERROR(parseBoolFlag(vm, "enable-metrics", &o.enable_metrics));
  RETURN_IF_ERROR(parseBoolFlag(vm, "log-as-json", &o.log_as_json));
  RETURN_IF_ERROR(parseBoolFlag(vm, "wait", &o.wait));
  RETURN_IF_ERROR(
      parseBoolFlag(vm, "disable-builtin-k8s-secret-store", &o.disable_builtin_k8s_secret_store));
  RETURN_IF_ERROR(parseBoolFlag(vm, "enable-profiling", &o.enable_profiling));
  if (vm.count("enable-api-logging")) {
    bool api_logging = false;
    RETURN_IF_ERROR(parseBoolFlag(vm, "enable-api-logging", &api_logging));
    o.enable_api_logging = api_logging;
  }

  if (o.mode != "standalone" && o.mode != "kubernetes") {
    return invalidArgumentError("invalid value '" + o.mode +
                                "' for flag --mode: expected standalone or kubernetes");
  }
  if (o.app_protocol != "http" && o.app_protocol != "https" && o.app_protocol != "h2c" &&
      o.app_protocol != "grpc" && o.app_protocol != "grpcs") {
    return invalidArgumentError(
        "invalid value '" + o.app_protocol +
        "' for flag --app-protocol: expected http, https, h2c, grpc or grpcs");
  }
  if (o.app_protocol != "http") {
    return invalidArgumentError("--app-protocol " + o.app_protocol +
                                " is not supported yet: outriggerd speaks http to the app");
  }
  logging::Level level;
  if (!logging::parseLevel(o.log_level, &level)) {
    return invalidArgumentError("invalid value '" + o.log_level +
                                "' for flag --log-level: expected debug, info, warn or error");
  }
  if (vm.count("app-port")) RETURN_IF_ERROR(checkPort("app-port", o.app_port, false));
  RETURN_IF_ERROR(checkPort("dapr-http-port", o.dapr_http_port, true));
  RETURN_IF_ERROR(checkPort("dapr-grpc-port", o.dapr_grpc_port, true));
  RETURN_IF_ERROR(checkPort("dapr-internal-grpc-port", o.dapr_internal_grpc_port, true));
  RETURN_IF_ERROR(checkPort("dapr-public-port", o.dapr_public_port, true));
  RETURN_IF_ERROR(checkPort("metrics-port", o.metrics_port, true));
  if (o.app_max_concurrency == 0 || o.app_max_concurrency < -1) {
    return invalidArgumentError(
        "invalid value '" + std::to_string(o.app_max_concurrency) +
        "' for flag --app-max-concurrency: expected -1 or a positive number");
  }
  // As daprd: a non-positive app health setting means its default.
  if (o.app_health_probe_interval_s <= 0) o.app_health_probe_interval_s = 5;
  if (o.app_health_probe_timeout_ms <= 0) o.app_health_probe_timeout_ms = 500;
  if (o.app_health_threshold < 1) o.app_health_threshold = 3;
  if (o.app_health_probe_timeout_ms > o.app_health_probe_interval_s * 1000) {
    return invalidArgumentError(
        "invalid value for flag --app-health-probe-timeout: it must be smaller than "
        "--app-health-probe-interval");
  }
  if (vm.count("dapr-block-shutdown-duration") &&
      (!runtime::parseDurationMs(block_shutdown, &o.block_shutdown_ms) ||
       o.block_shutdown_ms < 0)) {
    return invalidArgumentError("invalid value '" + block_shutdown +
                                "' for flag --dapr-block-shutdown-duration: expected a duration "
                                "such as 30s");
  }
  if (o.graceful_shutdown_seconds < 0) {
    return invalidArgumentError(
        "invalid value for flag --dapr-graceful-shutdown-seconds: negative");
  }
  if (!max_body.empty() && !parseQuantity(max_body, &o.max_body_bytes)) {
    return invalidArgumentError("invalid value '" + max_body +
                                "' for flag --max-body-size: expected a quantity such as 4Mi");
  }
  if (max_body.empty() && vm.count("dapr-http-max-request-size")) {
    int mb = vm["dapr-http-max-request-size"].as<int>();
    o.max_body_bytes = mb > 0 ? static_cast<uint64_t>(mb) << 20 : 0;
  }
  if (o.max_body_bytes == 0) o.max_body_bytes = kNoBodyLimit;
  if (!read_buffer.empty() && !parseQuantity(read_buffer, &o.read_buffer_bytes)) {
    return invalidArgumentError("invalid value '" + read_buffer +
                                "' for flag --read-buffer-size: expected a quantity such as 4Ki");
  }
  if (read_buffer.empty() && vm.count("dapr-http-read-buffer-size")) {
    int kb = vm["dapr-http-read-buffer-size"].as<int>();
    if (kb > 0) o.read_buffer_bytes = static_cast<uint64_t>(kb) << 10;
  }
  o.resources_paths = splitCsv(resources);
  for (auto& c : splitCsv(components)) o.resources_paths.push_back(c);
  o.config_paths = configs;
  o.listen_addresses = splitCsv(listen);

  if (!vm.count("control-plane-namespace")) {
    if (const char* ns = std::getenv("DAPR_CONTROLPLANE_NAMESPACE")) o.control_plane_namespace = ns;
  }
  if (!vm.count("control-plane-trust-domain")) {
    if (const char* td = std::getenv("DAPR_CONTROLPLANE_TRUST_DOMAIN")) {
      o.control_plane_trust_domain = td;
    }
  }
  if (o.scheduler_host_address.empty()) {
    for (const char* var : {"DAPR_SCHEDULER_HOST_ADDRESS_DNS_A", "DAPR_SCHEDULER_HOST_ADDRESS"}) {
      const char* v = std::getenv(var);
      if (v && *v) {
        o.scheduler_host_address = v;
        break;
      }
    }
  }
  // Standalone: loopback unless told otherwise; Kubernetes: all interfaces, as daprd. The note
  // names only the listeners that will be opened.
  const bool standalone = o.mode == "standalone";
  const std::string default_address = standalone ? "127.0.0.1" : "0.0.0.0";
  auto default_to = [&](const char* flag, bool given, bool listens, auto* address) {
    if (given) return;
    *address = {default_address};
    if (standalone && listens) o.loopback_defaults.push_back(std::string("--") + flag);
  };
  default_to("dapr-listen-addresses", !o.listen_addresses.empty(), true, &o.listen_addresses);
  default_to("dapr-internal-grpc-listen-address", !o.internal_listen_address.empty(), true,
             &o.internal_listen_address);
  default_to("dapr-public-listen-address", !o.public_listen_address.empty(), o.dapr_public_port > 0,
             &o.public_listen_address);
  default_to("metrics-listen-address", vm.count("metrics-listen-address") > 0, o.enable_metrics,
             &o.metrics_listen_address);

  if (o.dapr_internal_grpc_port == 0 && o.mode == "standalone") {
    o.dapr_internal_grpc_port = stableInternalPort(o.app_id);
  }
  if (o.dapr_internal_grpc_port == 0) o.dapr_internal_grpc_port = 50002;
  return o;
}

}  // namespace outrigger::sidecar
