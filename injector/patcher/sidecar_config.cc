#include "injector/patcher/sidecar_config.h"

#include <set>

#include "injector/annotations.h"
#include "injector/patcher/values.h"

namespace outrigger::injector::patcher {

namespace a = annotations;

namespace {

constexpr std::string_view kSupportedAppProtocol = "http";

Status bad(std::string_view annotation, std::string_view value, std::string_view why) {
  return invalidArgumentError("invalid annotation " + std::string(annotation) + ": \"" +
                              std::string(value) + "\" " + std::string(why));
}

std::vector<std::string_view> splitList(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view item = trim(s.substr(start, end - start));
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

bool hasSpaceOrComma(std::string_view s) {
  for (char c : s) {
    if (c == ' ' || c == ',' || c == '\t' || c == '\n' || c == '"') return true;
  }
  return false;
}

class Reader {
 public:
  explicit Reader(const AnnotationMap& m) : m_(m) {}
  const std::string* get(std::string_view key) const {
    auto it = m_.find(key);
    return it == m_.end() ? nullptr : &it->second;
  }
  // Present and not blank.
  const std::string* value(std::string_view key) const {
    const std::string* v = get(key);
    return v && !trim(*v).empty() ? v : nullptr;
  }
  Status boolean(std::string_view key, bool* out) const {
    if (const std::string* v = value(key)) {
      ASSIGN_OR_RETURN(*out, parseBool(key, *v));
    }
    return okStatus();
  }
  Status integer(std::string_view key, int min, int max, std::string_view expected,
                 int* out) const {
    if (const std::string* v = value(key)) {
      ASSIGN_OR_RETURN(*out, parseInt(key, *v, min, max, expected));
    }
    return okStatus();
  }
  Status optionalInt(std::string_view key, int min, int max, std::string_view expected,
                     std::optional<int>* out) const {
    if (const std::string* v = value(key)) {
      int n = 0;
      ASSIGN_OR_RETURN(n, parseInt(key, *v, min, max, expected));
      *out = n;
    }
    return okStatus();
  }
  Status port(std::string_view key, int* out) const {
    if (const std::string* v = value(key)) {
      ASSIGN_OR_RETURN(*out, parsePort(key, *v));
    }
    return okStatus();
  }

 private:
  const AnnotationMap& m_;
};

Status readProbe(const Reader& r, std::string_view delay, std::string_view timeout,
                 std::string_view period, std::string_view threshold, ProbeSettings* p) {
  constexpr int kMax = 24 * 3600;
  RETURN_IF_ERROR(r.integer(delay, 0, kMax, "a number of seconds (0 or more)", &p->delay_seconds));
  RETURN_IF_ERROR(
      r.integer(timeout, 1, kMax, "a number of seconds (1 or more)", &p->timeout_seconds));
  RETURN_IF_ERROR(
      r.integer(period, 1, kMax, "a number of seconds (1 or more)", &p->period_seconds));
  RETURN_IF_ERROR(
      r.integer(threshold, 1, 10000, "a failure threshold (1 or more)", &p->failure_threshold));
  return okStatus();
}

Status readQuantity(const Reader& r, std::string_view key, std::string* out, long double* value) {
  if (const std::string* v = r.value(key)) {
    std::string_view t = trim(*v);
    if (!parseQuantity(t, value)) {
      return bad(key, *v, "is not a resource quantity (e.g. 100m, 0.5, 128Mi)");
    }
    *out = std::string(t);
  }
  return okStatus();
}

Status readMounts(const Reader& r, std::string_view key, bool read_only,
                  std::vector<ExtraMount>* out) {
  const std::string* v = r.value(key);
  if (!v) return okStatus();
  for (std::string_view item : splitList(*v, ',')) {
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return bad(key, item, "is not a volume mount (expected volume-name:/mount/path)");
    }
    std::string_view vol = trim(item.substr(0, colon)), path = trim(item.substr(colon + 1));
    if (!isDnsLabel(vol)) return bad(key, item, "does not name a volume (a DNS label)");
    if (path.empty() || path.front() != '/' || hasSpaceOrComma(path)) {
      return bad(key, item, "does not have an absolute mount path");
    }
    out->push_back({std::string(vol), std::string(path), read_only});
  }
  return okStatus();
}

}  // namespace

StatusOr<SidecarConfig> parseSidecarConfig(const AnnotationMap& annotations) {
  Reader r(annotations);
  SidecarConfig c;

  if (const std::string* v = r.value(a::kAppId)) c.app_id = std::string(trim(*v));
  if (const std::string* v = r.value(a::kAppPort)) {
    int port = 0;
    ASSIGN_OR_RETURN(port, parsePort(a::kAppPort, *v));
    c.app_port = port;
  }
  if (const std::string* v = r.value(a::kAppProtocol)) {
    std::string p(trim(*v));
    static const std::set<std::string, std::less<>> kProtocols = {"http", "https", "h2c", "grpc",
                                                                  "grpcs"};
    if (!kProtocols.count(p)) {
      return bad(a::kAppProtocol, *v,
                 "is not a protocol (expected http, https, h2c, grpc or grpcs)");
    }
    c.app_protocol = p;
  }
  bool app_ssl = false;
  RETURN_IF_ERROR(r.boolean(a::kAppSsl, &app_ssl));
  // Dapr's deprecated spelling of https/grpcs.
  if (app_ssl && c.app_protocol == "http") c.app_protocol = "https";
  if (app_ssl && c.app_protocol == "grpc") c.app_protocol = "grpcs";
  // outriggerd refuses to start with any other protocol (sidecar/options.cc): denying the pod
  // now beats a sidecar in a crash loop.
  if (c.app_protocol != kSupportedAppProtocol) {
    std::string_view key = app_ssl ? a::kAppSsl : a::kAppProtocol;
    const std::string* v = r.get(key);
    return bad(key, v ? *v : "",
               "asks for app protocol " + c.app_protocol +
                   ", which Outrigger's sidecar does not speak yet (it talks http to the app)");
  }

  if (const std::string* v = r.value(a::kAppChannelAddress)) {
    if (hasSpaceOrComma(trim(*v))) return bad(a::kAppChannelAddress, *v, "is not a host address");
    c.app_channel_address = std::string(trim(*v));
  }
  if (const std::string* v = r.value(a::kConfig)) {
    if (!isDnsSubdomain(trim(*v))) {
      return bad(a::kConfig, *v, "is not a Configuration name (a DNS subdomain)");
    }
    c.config = std::string(trim(*v));
  }
  if (const std::string* v = r.value(a::kAppMaxConcurrency)) {
    int n = 0;
    ASSIGN_OR_RETURN(n, parseInt(a::kAppMaxConcurrency, *v, -1, 1 << 30,
                                 "a concurrency limit (-1 for none, or 1 or more)"));
    if (n == 0) return bad(a::kAppMaxConcurrency, *v, "is not -1 or a positive number");
    c.app_max_concurrency = n;
  }
  if (const std::string* v = r.value(a::kLogLevel)) {
    std::string l(trim(*v));
    if (l != "debug" && l != "info" && l != "warn" && l != "error" && l != "fatal") {
      return bad(a::kLogLevel, *v, "is not a log level (expected debug, info, warn or error)");
    }
    c.log_level = l;
  }
  RETURN_IF_ERROR(r.boolean(a::kLogAsJson, &c.log_as_json));
  if (r.value(a::kEnableApiLogging)) {
    bool b = false;
    RETURN_IF_ERROR(r.boolean(a::kEnableApiLogging, &b));
    c.enable_api_logging = b;
  }
  RETURN_IF_ERROR(r.boolean(a::kEnableMetrics, &c.enable_metrics));
  RETURN_IF_ERROR(r.port(a::kMetricsPort, &c.metrics_port));
  RETURN_IF_ERROR(r.port(a::kGrpcPort, &c.grpc_port));
  RETURN_IF_ERROR(r.port(a::kInternalGrpcPort, &c.internal_grpc_port));

  // The sidecar binds each of these in the pod's network namespace: two on one port cannot start.
  std::vector<std::pair<std::string_view, int>> ports = {
      {"dapr-http (3500)", c.http_port},
      {"dapr-public (3501)", c.public_port},
      {a::kGrpcPort, c.grpc_port},
      {a::kInternalGrpcPort, c.internal_grpc_port}};
  if (c.enable_metrics) ports.push_back({a::kMetricsPort, c.metrics_port});
  if (c.app_port) ports.push_back({a::kAppPort, *c.app_port});
  for (size_t i = 0; i < ports.size(); ++i) {
    for (size_t j = i + 1; j < ports.size(); ++j) {
      if (ports[i].second == ports[j].second) {
        return invalidArgumentError("invalid annotation " + std::string(ports[j].first) +
                                    ": port " + std::to_string(ports[j].second) +
                                    " is already taken by the sidecar's " +
                                    std::string(ports[i].first));
      }
    }
  }

  if (const std::string* v = r.value(a::kListenAddresses)) {
    auto items = splitList(*v, ',');
    if (items.empty()) return bad(a::kListenAddresses, *v, "lists no address");
    std::string joined;
    for (std::string_view item : items) {
      if (hasSpaceOrComma(item)) return bad(a::kListenAddresses, *v, "is not a list of addresses");
      if (!joined.empty()) joined += ',';
      joined += item;
    }
    c.listen_addresses = joined;
  }
  for (auto [key, out] : {std::pair{a::kApiTokenSecret, &c.api_token_secret},
                          std::pair{a::kAppTokenSecret, &c.app_token_secret}}) {
    if (const std::string* v = r.value(key)) {
      if (!isDnsSubdomain(trim(*v))) return bad(key, *v, "is not a Secret name (a DNS subdomain)");
      *out = std::string(trim(*v));
    }
  }

  std::set<std::string, std::less<>> env_names;
  if (const std::string* v = r.value(a::kEnv)) {
    for (std::string_view item : splitList(*v, ',')) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        return bad(a::kEnv, item, "is not an environment variable (expected NAME=value)");
      }
      std::string_view name = trim(item.substr(0, eq));
      if (!isEnvVarName(name)) return bad(a::kEnv, item, "does not start with a variable name");
      if (!env_names.insert(std::string(name)).second) {
        return bad(a::kEnv, name, "is set twice");
      }
      c.env.emplace_back(std::string(name), std::string(trim(item.substr(eq + 1))));
    }
  }
  if (const std::string* v = r.value(a::kEnvFromSecret)) {
    for (std::string_view item : splitList(*v, ',')) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        return bad(a::kEnvFromSecret, item,
                   "is not a secret reference (expected NAME=secret or NAME=secret:key)");
      }
      std::string_view name = trim(item.substr(0, eq)), ref = trim(item.substr(eq + 1));
      if (!isEnvVarName(name)) {
        return bad(a::kEnvFromSecret, item, "does not start with a variable name");
      }
      if (!env_names.insert(std::string(name)).second) {
        return bad(a::kEnvFromSecret, name, "is set twice");
      }
      std::string_view secret = ref, key = ref;
      if (size_t colon = ref.find(':'); colon != std::string_view::npos) {
        secret = trim(ref.substr(0, colon));
        key = trim(ref.substr(colon + 1));
      }
      if (!isDnsSubdomain(secret)) {
        return bad(a::kEnvFromSecret, item, "does not name a Secret (a DNS subdomain)");
      }
      if (!isSecretKey(key)) return bad(a::kEnvFromSecret, item, "does not name a valid key");
      c.env_from_secret.push_back({std::string(name), std::string(secret), std::string(key)});
    }
  }

  long double cpu_req = 0, cpu_lim = 0, mem_req = 0, mem_lim = 0;
  RETURN_IF_ERROR(readQuantity(r, a::kCpuRequest, &c.cpu_request, &cpu_req));
  RETURN_IF_ERROR(readQuantity(r, a::kCpuLimit, &c.cpu_limit, &cpu_lim));
  RETURN_IF_ERROR(readQuantity(r, a::kMemoryRequest, &c.memory_request, &mem_req));
  RETURN_IF_ERROR(readQuantity(r, a::kMemoryLimit, &c.memory_limit, &mem_lim));
  // The API server refuses a request above its limit.
  if (!c.cpu_request.empty() && !c.cpu_limit.empty() && cpu_req > cpu_lim) {
    return bad(a::kCpuRequest, c.cpu_request,
               "is more than dapr.io/sidecar-cpu-limit \"" + c.cpu_limit + "\"");
  }
  if (!c.memory_request.empty() && !c.memory_limit.empty() && mem_req > mem_lim) {
    return bad(a::kMemoryRequest, c.memory_request,
               "is more than dapr.io/sidecar-memory-limit \"" + c.memory_limit + "\"");
  }

  RETURN_IF_ERROR(readProbe(r, a::kLivenessDelay, a::kLivenessTimeout, a::kLivenessPeriod,
                            a::kLivenessThreshold, &c.liveness));
  RETURN_IF_ERROR(readProbe(r, a::kReadinessDelay, a::kReadinessTimeout, a::kReadinessPeriod,
                            a::kReadinessThreshold, &c.readiness));

  if (const std::string* v = r.value(a::kSidecarImage)) {
    std::string_view img = trim(*v);
    for (char ch : img) {
      if (std::isspace(static_cast<unsigned char>(ch)) || ch == '"') {
        return bad(a::kSidecarImage, *v, "is not an image reference");
      }
    }
    c.image = std::string(img);
  }
  if (const std::string* v = r.value(a::kSeccompProfileType)) {
    std::string_view t = trim(*v);
    if (t == "Localhost") {
      return bad(a::kSeccompProfileType, *v,
                 "needs a profile file, which the annotation cannot name (use RuntimeDefault or "
                 "Unconfined)");
    }
    if (t != "RuntimeDefault" && t != "Unconfined") {
      return bad(a::kSeccompProfileType, *v,
                 "is not a seccomp profile type (expected "
                 "RuntimeDefault or Unconfined)");
    }
    c.seccomp_profile_type = std::string(t);
  }

  for (auto [key, out] : {std::pair{a::kMaxBodySize, &c.max_body_size},
                          std::pair{a::kReadBufferSize, &c.read_buffer_size}}) {
    if (const std::string* v = r.value(key)) {
      if (!isByteSize(trim(*v))) return bad(key, *v, "is not a size (e.g. 4Mi, 16Ki, 1000000)");
      *out = std::string(trim(*v));
    }
  }
  RETURN_IF_ERROR(r.optionalInt(a::kHttpMaxRequestSize, 1, 1 << 20, "a size in MB (1 or more)",
                                &c.http_max_request_size_mb));
  RETURN_IF_ERROR(r.optionalInt(a::kHttpReadBufferSize, 1, 1 << 20, "a size in KB (1 or more)",
                                &c.http_read_buffer_size_kb));
  if (const std::string* v = r.value(a::kGracefulShutdownSeconds)) {
    int n = 0;
    ASSIGN_OR_RETURN(n, parseInt(a::kGracefulShutdownSeconds, *v, -1, 24 * 3600,
                                 "a number of seconds (-1 for the default)"));
    // -1 is Dapr's "the sidecar's default".
    if (n >= 0) c.graceful_shutdown_seconds = n;
  }
  if (const std::string* v = r.value(a::kBlockShutdownDuration)) {
    if (!isDuration(trim(*v))) {
      return bad(a::kBlockShutdownDuration, *v, "is not a duration (e.g. 30s, 1m30s)");
    }
    c.block_shutdown_duration = std::string(trim(*v));
  }
  RETURN_IF_ERROR(readMounts(r, a::kVolumeMounts, true, &c.volume_mounts));
  RETURN_IF_ERROR(readMounts(r, a::kVolumeMountsRw, false, &c.volume_mounts));
  RETURN_IF_ERROR(r.boolean(a::kDisableBuiltinK8sSecretStore, &c.disable_builtin_k8s_secret_store));

  RETURN_IF_ERROR(r.boolean(a::kEnableAppHealthCheck, &c.enable_app_health_check));
  if (const std::string* v = r.value(a::kAppHealthCheckPath)) {
    std::string_view p = trim(*v);
    if (p.front() != '/' || hasSpaceOrComma(p)) {
      return bad(a::kAppHealthCheckPath, *v, "is not an absolute path");
    }
    c.app_health_check_path = std::string(p);
  }
  RETURN_IF_ERROR(r.optionalInt(a::kAppHealthProbeInterval, 1, 24 * 3600,
                                "a number of seconds (1 or more)", &c.app_health_probe_interval));
  RETURN_IF_ERROR(r.optionalInt(a::kAppHealthProbeTimeout, 1, 24 * 3600 * 1000,
                                "a number of milliseconds (1 or more)",
                                &c.app_health_probe_timeout));
  RETURN_IF_ERROR(r.optionalInt(a::kAppHealthThreshold, 1, 10000, "a threshold (1 or more)",
                                &c.app_health_threshold));
  // The sidecar refuses a probe timeout longer than the interval between probes.
  if (c.app_health_probe_timeout &&
      *c.app_health_probe_timeout > c.app_health_probe_interval.value_or(5) * 1000) {
    return bad(a::kAppHealthProbeTimeout, std::to_string(*c.app_health_probe_timeout),
               "ms is longer than dapr.io/app-health-probe-interval");
  }

  for (auto [key, out] : {std::pair{a::kPlacementHostAddress, &c.placement_address},
                          std::pair{a::kSchedulerHostAddress, &c.scheduler_address}}) {
    if (const std::string* v = r.get(key)) {
      auto items = splitList(*v, ',');
      std::string joined;
      for (std::string_view item : items) {
        if (hasSpaceOrComma(item)) return bad(key, *v, "is not a list of host:port addresses");
        if (!joined.empty()) joined += ',';
        joined += item;
      }
      *out = joined;  // blank: none, as in Dapr
    }
  }
  RETURN_IF_ERROR(r.boolean(a::kNativeSidecar, &c.native_sidecar));

  // A switch is only worth a warning when it is on.
  for (std::string_view key :
       {a::kEnableProfiling, a::kEnableDebug, a::kInjectPluggableComponents}) {
    if (const std::string* v = r.value(key); v && isTruthy(*v)) {
      c.warnings.push_back("annotation " + std::string(key) +
                           " is not supported by Outrigger and was ignored");
    }
  }
  for (std::string_view key : {a::kDebugPort, a::kUnixDomainSocketPath, a::kPluggableComponents,
                               a::kPluggableComponentsSocketsFolder, a::kComponentContainer}) {
    if (r.value(key)) {
      c.warnings.push_back("annotation " + std::string(key) +
                           " is not supported by Outrigger and was ignored");
    }
  }
  return c;
}

}  // namespace outrigger::injector::patcher
