#pragma once

#include "sidecar/components/secretstores/secret_store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::secretstores::local_env {

// secretstores.local.env: environment variables as secrets ({NAME: value}); with `prefix`, only
// variables starting with it, named without it. Runtime and token variables are never exposed.
class LocalEnvSecretStore : public SecretStore {
 public:
  Status init(const runtime::Properties& properties) override;
  StatusOr<Secret> get(const std::string& name,
                       const std::map<std::string, std::string>& metadata) override;
  StatusOr<std::map<std::string, Secret>> bulkGet(
      const std::map<std::string, std::string>& metadata) override;

 private:
  std::string prefix_;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::secretstores::local_env
