#include "sidecar/api/universal/secrets.h"

#include <optional>

#include "common/logging/log.h"
#include "sidecar/api/universal/validate.h"

namespace outrigger::sidecar::api::universal {

namespace {

// Go's %q for the names in daprd's message.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Status permissionDenied(const std::string& store, const std::string& key) {
  return permissionDeniedError("access denied by policy to get " + quoted(key) + " from " +
                               quoted(store))
      .withErrorCode("ERR_PERMISSION_DENIED", 403);
}

}  // namespace

bool SecretsApi::allowed(const std::string& store, const std::string& key) const {
  auto it = scopes_.find(store);
  return it == scopes_.end() || it->second.allows(key);
}

StatusOr<std::shared_ptr<const runtime::SecretStoreInstance>> SecretsApi::find(
    const std::string& name) const {
  RETURN_IF_ERROR(checkNoNul("secret store name", name, "ERR_SECRET_GET"));
  if (context_.compstore.secretstores.size() == 0) {
    return failedPreconditionError("secret store is not configured")
        .withErrorCode("ERR_SECRET_STORES_NOT_CONFIGURED", 500);
  }
  auto s = context_.compstore.secretstores.get(name);
  // Dapr answers 401 here (its docs say 400); the code is what clients see.
  if (!s) {
    return notFoundError("failed finding secret store with key " + name)
        .withErrorCode("ERR_SECRET_STORE_NOT_FOUND", 401);
  }
  return s;
}

void SecretsApi::get(const std::string& store, const std::string& key,
                     std::map<std::string, std::string> metadata, Callback<SecretMap> done) {
  // Checked before the scopes: a scope must see the very name the store will look up.
  if (Status st = checkNoNul("secret name", key, "ERR_SECRET_GET"); !st.ok()) return done(st);
  if (Status st = checkMetadataNoNul(metadata, "ERR_SECRET_GET"); !st.ok()) return done(st);
  auto s = find(store);
  if (!s.ok()) return done(s.status());
  if (!allowed(store, key)) return done(permissionDenied(store, key));
  auto inst = *s;
  runOnComponent<StatusOr<SecretMap>>(
      inst->executor,
      [inst, key, metadata = std::move(metadata)]() -> StatusOr<SecretMap> {
        auto r = inst->component->get(key, metadata);
        if (!r.ok()) {
          if (r.status().code() == StatusCode::kNotFound) return SecretMap{};
          return Status(r.status().code(), "failed getting secret with key " + key +
                                               " from secret store " + inst->spec.name + ": " +
                                               r.status().message())
              .withErrorCode("ERR_SECRET_GET", 500);
        }
        return *r;
      },
      mapFailures<StatusOr<SecretMap>>(std::move(done),
                                       [inst, key](const Status& st) {
                                         return Status(st.code(),
                                                       "failed getting secret with key " + key +
                                                           " from secret store " + inst->spec.name +
                                                           ": " + st.message())
                                             .withErrorCode("ERR_SECRET_GET", 500);
                                       }),
      inst->outbound);
}

void SecretsApi::bulk(const std::string& store, std::map<std::string, std::string> metadata,
                      Callback<BulkSecrets> done) {
  if (Status st = checkMetadataNoNul(metadata, "ERR_SECRET_GET"); !st.ok()) return done(st);
  auto s = find(store);
  if (!s.ok()) return done(s.status());
  auto inst = *s;
  std::optional<config::SecretScope> scope;  // a copy: the call may outlive this object
  if (auto it = scopes_.find(store); it != scopes_.end()) scope = it->second;
  runOnComponent<StatusOr<BulkSecrets>>(
      inst->executor,
      [inst, scope, metadata = std::move(metadata)]() -> StatusOr<BulkSecrets> {
        auto r = inst->component->bulkGet(metadata);
        if (!r.ok()) {
          return Status(r.status().code(), "failed getting secrets from secret store " +
                                               inst->spec.name + ": " + r.status().message())
              .withErrorCode("ERR_SECRET_GET", 500);
        }
        if (scope) {
          for (auto it = r->begin(); it != r->end();) {
            if (scope->allows(it->first)) {
              ++it;
              continue;
            }
            LOG_DEBUG << permissionDenied(inst->spec.name, it->first).message();
            it = r->erase(it);
          }
        }
        return *r;
      },
      mapFailures<StatusOr<BulkSecrets>>(std::move(done),
                                         [inst](const Status& st) {
                                           return Status(st.code(),
                                                         "failed getting secrets from secret "
                                                         "store " +
                                                             inst->spec.name + ": " + st.message())
                                               .withErrorCode("ERR_SECRET_GET", 500);
                                         }),
      inst->outbound);
}

}  // namespace outrigger::sidecar::api::universal
