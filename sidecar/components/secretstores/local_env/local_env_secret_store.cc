#include "sidecar/components/secretstores/local_env/local_env_secret_store.h"

#include <strings.h>

#include <cstdlib>
#include <string_view>

extern char** environ;

namespace outrigger::sidecar::components::secretstores::local_env {

namespace {

// The sidecar's own credentials and settings stay private even to an env secret store.
bool hidden(const std::string& var) {
  return strcasecmp(var.c_str(), "APP_API_TOKEN") == 0 ||
         (var.size() >= 5 && strncasecmp(var.c_str(), "DAPR_", 5) == 0);
}

}  // namespace

Status LocalEnvSecretStore::init(const runtime::Properties& p) {
  prefix_ = p.get("prefix");
  return okStatus();
}

// Dapr answers an unset (or hidden) variable with {NAME: ""}, because Go's os.Getenv cannot tell
// unset from empty. Here an unset variable is NotFound, like a missing secret of any other store:
// the API answers 204, and a secretKeyRef to a misspelt variable stops start-up with its name
// instead of handing a component an empty password. A variable set to "" is a secret with an
// empty value.
StatusOr<Secret> LocalEnvSecretStore::get(const std::string& name,
                                          const std::map<std::string, std::string>&) {
  const std::string var = prefix_ + name;
  // getenv reads a C string and matches up to '=': "KEY\0" would read KEY, "KEY=a" a tail of its
  // value, past whatever checked the whole name. No variable's name holds either byte.
  if (name.empty() || hidden(var) ||
      var.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
    return notFoundError("environment variable " + var + " is not available");
  }
  const char* value = std::getenv(var.c_str());
  if (!value) return notFoundError("environment variable " + var + " is not set");
  return Secret{{name, value}};
}

StatusOr<std::map<std::string, Secret>> LocalEnvSecretStore::bulkGet(
    const std::map<std::string, std::string>&) {
  std::map<std::string, Secret> out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string var = entry.substr(0, eq);
    // The variable named exactly the prefix would be a secret without a name: skipped, as Dapr.
    if (var.size() <= prefix_.size() || var.compare(0, prefix_.size(), prefix_) != 0) continue;
    if (hidden(var)) continue;
    std::string name = var.substr(prefix_.size());
    out[name] = Secret{{name, entry.substr(eq + 1)}};
  }
  return out;
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<SecretStore> factory;
  factory.type = "secretstores.local.env";
  factory.blocking = false;  // reads the process environment only
  factory.fields = {{"prefix", runtime::FieldType::kString, false, std::nullopt, {}}};
  factory.create = [] { return std::make_unique<LocalEnvSecretStore>(); };
  (void)registry.secretstores.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::secretstores::local_env
