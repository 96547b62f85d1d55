#pragma once

#include <map>
#include <string>
#include <vector>

#include "sidecar/components/secretstores/secret_store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::secretstores::local_file {

// secretstores.local.file: secrets from a JSON file read once at init.
//
// Name/value mode (default): every leaf of the document is one secret named by its path, joined
// with nestedSeparator ({"db":{"password":"x"}} -> secret "db:password" = {"db:password": "x"});
// array elements are named by their index ("hosts:0").
// multiValued: each top-level member is a secret; the leaves below it, flattened the same way
// relative to it, are its keys ({"db":{"user":"u","tls":{"ca":"c"}}} -> "db" = {user, tls:ca}).
// Leaves are text: strings as they are, numbers as written in the file, true/false, null as "".
//
// The secrets never change after init, so concurrent get/bulkGet calls only read: no lock.
class LocalFileSecretStore : public SecretStore {
 public:
  Status init(const runtime::Properties& properties) override;
  StatusOr<Secret> get(const std::string& name,
                       const std::map<std::string, std::string>& metadata) override;
  StatusOr<std::map<std::string, Secret>> bulkGet(
      const std::map<std::string, std::string>& metadata) override;
  std::vector<std::string> features() const override;

 private:
  std::map<std::string, Secret> secrets_;
  bool multi_valued_ = false;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::secretstores::local_file
