#pragma once

#include <map>
#include <string>

#include "sidecar/components/secretstores/secret_store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::secretstores::local_env {

// secretstores.local.env: each environment variable is a secret {NAME: value}. With `prefix`,
// only variables whose names start with it (case-sensitive) are seen, and they are named without
// it: prefix "MYAPP_" serves MYAPP_DB as secret "DB". As in Dapr, APP_API_TOKEN and every DAPR_*
// variable (compared upper-cased, after the prefix is added) are never exposed.
//
// The environment is read on every call (nothing is cached), so a variable set before start-up
// is seen; the sidecar never changes its environment after start-up, so reading it is safe from
// any thread.
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
