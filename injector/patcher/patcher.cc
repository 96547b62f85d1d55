#include "injector/patcher/patcher.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>

#include "injector/annotations.h"
#include "injector/patcher/values.h"

namespace outrigger::injector::patcher {

namespace a = annotations;
using rapidjson::Value;

namespace {

constexpr int kStartupProbeFailureThreshold = 120;  // x 1 s: two minutes to come up
constexpr std::string_view kHealthPath = "/v1.0/healthz";

const Value* member(const Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string_view stringMember(const Value& v, const char* name) {
  const Value* m = member(v, name);
  return m && m->IsString() ? std::string_view(m->GetString(), m->GetStringLength())
                            : std::string_view();
}

// Builds JSON values on one allocator.
class Json {
 public:
  explicit Json(rapidjson::Document::AllocatorType& al) : al_(al) {}
  Value str(std::string_view s) { return Value(s.data(), static_cast<unsigned>(s.size()), al_); }
  Value obj() { return Value(rapidjson::kObjectType); }
  Value arr() { return Value(rapidjson::kArrayType); }
  void set(Value& o, std::string_view key, Value v) { o.AddMember(str(key), v, al_); }
  void set(Value& o, std::string_view key, std::string_view s) { set(o, key, str(s)); }
  void set(Value& o, std::string_view key, const char* s) { set(o, key, str(s)); }
  void set(Value& o, std::string_view key, int n) { set(o, key, Value(n)); }
  void set(Value& o, std::string_view key, bool b) { set(o, key, Value(b)); }
  void push(Value& a, Value v) { a.PushBack(v, al_); }
  void push(Value& a, std::string_view s) { a.PushBack(str(s), al_); }
  rapidjson::Document::AllocatorType& allocator() { return al_; }

  Value envValue(std::string_view name, std::string_view value) {
    Value e = obj();
    set(e, "name", name);
    set(e, "value", value);
    return e;
  }
  Value envField(std::string_view name, std::string_view field) {
    Value ref = obj();
    set(ref, "fieldPath", field);
    Value from = obj();
    set(from, "fieldRef", std::move(ref));
    Value e = obj();
    set(e, "name", name);
    set(e, "valueFrom", std::move(from));
    return e;
  }
  Value envSecret(std::string_view name, std::string_view secret, std::string_view key) {
    Value ref = obj();
    set(ref, "name", secret);
    set(ref, "key", key);
    Value from = obj();
    set(from, "secretKeyRef", std::move(ref));
    Value e = obj();
    set(e, "name", name);
    set(e, "valueFrom", std::move(from));
    return e;
  }

 private:
  rapidjson::Document::AllocatorType& al_;
};

class PatchBuilder {
 public:
  PatchBuilder() : doc_(rapidjson::kArrayType), j_(doc_.GetAllocator()) {}
  Json& json() { return j_; }
  void add(std::string_view path, Value value) {
    Value op = j_.obj();
    j_.set(op, "op", "add");
    j_.set(op, "path", path);
    j_.set(op, "value", std::move(value));
    doc_.PushBack(op, doc_.GetAllocator());
  }
  std::string text() const {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    doc_.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
  }

 private:
  rapidjson::Document doc_;
  Json j_;
};

Value probe(Json& j, const ProbeSettings& s, bool http, int port) {
  Value p = j.obj();
  Value action = j.obj();
  if (http) j.set(action, "path", kHealthPath);
  j.set(action, "port", port);
  j.set(p, http ? "httpGet" : "tcpSocket", std::move(action));
  j.set(p, "initialDelaySeconds", s.delay_seconds);
  j.set(p, "timeoutSeconds", s.timeout_seconds);
  j.set(p, "periodSeconds", s.period_seconds);
  j.set(p, "failureThreshold", s.failure_threshold);
  return p;
}

std::vector<std::string> sidecarArgs(const SidecarConfig& c, const std::string& app_id,
                                     const InjectorConfig& cfg) {
  // Value flags as two words, as Dapr passes them; booleans as --flag=value (outriggerd's boolean
  // flags take an optional value, so a separate word would not be theirs).
  std::vector<std::string> args = {"--mode",
                                   "kubernetes",
                                   "--dapr-http-port",
                                   std::to_string(c.http_port),
                                   "--dapr-grpc-port",
                                   std::to_string(c.grpc_port),
                                   "--dapr-internal-grpc-port",
                                   std::to_string(c.internal_grpc_port),
                                   "--dapr-listen-addresses",
                                   c.listen_addresses,
                                   "--dapr-public-port",
                                   std::to_string(c.public_port),
                                   "--app-id",
                                   app_id,
                                   "--app-protocol",
                                   c.app_protocol,
                                   "--log-level",
                                   c.log_level,
                                   "--control-plane-address",
                                   cfg.control_plane_address,
                                   "--sentry-address",
                                   cfg.sentry_address};
  auto flag = [&](std::string name, std::string value) {
    args.push_back("--" + std::move(name));
    args.push_back(std::move(value));
  };
  auto boolean = [&](const std::string& name, bool value) {
    args.push_back("--" + name + "=" + (value ? "true" : "false"));
  };
  if (c.app_port) flag("app-port", std::to_string(*c.app_port));
  boolean("enable-metrics", c.enable_metrics);
  if (c.enable_metrics) flag("metrics-port", std::to_string(c.metrics_port));
  if (!c.config.empty()) flag("config", c.config);
  if (!c.app_channel_address.empty()) flag("app-channel-address", c.app_channel_address);
  std::string placement = c.placement_address.value_or(cfg.placement_address);
  if (!placement.empty()) flag("placement-host-address", placement);
  std::string scheduler = c.scheduler_address.value_or(cfg.scheduler_address);
  if (!scheduler.empty()) flag("scheduler-host-address", scheduler);
  if (c.enable_api_logging) boolean("enable-api-logging", *c.enable_api_logging);
  if (c.disable_builtin_k8s_secret_store) boolean("disable-builtin-k8s-secret-store", true);
  if (c.enable_app_health_check) {
    boolean("enable-app-health-check", true);
    if (!c.app_health_check_path.empty()) flag("app-health-check-path", c.app_health_check_path);
    if (c.app_health_probe_interval) {
      flag("app-health-probe-interval", std::to_string(*c.app_health_probe_interval));
    }
    if (c.app_health_probe_timeout) {
      flag("app-health-probe-timeout", std::to_string(*c.app_health_probe_timeout));
    }
    if (c.app_health_threshold) {
      flag("app-health-threshold", std::to_string(*c.app_health_threshold));
    }
  }
  if (c.log_as_json) boolean("log-as-json", true);
  if (cfg.enable_mtls) boolean("enable-mtls", true);
  if (c.app_max_concurrency) flag("app-max-concurrency", std::to_string(*c.app_max_concurrency));
  if (c.http_max_request_size_mb) {
    flag("dapr-http-max-request-size", std::to_string(*c.http_max_request_size_mb));
  }
  if (!c.max_body_size.empty()) flag("max-body-size", c.max_body_size);
  if (c.http_read_buffer_size_kb) {
    flag("dapr-http-read-buffer-size", std::to_string(*c.http_read_buffer_size_kb));
  }
  if (!c.read_buffer_size.empty()) flag("read-buffer-size", c.read_buffer_size);
  if (c.graceful_shutdown_seconds) {
    flag("dapr-graceful-shutdown-seconds", std::to_string(*c.graceful_shutdown_seconds));
  }
  if (!c.block_shutdown_duration.empty()) {
    flag("dapr-block-shutdown-duration", c.block_shutdown_duration);
  }
  return args;
}

// The containers of a pod share one network namespace: a sidecar port an app container declares
// too would keep the sidecar (or the app) from starting.
Status checkPortClashes(const SidecarConfig& c, const Value* containers,
                        const Value* init_containers) {
  std::vector<std::pair<int, std::string>> ours = {
      {c.http_port, "its HTTP API port"},
      {c.public_port, "its health port"},
      {c.grpc_port, "its gRPC API port (annotation " + std::string(a::kGrpcPort) + ")"},
      {c.internal_grpc_port,
       "its internal port (annotation " + std::string(a::kInternalGrpcPort) + ")"}};
  if (c.enable_metrics) {
    ours.push_back(
        {c.metrics_port, "its metrics port (annotation " + std::string(a::kMetricsPort) + ")"});
  }
  for (const Value* list : {containers, init_containers}) {
    if (!list) continue;
    for (const auto& ctr : list->GetArray()) {
      // An ordinary init container is done before the sidecar starts, unless the sidecar is a
      // native one (then it runs first) or the init container is itself a native sidecar.
      if (list == init_containers && !c.native_sidecar &&
          stringMember(ctr, "restartPolicy") != "Always") {
        continue;
      }
      const Value* ports = member(ctr, "ports");
      if (!ports || !ports->IsArray()) continue;
      for (const auto& p : ports->GetArray()) {
        const Value* number = member(p, "containerPort");
        std::string_view protocol = stringMember(p, "protocol");
        if (!number || !number->IsInt() || (!protocol.empty() && protocol != "TCP")) continue;
        for (const auto& [port, what] : ours) {
          if (number->GetInt() != port) continue;
          return invalidArgumentError("container \"" + std::string(stringMember(ctr, "name")) +
                                      "\" declares port " + std::to_string(port) +
                                      ", which the sidecar needs for " + what);
        }
      }
    }
  }
  return okStatus();
}

bool containerHasEnv(const Value& container, std::string_view name) {
  const Value* env = member(container, "env");
  if (!env || !env->IsArray()) return false;
  for (const auto& e : env->GetArray()) {
    if (stringMember(e, "name") == name) return true;
  }
  return false;
}

}  // namespace

std::string escapePointer(std::string_view segment) {
  std::string out;
  out.reserve(segment.size() + 4);
  for (char ch : segment) {
    if (ch == '~')
      out += "~0";
    else if (ch == '/')
      out += "~1";
    else
      out += ch;
  }
  return out;
}

void fillDefaultAddresses(InjectorConfig* c, bool default_placement) {
  std::string suffix = "." + c->control_plane_namespace + ".svc." + c->cluster_domain;
  if (c->control_plane_address.empty()) c->control_plane_address = "dapr-api" + suffix + ":443";
  if (c->sentry_address.empty()) c->sentry_address = "dapr-sentry" + suffix + ":443";
  if (default_placement && c->placement_address.empty()) {
    c->placement_address = "dapr-placement-server" + suffix + ":50005";
  }
}

std::string defaultAppId(const Value& pod) {
  const Value* meta = member(pod, "metadata");
  if (!meta) return "";
  if (const Value* annotations = member(*meta, "annotations")) {
    std::string_view id = trim(stringMember(*annotations, std::string(a::kAppId).c_str()));
    if (!id.empty()) return std::string(id);
  }
  const Value* owners = member(*meta, "ownerReferences");
  if (owners && owners->IsArray() && !owners->Empty()) {
    const Value* owner = &(*owners)[0];
    for (const auto& o : owners->GetArray()) {
      const Value* controller = member(o, "controller");
      if (controller && controller->IsBool() && controller->GetBool()) {
        owner = &o;
        break;
      }
    }
    std::string name(stringMember(*owner, "name"));
    if (!name.empty()) {
      // A Deployment's ReplicaSet is <deployment>-<pod-template-hash>: the app is the Deployment.
      if (stringMember(*owner, "kind") == "ReplicaSet") {
        std::string_view hash;
        if (const Value* labels = member(*meta, "labels")) {
          hash = stringMember(*labels, "pod-template-hash");
        }
        std::string tail = "-" + std::string(hash);
        if (!hash.empty() && name.size() > tail.size() &&
            name.compare(name.size() - tail.size(), tail.size(), tail) == 0) {
          name.resize(name.size() - tail.size());
        }
      }
      return name;
    }
  }
  std::string name(stringMember(*meta, "name"));
  if (!name.empty()) return name;
  std::string stem(stringMember(*meta, "generateName"));
  while (!stem.empty() && stem.back() == '-') stem.pop_back();
  return stem;
}

Status validateAppId(std::string_view app_id, bool from_annotation) {
  constexpr size_t kMax = 63 - 5;  // room for "-dapr"
  if (isDnsLabel(app_id) && app_id.size() <= kMax) return okStatus();
  std::string why = app_id.empty()
                        ? std::string("is empty")
                        : "\"" + std::string(app_id) +
                              "\" is not a DNS label of at most 58 characters (lowercase letters, "
                              "digits and '-', starting and ending with a letter or digit)";
  if (from_annotation) return invalidArgumentError("invalid annotation dapr.io/app-id: " + why);
  return invalidArgumentError("the app id taken from the pod's owner or name " + why +
                              ": set the annotation dapr.io/app-id");
}

StatusOr<PatchResult> buildPatch(const Value& pod, std::string_view ns, const InjectorConfig& cfg) {
  PatchResult result;
  if (!pod.IsObject()) return invalidArgumentError("the object is not a Pod");
  const Value* meta = member(pod, "metadata");
  const Value* spec = member(pod, "spec");
  if ((meta && !meta->IsObject()) || !spec || !spec->IsObject()) {
    return invalidArgumentError("the object is not a Pod: metadata or spec missing");
  }

  AnnotationMap ann;
  if (const Value* annotations = meta ? member(*meta, "annotations") : nullptr) {
    if (annotations->IsObject()) {
      for (const auto& m : annotations->GetObject()) {
        if (m.value.IsString()) ann.emplace(m.name.GetString(), m.value.GetString());
      }
    }
  }
  const Value* labels = meta ? member(*meta, "labels") : nullptr;
  if (labels && !labels->IsObject()) labels = nullptr;

  auto enabled = ann.find(a::kEnabled);
  if (enabled == ann.end() || !isTruthy(enabled->second)) {
    result.skip_reason = "dapr.io/enabled is not set";
    return result;
  }
  if (ann.count(a::kControlPlane)) {
    result.skip_reason = "a control-plane pod";
    return result;
  }
  if (labels && ns == cfg.control_plane_namespace) {
    std::string_view app = stringMember(*labels, "app");
    for (const auto& cp : cfg.control_plane_apps) {
      if (app == cp) {
        result.skip_reason = "a control-plane pod";
        return result;
      }
    }
  }

  // A list sent as null (some clients do) is a list that is not there.
  auto list = [&](const char* name) {
    const Value* v = member(*spec, name);
    return v && v->IsNull() ? nullptr : v;
  };
  const Value* containers = list("containers");
  const Value* init_containers = list("initContainers");
  const Value* volumes = list("volumes");
  if ((containers && !containers->IsArray()) || (init_containers && !init_containers->IsArray()) ||
      (volumes && !volumes->IsArray())) {
    return invalidArgumentError("the object is not a Pod: containers or volumes are not lists");
  }
  for (const Value* list : {containers, init_containers}) {
    if (!list) continue;
    for (const auto& ctr : list->GetArray()) {
      if (stringMember(ctr, "name") == kSidecarName) {
        result.skip_reason = "the pod already has a daprd container";
        return result;
      }
    }
  }

  SidecarConfig c;
  ASSIGN_OR_RETURN(c, parseSidecarConfig(ann));
  bool id_annotated = !c.app_id.empty();
  std::string app_id = id_annotated ? c.app_id : defaultAppId(pod);
  RETURN_IF_ERROR(validateAppId(app_id, id_annotated));
  RETURN_IF_ERROR(checkPortClashes(c, containers, init_containers));

  std::set<std::string, std::less<>> volume_names;
  if (volumes) {
    for (const auto& v : volumes->GetArray())
      volume_names.insert(std::string(stringMember(v, "name")));
  }
  std::set<std::string, std::less<>> mount_paths = {std::string(kTokenMountPath)};
  for (const auto& m : c.volume_mounts) {
    std::string_view key = m.read_only ? a::kVolumeMounts : a::kVolumeMountsRw;
    if (!volume_names.count(m.volume)) {
      return invalidArgumentError("invalid annotation " + std::string(key) +
                                  ": the pod has no volume \"" + m.volume + "\"");
    }
    if (m.volume == kTokenVolume) {
      return invalidArgumentError("invalid annotation " + std::string(key) + ": volume \"" +
                                  m.volume + "\" is the sidecar's own");
    }
    if (!mount_paths.insert(m.path).second) {
      return invalidArgumentError("invalid annotation " + std::string(key) + ": mount path \"" +
                                  m.path + "\" is used twice");
    }
  }
  // The injector's own variables cannot be set through dapr.io/env: the sidecar would get two.
  std::set<std::string, std::less<>> reserved = {"NAMESPACE",
                                                 "POD_NAME",
                                                 "DAPR_TRUST_ANCHORS",
                                                 "DAPR_CONTROLPLANE_NAMESPACE",
                                                 "DAPR_CONTROLPLANE_TRUST_DOMAIN",
                                                 "DAPR_ENV_KEYS"};
  if (!c.api_token_secret.empty()) reserved.insert("DAPR_API_TOKEN");
  if (!c.app_token_secret.empty()) reserved.insert("APP_API_TOKEN");
  bool ssl_cert_dir = false;
  for (const auto& [name, value] : c.env) {
    if (reserved.count(name)) {
      return invalidArgumentError("invalid annotation dapr.io/env: " + name +
                                  " is set by the injector");
    }
    if (name == "SSL_CERT_DIR") ssl_cert_dir = true;
  }
  for (const auto& e : c.env_from_secret) {
    if (reserved.count(e.name)) {
      return invalidArgumentError("invalid annotation dapr.io/env-from-secret: " + e.name +
                                  " is set by the injector");
    }
    if (e.name == "SSL_CERT_DIR") ssl_cert_dir = true;
  }

  PatchBuilder patch;
  Json& j = patch.json();

  // 1. Parents that do not exist yet: adding under them would fail.
  if (!containers) patch.add("/spec/containers", j.arr());
  if (!meta) {
    Value m = j.obj();
    j.set(m, "labels", j.obj());
    patch.add("/metadata", std::move(m));
  } else if (!labels) {
    patch.add("/metadata/labels", j.obj());
  }

  // 2. The projected service-account token the sidecar shows sentry.
  {
    Value token = j.obj();
    j.set(token, "audience",
          "spiffe://" + cfg.trust_domain + "/ns/" + cfg.control_plane_namespace + "/dapr-sentry");
    j.set(token, "expirationSeconds", 7200);
    j.set(token, "path", "token");
    Value source = j.obj();
    j.set(source, "serviceAccountToken", std::move(token));
    Value sources = j.arr();
    j.push(sources, std::move(source));
    Value projected = j.obj();
    j.set(projected, "sources", std::move(sources));
    j.set(projected, "defaultMode", 0644);
    Value volume = j.obj();
    j.set(volume, "name", kTokenVolume);
    j.set(volume, "projected", std::move(projected));
    if (!volumes) {
      Value list = j.arr();
      j.push(list, std::move(volume));
      patch.add("/spec/volumes", std::move(list));
    } else if (!volume_names.count(kTokenVolume)) {
      patch.add("/spec/volumes/-", std::move(volume));
    }
  }

  // 3. The sidecar container.
  Value ctr = j.obj();
  j.set(ctr, "name", kSidecarName);
  j.set(ctr, "image", c.image.empty() ? cfg.sidecar_image : c.image);
  j.set(ctr, "imagePullPolicy", cfg.image_pull_policy);
  {
    Value command = j.arr();
    j.push(command, cfg.sidecar_command);
    j.set(ctr, "command", std::move(command));
    Value args = j.arr();
    for (const auto& arg : sidecarArgs(c, app_id, cfg)) j.push(args, arg);
    j.set(ctr, "args", std::move(args));
  }
  {
    Value ports = j.arr();
    auto port = [&](std::string_view name, int number) {
      Value p = j.obj();
      j.set(p, "name", name);
      j.set(p, "containerPort", number);
      j.set(p, "protocol", "TCP");
      j.push(ports, std::move(p));
    };
    port("dapr-http", c.http_port);
    port("dapr-grpc", c.grpc_port);
    port("dapr-internal", c.internal_grpc_port);
    if (c.enable_metrics) port("dapr-metrics", c.metrics_port);
    j.set(ctr, "ports", std::move(ports));
  }
  {
    Value env = j.arr();
    j.push(env, j.envField("NAMESPACE", "metadata.namespace"));
    j.push(env, j.envField("POD_NAME", "metadata.name"));
    j.push(env, j.envValue("DAPR_TRUST_ANCHORS", cfg.trust_anchors));
    j.push(env, j.envValue("DAPR_CONTROLPLANE_NAMESPACE", cfg.control_plane_namespace));
    j.push(env, j.envValue("DAPR_CONTROLPLANE_TRUST_DOMAIN", cfg.trust_domain));
    std::string keys;
    for (const auto& [name, value] : c.env) {
      j.push(env, j.envValue(name, value));
      keys += (keys.empty() ? "" : " ") + name;
    }
    for (const auto& e : c.env_from_secret) {
      j.push(env, j.envSecret(e.name, e.secret, e.key));
      keys += (keys.empty() ? "" : " ") + e.name;
    }
    // Which variables the user put there: the ones a component's envRef may read.
    if (!keys.empty()) j.push(env, j.envValue("DAPR_ENV_KEYS", keys));
    if (!c.api_token_secret.empty()) {
      j.push(env, j.envSecret("DAPR_API_TOKEN", c.api_token_secret, "token"));
    }
    if (!c.app_token_secret.empty()) {
      j.push(env, j.envSecret("APP_API_TOKEN", c.app_token_secret, "token"));
    }
    j.set(ctr, "env", std::move(env));
  }
  {
    Value mounts = j.arr();
    Value token = j.obj();
    j.set(token, "name", kTokenVolume);
    j.set(token, "mountPath", kTokenMountPath);
    j.set(token, "readOnly", true);
    j.push(mounts, std::move(token));
    for (const auto& m : c.volume_mounts) {
      Value mount = j.obj();
      j.set(mount, "name", m.volume);
      j.set(mount, "mountPath", m.path);
      j.set(mount, "readOnly", m.read_only);
      j.push(mounts, std::move(mount));
    }
    j.set(ctr, "volumeMounts", std::move(mounts));
  }
  j.set(ctr, "readinessProbe", probe(j, c.readiness, true, c.public_port));
  j.set(ctr, "livenessProbe", probe(j, c.liveness, false, c.public_port));
  if (c.native_sidecar) {
    // The kubelet starts the next containers once this succeeds.
    ProbeSettings startup{0, c.readiness.timeout_seconds, 1, kStartupProbeFailureThreshold};
    j.set(ctr, "startupProbe", probe(j, startup, true, c.public_port));
    j.set(ctr, "restartPolicy", "Always");
  }
  if (!c.cpu_request.empty() || !c.cpu_limit.empty() || !c.memory_request.empty() ||
      !c.memory_limit.empty()) {
    Value resources = j.obj();
    for (auto [name, cpu, mem] : {std::tuple{"requests", &c.cpu_request, &c.memory_request},
                                  std::tuple{"limits", &c.cpu_limit, &c.memory_limit}}) {
      Value r = j.obj();
      if (!cpu->empty()) j.set(r, "cpu", *cpu);
      if (!mem->empty()) j.set(r, "memory", *mem);
      if (r.MemberCount() > 0) j.set(resources, name, std::move(r));
    }
    j.set(ctr, "resources", std::move(resources));
  }
  {
    Value sc = j.obj();
    j.set(sc, "allowPrivilegeEscalation", false);
    Value drop = j.arr();
    j.push(drop, "ALL");
    Value caps = j.obj();
    j.set(caps, "drop", std::move(drop));
    j.set(sc, "capabilities", std::move(caps));
    // With SSL_CERT_DIR the sidecar may need to write certificates, as in Dapr: root, writable.
    j.set(sc, "readOnlyRootFilesystem", !ssl_cert_dir);
    j.set(sc, "runAsNonRoot", !ssl_cert_dir);
    if (!c.seccomp_profile_type.empty()) {
      Value seccomp = j.obj();
      j.set(seccomp, "type", c.seccomp_profile_type);
      j.set(sc, "seccompProfile", std::move(seccomp));
    }
    j.set(ctr, "securityContext", std::move(sc));
  }
  if (c.native_sidecar) {
    if (!init_containers) {
      Value list = j.arr();
      j.push(list, std::move(ctr));
      patch.add("/spec/initContainers", std::move(list));
    } else {
      // First, so the app's own init containers can already use the sidecar.
      patch.add("/spec/initContainers/0", std::move(ctr));
    }
  } else {
    patch.add("/spec/containers/-", std::move(ctr));
  }

  // 4. Labels.
  patch.add("/metadata/labels/" + escapePointer(a::kLabelSidecarInjected), j.str("true"));
  patch.add("/metadata/labels/" + escapePointer(a::kLabelAppId), j.str(app_id));
  patch.add("/metadata/labels/" + escapePointer(a::kLabelMetricsEnabled),
            j.str(c.enable_metrics ? "true" : "false"));

  // 5. What the app containers need to find the sidecar, unless they set it already. A native
  // sidecar is up before the app's init containers run, so they get it too (one index further on:
  // the sidecar went in first).
  const std::pair<std::string_view, std::string> app_env[] = {
      {"DAPR_HTTP_PORT", std::to_string(c.http_port)},
      {"DAPR_GRPC_PORT", std::to_string(c.grpc_port)},
      {"APP_PROTOCOL", c.app_protocol}};
  std::vector<std::pair<const Value*, std::string>> apps;
  if (containers) {
    for (rapidjson::SizeType i = 0; i < containers->Size(); ++i) {
      apps.emplace_back(&(*containers)[i], "/spec/containers/" + std::to_string(i));
    }
  }
  if (c.native_sidecar && init_containers) {
    for (rapidjson::SizeType i = 0; i < init_containers->Size(); ++i) {
      apps.emplace_back(&(*init_containers)[i], "/spec/initContainers/" + std::to_string(i + 1));
    }
  }
  for (const auto& [app_ptr, path] : apps) {
    const Value& app = *app_ptr;
    std::string base = path + "/env";
    const Value* env = member(app, "env");
    bool has_list = env && env->IsArray();
    Value missing = j.arr();
    for (const auto& [name, value] : app_env) {
      if (!containerHasEnv(app, name)) j.push(missing, j.envValue(name, value));
    }
    if (missing.Empty()) continue;
    if (!has_list) {
      patch.add(base, std::move(missing));
    } else {
      for (auto& e : missing.GetArray()) patch.add(base + "/-", Value(e, j.allocator()));
    }
  }

  result.inject = true;
  result.app_id = app_id;
  result.metrics_enabled = c.enable_metrics;
  result.patch = patch.text();
  result.warnings = std::move(c.warnings);
  return result;
}

}  // namespace outrigger::injector::patcher
