#pragma once

#include <map>
#include <string>

#include "sidecar/api/universal/async.h"
#include "sidecar/config/configuration.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::api::universal {

using SecretMap = std::map<std::string, std::string>;
using BulkSecrets = std::map<std::string, SecretMap>;

class SecretsApi {
 public:
  // scopes: the Configuration's spec.secrets.scopes; a store without one allows every secret.
  explicit SecretsApi(runtime::Context& context, config::SecretScopes scopes = {})
      : context_(context), scopes_(std::move(scopes)) {}
  // found=false (an empty map) answers 204; a secret the scopes deny is 403
  // ERR_PERMISSION_DENIED.
  void get(const std::string& store, const std::string& key,
           std::map<std::string, std::string> metadata, Callback<SecretMap> done);
  // Secrets the scopes deny are left out.
  void bulk(const std::string& store, std::map<std::string, std::string> metadata,
            Callback<BulkSecrets> done);

 private:
  StatusOr<std::shared_ptr<const runtime::SecretStoreInstance>> find(const std::string& name) const;
  bool allowed(const std::string& store, const std::string& key) const;
  runtime::Context& context_;
  const config::SecretScopes scopes_;
};

}  // namespace outrigger::sidecar::api::universal
