#pragma once

#include <map>
#include <string>

#include "sidecar/api/universal/async.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::api::universal {

using SecretMap = std::map<std::string, std::string>;
using BulkSecrets = std::map<std::string, SecretMap>;

class SecretsApi {
 public:
  explicit SecretsApi(runtime::Context& context) : context_(context) {}
  // found=false (an empty map) answers 204.
  void get(const std::string& store, const std::string& key,
           std::map<std::string, std::string> metadata, Callback<SecretMap> done);
  void bulk(const std::string& store, std::map<std::string, std::string> metadata,
            Callback<BulkSecrets> done);

 private:
  StatusOr<std::shared_ptr<const runtime::SecretStoreInstance>> find(const std::string& name) const;
  runtime::Context& context_;
};

}  // namespace outrigger::sidecar::api::universal
