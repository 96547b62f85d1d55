#pragma once

#include <map>
#include <mutex>
#include <string>

#include "sidecar/components/secretstores/secret_store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::secretstores::local_file {

// secretstores.local.file: secrets from a JSON file read at init. Nested objects are flattened
// with nestedSeparator ("a:b"); with multiValued, each top-level key is a secret whose
// (flattened) children are its keys.
class LocalFileSecretStore : public SecretStore {
 public:
  Status init(const runtime::Properties& properties) override;
  StatusOr<Secret> get(const std::string& name,
                       const std::map<std::string, std::string>& metadata) override;
  StatusOr<std::map<std::string, Secret>> bulkGet(
      const std::map<std::string, std::string>& metadata) override;
  std::vector<std::string> features() const override;

 private:
  std::map<std::string, Secret> secrets_;  // immutable after init: no lock needed
  bool multi_valued_ = false;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::secretstores::local_file
