#pragma once

// Dapr Configuration resources (kind: Configuration, dapr.io/v1alpha1; contract §5.3): read from
// --config files in standalone mode or picked by name from the operator's resources in
// Kubernetes mode. Every field of Dapr's schema is type-checked; the parts outrigger applies are
// kept here, the rest is reported as accepted but not applied.

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"
#include "sidecar/options.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar::config {

// spec.secrets.scopes[]: which secrets of one store the app may read.
struct SecretScope {
  std::string store;
  bool default_allow = true;      // defaultAccess (allow unless "deny")
  std::set<std::string> allowed;  // allowedSecrets: when not empty, only these
  std::set<std::string> denied;   // deniedSecrets
  bool allows(const std::string& key) const;
};

// Per store name; a store without a scope allows every secret.
using SecretScopes = std::map<std::string, SecretScope>;

// spec.api.allowed[] / spec.api.denied[].
struct ApiRule {
  std::string name;
  std::string version;
  std::string protocol;  // lower-cased: "http", "grpc", or what the file said
};

// spec.accessControl. Dapr matches policies against the caller's mTLS (SPIFFE) identity; a
// caller without one gets the global defaultAction, which is all outrigger can apply.
struct AccessControlPolicy {
  std::string app_id;
  std::string default_action;  // lower-cased; empty: the global one
  std::string trust_domain;
  std::string namespace_name;
  struct Operation {
    std::string name;
    std::vector<std::string> http_verbs;
    std::string action;
  };
  std::vector<Operation> operations;
};

struct AccessControl {
  bool present = false;        // any of defaultAction, trustDomain, policies given
  std::string default_action;  // "allow" or "deny" after Dapr's defaulting
  std::string trust_domain = "public";
  std::vector<AccessControlPolicy> policies;
  // The decision for an invocation from a caller without a verified identity (every caller of
  // outriggerd): OK, or daprd's answer, 403 ERR_DIRECT_INVOKE. target: the request target the
  // callee sidecar received ("/method?query").
  Status checkAnonymousCall(const std::string& app_id, std::string_view target,
                            std::string_view verb) const;
};

struct Feature {
  std::string name;
  bool enabled = false;
};

struct Configuration {
  std::string name;    // metadata.name (empty: none loaded)
  std::string source;  // file(s) or "operator: Configuration <name>", for messages
  SecretScopes secret_scopes;
  std::vector<ApiRule> api_allowed;
  std::vector<ApiRule> api_denied;
  AccessControl access_control;
  std::vector<Feature> features;    // as written, then Dapr's defaults
  std::optional<bool> api_logging;  // logging.apiLogging.enabled, when given
  bool api_logging_obfuscate_urls = false;
  bool api_logging_omit_health_checks = false;
  std::optional<bool> metrics_enabled;      // metric(s).enabled, when given
  std::vector<std::string> component_deny;  // components.deny: "type" or "type/version"
  // Sections given that outrigger accepts without applying, e.g. "tracing", "mtls".
  std::vector<std::string> not_applied;
  // Fields that are not part of Dapr's schema (ignored, as daprd does).
  std::vector<std::string> unknown_fields;

  // Names of the enabled features, in the order written (what the metadata API shows).
  std::vector<std::string> enabledFeatures() const;
  bool secretAllowed(const std::string& store, const std::string& key) const;
  // True when components.deny names this component type (optionally with its version).
  bool componentDenied(const std::string& type, const std::string& version) const;
};

// Parses one Configuration document. Errors name the source and the field, e.g.
// "config.yaml: Configuration 'appconfig': field spec.secrets.scopes[0].allowedSecrets: expected
// a list of strings".
StatusOr<Configuration> parseConfiguration(const YAML::Node& doc, const std::string& source);

// Standalone --config files: environment variables in the text are expanded as daprd does
// ($VAR, ${VAR}); later files are merged over earlier ones (maps merge, lists replace).
StatusOr<Configuration> loadConfigurationFiles(const std::vector<std::string>& paths);

// Kubernetes mode: the Configuration named `name` among the resources the operator streamed
// (or the files of --resources-path). NotFound when there is none.
StatusOr<Configuration> findConfiguration(const std::vector<runtime::Resource>& resources,
                                          const std::string& name);

// The Configuration --config names for this mode: files in standalone mode, a resource name in
// Kubernetes mode (looked up among `resources`, the operator's and the resources path's). No
// --config: an empty Configuration (nothing restricted, no features).
StatusOr<Configuration> loadConfiguration(const Options& options,
                                          const std::vector<runtime::Resource>& resources);

// Applies what is applied outside the API layer: metric(s).enabled onto the options, and
// components.deny by leaving those components out (with a warning each, as daprd does). Logs what
// the configuration applies and what it does not.
void applyConfiguration(const Configuration& config, Options* options,
                        std::vector<runtime::ComponentSpec>* components);

// Go's os.ExpandEnv: $NAME and ${NAME} replaced by the variable's value (empty when unset).
std::string expandEnv(const std::string& text);

}  // namespace outrigger::sidecar::config
