#pragma once

// The secret store interface: a secret has one or more key/value pairs.

#include <map>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::components::secretstores {

using Secret = std::map<std::string, std::string>;

class SecretStore {
 public:
  virtual ~SecretStore() = default;
  virtual Status init(const runtime::Properties& properties) = 0;
  // NotFound when the secret does not exist.
  virtual StatusOr<Secret> get(const std::string& name,
                               const std::map<std::string, std::string>& metadata) = 0;
  virtual StatusOr<std::map<std::string, Secret>> bulkGet(
      const std::map<std::string, std::string>& metadata) = 0;
  virtual std::vector<std::string> features() const { return {}; }
  virtual void close() {}
};

}  // namespace outrigger::sidecar::components::secretstores
