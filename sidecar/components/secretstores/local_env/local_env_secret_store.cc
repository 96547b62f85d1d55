#include "sidecar/components/secretstores/local_env/local_env_secret_store.h"

#include <cstdlib>

extern char** environ;

namespace outrigger::sidecar::components::secretstores::local_env {

namespace {

// The sidecar's own credentials stay private even to an env secret store.
bool hidden(const std::string& name) { return name == "DAPR_API_TOKEN" || name == "APP_API_TOKEN"; }

}  // namespace

Status LocalEnvSecretStore::init(const runtime::Properties& p) {
  prefix_ = p.get("prefix");
  return okStatus();
}

StatusOr<Secret> LocalEnvSecretStore::get(const std::string& name,
                                          const std::map<std::string, std::string>&) {
  std::string var = prefix_ + name;
  const char* value = hidden(var) ? nullptr : std::getenv(var.c_str());
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
    std::string name = entry.substr(0, eq);
    if (hidden(name) || name.rfind(prefix_, 0) != 0) continue;
    std::string key = name.substr(prefix_.size());
    if (!key.empty()) out[key] = Secret{{key, entry.substr(eq + 1)}};
  }
  return out;
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<SecretStore> factory;
  factory.type = "secretstores.local.env";
  factory.blocking = false;
  factory.fields = {{"prefix", runtime::FieldType::kString, false, std::nullopt, {}}};
  factory.create = [] { return std::make_unique<LocalEnvSecretStore>(); };
  (void)registry.secretstores.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::secretstores::local_env
