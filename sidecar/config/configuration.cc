#include "sidecar/config/configuration.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/logging/log.h"

namespace outrigger::sidecar::config {

namespace {

// The shape of Dapr's Configuration spec (v1.15), for type checks. Lists of maps are kList.
enum class Type { kString, kBool, kInt, kStringList, kIntList, kStringMap, kAny, kMap, kList };

struct Field {
  const char* name;
  Type type;
  std::vector<Field> fields;  // kMap: its members; kList: the members of each element
};

const Field& specSchema() {
  static const Field* schema = [] {
    using T = Type;
    Field selector{"selector",
                   T::kMap,
                   {{"fields", T::kList, {{"field", T::kString, {}}, {"value", T::kString, {}}}}}};
    Field pipeline{"",
                   T::kMap,
                   {{"handlers",
                     T::kList,
                     {{"name", T::kString, {}},
                      {"type", T::kString, {}},
                      {"version", T::kString, {}},
                      selector}}}};
    Field metric{
        "",
        T::kMap,
        {{"enabled", T::kBool, {}},
         {"recordErrorCodes", T::kBool, {}},
         {"http",
          T::kMap,
          {{"increasedCardinality", T::kBool, {}},
           {"pathMatching", T::kStringList, {}},
           {"excludeVerbs", T::kBool, {}}}},
         {"latencyDistributionBuckets", T::kIntList, {}},
         {"rules",
          T::kList,
          {{"name", T::kString, {}},
           {"labels", T::kList, {{"name", T::kString, {}}, {"regex", T::kStringMap, {}}}}}}}};
    Field api_rule{
        "",
        T::kList,
        {{"name", T::kString, {}}, {"version", T::kString, {}}, {"protocol", T::kString, {}}}};
    auto named = [](Field f, const char* name) {
      f.name = name;
      return f;
    };
    return new Field{
        "spec",
        T::kMap,
        {named(pipeline, "httpPipeline"),
         named(pipeline, "appHttpPipeline"),
         {"tracing",
          T::kMap,
          {{"samplingRate", T::kString, {}},
           {"stdout", T::kBool, {}},
           {"zipkin", T::kMap, {{"endpointAddress", T::kString, {}}}},
           {"otel",
            T::kMap,
            {{"protocol", T::kString, {}},
             {"endpointAddress", T::kString, {}},
             {"isSecure", T::kBool, {}},
             {"headers", T::kString, {}},
             {"timeout", T::kInt, {}}}}}},
         {"mtls",
          T::kMap,
          {{"enabled", T::kBool, {}},
           {"workloadCertTTL", T::kString, {}},
           {"allowedClockSkew", T::kString, {}},
           {"sentryAddress", T::kString, {}},
           {"controlPlaneTrustDomain", T::kString, {}},
           {"tokenValidators", T::kList, {{"name", T::kString, {}}, {"options", T::kAny, {}}}}}},
         named(metric, "metric"),
         named(metric, "metrics"),
         {"secrets",
          T::kMap,
          {{"scopes",
            T::kList,
            {{"storeName", T::kString, {}},
             {"defaultAccess", T::kString, {}},
             {"allowedSecrets", T::kStringList, {}},
             {"deniedSecrets", T::kStringList, {}}}}}},
         {"accessControl",
          T::kMap,
          {{"defaultAction", T::kString, {}},
           {"trustDomain", T::kString, {}},
           {"policies",
            T::kList,
            {{"appId", T::kString, {}},
             {"defaultAction", T::kString, {}},
             {"trustDomain", T::kString, {}},
             {"namespace", T::kString, {}},
             {"operations",
              T::kList,
              {{"name", T::kString, {}},
               {"httpVerb", T::kStringList, {}},
               {"action", T::kString, {}}}}}}}},
         {"nameResolution",
          T::kMap,
          {{"component", T::kString, {}},
           {"version", T::kString, {}},
           {"configuration", T::kAny, {}}}},
         {"features", T::kList, {{"name", T::kString, {}}, {"enabled", T::kBool, {}}}},
         {"api", T::kMap, {named(api_rule, "allowed"), named(api_rule, "denied")}},
         {"components", T::kMap, {{"deny", T::kStringList, {}}}},
         {"logging",
          T::kMap,
          {{"apiLogging",
            T::kMap,
            {{"enabled", T::kBool, {}},
             {"obfuscateURLs", T::kBool, {}},
             {"omitHealthChecks", T::kBool, {}}}}}},
         {"wasm", T::kMap, {{"strictSandbox", T::kBool, {}}}},
         {"workflow",
          T::kMap,
          {{"maxConcurrentWorkflowInvocations", T::kInt, {}},
           {"maxConcurrentActivityInvocations", T::kInt, {}}}}}};
  }();
  return *schema;
}

// YAML 1.1 booleans as Go's YAML decoder takes them into a bool field.
bool yamlBool(const YAML::Node& node, bool* out) {
  if (!node.IsScalar()) return false;
  static const char* const kTrue[] = {"true", "True", "TRUE", "y",  "Y", "yes",
                                      "Yes",  "YES",  "on",   "On", "ON"};
  static const char* const kFalse[] = {"false", "False", "FALSE", "n",   "N",  "no",
                                       "No",    "NO",    "off",   "Off", "OFF"};
  const std::string& s = node.Scalar();
  for (const char* t : kTrue) {
    if (s == t) return *out = true, true;
  }
  for (const char* f : kFalse) {
    if (s == f) return *out = false, true;
  }
  return false;
}

bool yamlInt(const YAML::Node& node, int64_t* out) {
  if (!node.IsScalar() || node.Scalar().empty()) return false;
  const std::string& s = node.Scalar();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

struct Checker {
  std::vector<std::string>* unknown;

  Status fail(const std::string& path, const std::string& problem) {
    return invalidArgumentError("field " + path + ": " + problem);
  }

  Status check(const YAML::Node& node, const Field& field, const std::string& path) {
    if (!node || node.IsNull()) return okStatus();  // absent or null: the zero value, as in Go
    switch (field.type) {
      case Type::kAny: return okStatus();
      case Type::kString:
        if (!node.IsScalar()) return fail(path, "expected a string");
        return okStatus();
      case Type::kBool: {
        bool b;
        if (!yamlBool(node, &b)) return fail(path, "expected true or false");
        return okStatus();
      }
      case Type::kInt: {
        int64_t i;
        if (!yamlInt(node, &i)) return fail(path, "expected an integer");
        return okStatus();
      }
      case Type::kStringList:
      case Type::kIntList:
        if (!node.IsSequence()) {
          return fail(path, field.type == Type::kIntList ? "expected a list of integers"
                                                         : "expected a list of strings");
        }
        for (size_t i = 0; i < node.size(); ++i) {
          Field element{"", field.type == Type::kIntList ? Type::kInt : Type::kString, {}};
          RETURN_IF_ERROR(check(node[i], element, path + "[" + std::to_string(i) + "]"));
        }
        return okStatus();
      case Type::kStringMap:
        if (!node.IsMap()) return fail(path, "expected a map of strings");
        for (const auto& kv : node) {
          if (!kv.second.IsScalar() && !kv.second.IsNull()) {
            return fail(path + "." + kv.first.as<std::string>(""), "expected a string");
          }
        }
        return okStatus();
      case Type::kMap:
        if (!node.IsMap()) return fail(path, "expected a map");
        for (const auto& kv : node) {
          std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
          auto it = std::find_if(field.fields.begin(), field.fields.end(),
                                 [&](const Field& f) { return key == f.name; });
          if (it == field.fields.end()) {
            unknown->push_back(path + "." + key);
            continue;
          }
          RETURN_IF_ERROR(check(kv.second, *it, path + "." + key));
        }
        return okStatus();
      case Type::kList:
        if (!node.IsSequence()) return fail(path, "expected a list");
        for (size_t i = 0; i < node.size(); ++i) {
          Field element{"", Type::kMap, field.fields};
          RETURN_IF_ERROR(check(node[i], element, path + "[" + std::to_string(i) + "]"));
        }
        return okStatus();
    }
    return okStatus();
  }
};

// Readers for fields the schema check already passed.
std::string str(const YAML::Node& node) {
  return node && node.IsScalar() ? node.Scalar() : std::string();
}

bool boolean(const YAML::Node& node, bool fallback = false) {
  bool b = fallback;
  if (node) yamlBool(node, &b);
  return b;
}

std::vector<std::string> strings(const YAML::Node& node) {
  std::vector<std::string> out;
  for (size_t i = 0; node && node.IsSequence() && i < node.size(); ++i) out.push_back(str(node[i]));
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// allow/deny, case-insensitive as in daprd; empty is allowed when the caller defaults it.
Status checkAction(const std::string& value, const std::string& path) {
  std::string v = lower(value);
  if (v.empty() || v == "allow" || v == "deny") return okStatus();
  return invalidArgumentError("field " + path + ": '" + value + "' is neither allow nor deny");
}

Status parseSecrets(const YAML::Node& secrets, Configuration* c) {
  const YAML::Node scopes = secrets ? secrets["scopes"] : YAML::Node();
  for (size_t i = 0; scopes && scopes.IsSequence() && i < scopes.size(); ++i) {
    const YAML::Node s = scopes[i];
    std::string at = "spec.secrets.scopes[" + std::to_string(i) + "]";
    SecretScope scope;
    scope.store = str(s["storeName"]);
    if (scope.store.empty()) return invalidArgumentError("field " + at + ".storeName: missing");
    std::string access = str(s["defaultAccess"]);
    if (!access.empty() && lower(access) != "allow" && lower(access) != "deny") {
      return invalidArgumentError("field " + at + ".defaultAccess: '" + access +
                                  "' is neither allow nor deny");
    }
    scope.default_allow = lower(access) != "deny";
    for (auto& k : strings(s["allowedSecrets"])) scope.allowed.insert(std::move(k));
    for (auto& k : strings(s["deniedSecrets"])) scope.denied.insert(std::move(k));
    if (c->secret_scopes.count(scope.store)) {
      return invalidArgumentError("field " + at + ".storeName: '" + scope.store +
                                  "' is repeated in the secrets scopes");
    }
    c->secret_scopes[scope.store] = std::move(scope);
  }
  return okStatus();
}

std::vector<ApiRule> apiRules(const YAML::Node& list) {
  std::vector<ApiRule> out;
  for (size_t i = 0; list && list.IsSequence() && i < list.size(); ++i) {
    out.push_back({str(list[i]["name"]), str(list[i]["version"]), lower(str(list[i]["protocol"]))});
  }
  return out;
}

Status parseAccessControl(const YAML::Node& acl, Configuration* c) {
  if (!acl || !acl.IsMap()) return okStatus();
  AccessControl& out = c->access_control;
  std::string default_action = str(acl["defaultAction"]);
  std::string trust_domain = str(acl["trustDomain"]);
  const YAML::Node policies = acl["policies"];
  size_t n = policies && policies.IsSequence() ? policies.size() : 0;
  out.present = !default_action.empty() || !trust_domain.empty() || n > 0;
  RETURN_IF_ERROR(checkAction(default_action, "spec.accessControl.defaultAction"));
  // daprd starts from a default of allow and decodes the file over it, so an absent
  // defaultAction stays allow.
  out.default_action = default_action.empty() ? "allow" : lower(default_action);
  if (!trust_domain.empty()) out.trust_domain = trust_domain;
  for (size_t i = 0; i < n; ++i) {
    const YAML::Node p = policies[i];
    std::string at = "spec.accessControl.policies[" + std::to_string(i) + "]";
    AccessControlPolicy policy;
    policy.app_id = str(p["appId"]);
    policy.trust_domain = str(p["trustDomain"]);
    policy.namespace_name = str(p["namespace"]);
    policy.default_action = lower(str(p["defaultAction"]));
    // daprd refuses policies without these: they are how a caller is matched.
    if (policy.app_id.empty()) return invalidArgumentError("field " + at + ".appId: missing");
    if (policy.trust_domain.empty()) {
      return invalidArgumentError("field " + at + ".trustDomain: missing");
    }
    if (policy.namespace_name.empty()) {
      return invalidArgumentError("field " + at + ".namespace: missing");
    }
    RETURN_IF_ERROR(checkAction(policy.default_action, at + ".defaultAction"));
    const YAML::Node ops = p["operations"];
    for (size_t j = 0; ops && ops.IsSequence() && j < ops.size(); ++j) {
      AccessControlPolicy::Operation op;
      op.name = str(ops[j]["name"]);
      op.http_verbs = strings(ops[j]["httpVerb"]);
      op.action = lower(str(ops[j]["action"]));
      RETURN_IF_ERROR(checkAction(op.action, at + ".operations[" + std::to_string(j) + "].action"));
      policy.operations.push_back(std::move(op));
    }
    out.policies.push_back(std::move(policy));
  }
  return okStatus();
}

void parseMetrics(const YAML::Node& spec, Configuration* c) {
  // "metrics" is read over "metric", as daprd does.
  for (const char* key : {"metric", "metrics"}) {
    const YAML::Node m = spec[key];
    if (!m || !m.IsMap()) continue;
    for (const auto& kv : m) {
      std::string name = kv.first.Scalar();
      if (name == "enabled") {
        if (!kv.second.IsNull()) c->metrics_enabled = boolean(kv.second, true);
      } else {
        c->not_applied.push_back(std::string(key) + "." + name);
      }
    }
  }
}

// Maps merge key by key; anything else in `over` replaces what `base` had (Go's YAML decoder
// writing a second file into the same struct).
YAML::Node merged(const YAML::Node& base, const YAML::Node& over) {
  if (!over || over.IsNull()) return base;  // an empty file changes nothing
  if (!base || !base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    std::string key = kv.first.Scalar();
    out[key] = merged(out[key], kv.second);
  }
  return out;
}

bool isShellSpecial(char c) {
  return c == '*' || c == '#' || c == '$' || c == '@' || c == '!' || c == '?' || c == '-' ||
         std::isdigit(static_cast<unsigned char>(c));
}

bool isNameChar(char c) { return c == '_' || std::isalnum(static_cast<unsigned char>(c)); }

}  // namespace

bool SecretScope::allows(const std::string& key) const {
  // An allow list, when given, is the whole answer; then the deny list; then the default.
  if (!allowed.empty()) return allowed.count(key) > 0;
  if (denied.count(key)) return false;
  return default_allow;
}

Status AccessControl::checkAnonymousCall(const std::string& app_id, std::string_view target,
                                         std::string_view verb) const {
  if (!present || default_action == "allow") return okStatus();
  std::string_view operation = target.substr(0, target.find('?'));
  return permissionDeniedError("failed to invoke, id: " + app_id +
                               ", err: access control policy has denied access to operation: " +
                               std::string(operation) + " verb: " + std::string(verb) +
                               " (the caller has no identity; defaultAction is deny)")
      .withErrorCode("ERR_DIRECT_INVOKE", 403);
}

std::vector<std::string> Configuration::enabledFeatures() const {
  std::vector<std::string> out;
  for (const auto& f : features) {
    if (f.enabled && std::find(out.begin(), out.end(), f.name) == out.end()) out.push_back(f.name);
  }
  return out;
}

bool Configuration::secretAllowed(const std::string& store, const std::string& key) const {
  auto it = secret_scopes.find(store);
  return it == secret_scopes.end() || it->second.allows(key);
}

bool Configuration::componentDenied(const std::string& type, const std::string& version) const {
  for (const auto& entry : component_deny) {
    auto slash = entry.find('/');
    if (slash == std::string::npos) {
      if (entry == type) return true;
    } else if (entry.substr(0, slash) == type && entry.substr(slash + 1) == version) {
      return true;
    }
  }
  return false;
}

std::string expandEnv(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  auto lookup = [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return std::string(v ? v : "");
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    const size_t start = i + 1;
    if (text[start] == '{') {
      size_t close = text.find('}', start + 1);
      if (close == std::string::npos) {  // "${" without an end: both characters dropped
        i = start;
        continue;
      }
      // "${}" is dropped too; otherwise the name between the braces.
      if (close > start + 1) out += lookup(text.substr(start + 1, close - start - 1));
      i = close;
    } else if (isShellSpecial(text[start])) {
      out += lookup(text.substr(start, 1));
      i = start;
    } else {
      size_t end = start;
      while (end < text.size() && isNameChar(text[end])) ++end;
      if (end == start) {  // "$" before anything else stays
        out += '$';
        continue;
      }
      out += lookup(text.substr(start, end - start));
      i = end - 1;
    }
  }
  return out;
}

StatusOr<Configuration> parseConfiguration(const YAML::Node& doc, const std::string& source) {
  Configuration c;
  c.source = source;
  auto prefix = [&]() {
    return source + ": Configuration" + (c.name.empty() ? "" : " '" + c.name + "'") + ": ";
  };
  if (!doc || doc.IsNull()) return c;
  if (!doc.IsMap()) return invalidArgumentError(source + ": expected a YAML map");
  if (const YAML::Node meta = doc["metadata"]; meta && meta.IsMap()) c.name = str(meta["name"]);
  if (const YAML::Node kind = doc["kind"]; kind && str(kind) != "Configuration") {
    return invalidArgumentError(prefix() + "field kind: '" + str(kind) + "' is not Configuration");
  }
  if (const YAML::Node v = doc["apiVersion"]; v && str(v) != "dapr.io/v1alpha1") {
    return invalidArgumentError(prefix() + "field apiVersion: '" + str(v) +
                                "' is not dapr.io/v1alpha1");
  }
  const YAML::Node spec = doc["spec"];
  Checker checker{&c.unknown_fields};
  if (Status s = checker.check(spec, specSchema(), "spec"); !s.ok()) {
    return invalidArgumentError(prefix() + s.message());
  }
  if (spec && spec.IsMap()) {
    Status s = parseSecrets(spec["secrets"], &c);
    if (s.ok()) s = parseAccessControl(spec["accessControl"], &c);
    if (!s.ok()) return invalidArgumentError(prefix() + s.message());
    if (const YAML::Node api = spec["api"]; api && api.IsMap()) {
      c.api_allowed = apiRules(api["allowed"]);
      c.api_denied = apiRules(api["denied"]);
    }
    const YAML::Node features = spec["features"];
    for (size_t i = 0; features && features.IsSequence() && i < features.size(); ++i) {
      Feature f{str(features[i]["name"]), boolean(features[i]["enabled"])};
      if (!f.name.empty()) c.features.push_back(std::move(f));
    }
    // Chained lookups only below a map: yaml-cpp throws when indexing a missing node.
    if (const YAML::Node logging = spec["logging"]; logging && logging.IsMap()) {
      if (const YAML::Node a = logging["apiLogging"]; a && a.IsMap()) {
        if (a["enabled"] && !a["enabled"].IsNull()) c.api_logging = boolean(a["enabled"]);
        c.api_logging_obfuscate_urls = boolean(a["obfuscateURLs"]);
        c.api_logging_omit_health_checks = boolean(a["omitHealthChecks"]);
      }
    }
    parseMetrics(spec, &c);
    if (const YAML::Node components = spec["components"]; components && components.IsMap()) {
      c.component_deny = strings(components["deny"]);
    }
    c.component_deny.erase(std::remove(c.component_deny.begin(), c.component_deny.end(), ""),
                           c.component_deny.end());
    for (const char* key : {"tracing", "mtls", "nameResolution", "httpPipeline", "appHttpPipeline",
                            "wasm", "workflow"}) {
      if (spec[key] && !spec[key].IsNull()) c.not_applied.push_back(key);
    }
  }
  // Features daprd 1.15 turns on unless a Configuration turns them off.
  for (const char* name : {"SchedulerReminders"}) {
    bool mentioned = std::any_of(c.features.begin(), c.features.end(),
                                 [&](const Feature& f) { return f.name == name; });
    if (!mentioned) c.features.push_back({name, true});
  }
  return c;
}

StatusOr<Configuration> loadConfigurationFiles(const std::vector<std::string>& paths) {
  YAML::Node all;
  std::string sources;
  for (const auto& path : paths) {
    std::ifstream in(path);
    if (!in) {
      return invalidArgumentError(path + ": cannot read the Configuration file (--config)");
    }
    std::stringstream text;
    text << in.rdbuf();
    YAML::Node doc;
    try {
      doc = YAML::Load(expandEnv(text.str()));  // the first document, as daprd reads it
    } catch (const YAML::Exception& e) {
      return invalidArgumentError(path + ": invalid YAML: " + e.what());
    }
    // Each file on its own first, so an error names the file it is in.
    RETURN_IF_ERROR(parseConfiguration(doc, path).status());
    all = merged(all, doc);
    sources += (sources.empty() ? "" : ", ") + path;
  }
  return parseConfiguration(all, sources);
}

StatusOr<Configuration> findConfiguration(const std::vector<runtime::Resource>& resources,
                                          const std::string& name) {
  const runtime::Resource* found = nullptr;
  for (const auto& r : resources) {
    if (r.kind != "Configuration" || r.name != name) continue;
    // The operator's copy wins over a file of the same name.
    if (!found || r.source.rfind("operator:", 0) == 0) found = &r;
  }
  if (!found) return notFoundError("configuration " + name + " not found");
  return parseConfiguration(found->node, found->source);
}

StatusOr<Configuration> loadConfiguration(const Options& options,
                                          const std::vector<runtime::Resource>& resources) {
  if (options.config_paths.empty()) return Configuration{};
  if (options.mode != "kubernetes") return loadConfigurationFiles(options.config_paths);
  if (options.config_paths.size() > 1) {
    LOG_WARN << "kubernetes mode uses one Configuration; only " << options.config_paths[0]
             << " is loaded";
  }
  return findConfiguration(resources, options.config_paths[0]);
}

namespace {

void logConfiguration(const Configuration& c) {
  std::string name = c.name.empty() ? "(unnamed)" : c.name;
  LOG_INFO << "configuration " << name << " loaded from " << c.source;
  for (const auto& field : c.unknown_fields) {
    LOG_WARN << "configuration " << name << ": " << field
             << " is not a Configuration field; ignored";
  }
  for (const auto& section : c.not_applied) {
    LOG_INFO << "configuration " << name << ": spec." << section
             << " is accepted but not applied by outriggerd";
  }
  if (!c.access_control.policies.empty()) {
    LOG_WARN << "configuration " << name
             << ": accessControl.policies are not enforced: they match callers by their mTLS "
                "identity, which outriggerd's sidecar-to-sidecar calls do not carry; only "
                "defaultAction ("
             << c.access_control.default_action << ") applies, as in daprd without mTLS";
  }
  for (const auto* rules : {&c.api_allowed, &c.api_denied}) {
    for (const auto& r : *rules) {
      if (r.protocol != "http" && r.protocol != "grpc") {
        LOG_WARN << "configuration " << name << ": api rule " << r.version << "/" << r.name
                 << " has protocol '" << r.protocol
                 << "': it applies to neither http nor grpc (as in daprd)";
      }
    }
  }
  auto features = c.enabledFeatures();
  if (!features.empty()) {
    std::string list;
    for (const auto& f : features) list += (list.empty() ? "" : " ") + f;
    LOG_INFO << "enabled features: " << list;
  }
}

}  // namespace

void applyConfiguration(const Configuration& config, Options* options,
                        std::vector<runtime::ComponentSpec>* components) {
  if (config.source.empty()) return;
  logConfiguration(config);
  if (config.metrics_enabled == false && options->enable_metrics) {
    LOG_INFO << "metrics are disabled by the configuration (metric.enabled: false)";
    options->enable_metrics = false;
  }
  auto denied = [&](const runtime::ComponentSpec& spec) {
    if (!config.componentDenied(spec.type, spec.version)) return false;
    LOG_WARN << "component '" << spec.name << "' cannot be loaded because components of type '"
             << spec.type << "/" << spec.version << "' are not allowed (components.deny)";
    return true;
  };
  components->erase(std::remove_if(components->begin(), components->end(), denied),
                    components->end());
}

}  // namespace outrigger::sidecar::config
