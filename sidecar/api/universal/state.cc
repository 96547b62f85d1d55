#include "sidecar/api/universal/state.h"

#include <algorithm>
#include <chrono>

#include "sidecar/api/universal/validate.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::api::universal {

namespace state = components::state;

namespace {

// Dapr's state errors: one place fixes each errorCode and HTTP status.
Status malformed(const std::string& message) {
  return invalidArgumentError(message).withErrorCode("ERR_MALFORMED_REQUEST", 400);
}

// Store failures keep 409 for etag mismatches and 400 for malformed etags, as Dapr does.
Status storeFailure(const char* code, const std::string& what, const std::string& store,
                    const Status& st) {
  int http = 500;
  if (st.code() == StatusCode::kAborted) http = 409;
  if (st.code() == StatusCode::kInvalidArgument) http = 400;
  if (!st.errorCode().empty()) return st;
  return Status(st.code(), what + " state store " + store + ": " + st.message())
      .withErrorCode(code, http);
}

Status notSupported(const std::string& store, const std::string& what) {
  return unimplementedError("state store " + store + " doesn't support " + what)
      .withErrorCode("ERR_STATE_STORE_NOT_SUPPORTED", 500);
}

StatusOr<state::Concurrency> concurrencyOf(const std::string& s) {
  if (s.empty() || s == "last-write") return state::Concurrency::kLastWrite;
  if (s == "first-write") return state::Concurrency::kFirstWrite;
  return malformed("invalid concurrency '" + s + "': expected first-write or last-write");
}

StatusOr<state::Consistency> consistencyOf(const std::string& s) {
  if (s.empty() || s == "eventual") return state::Consistency::kEventual;
  if (s == "strong") return state::Consistency::kStrong;
  return malformed("invalid consistency '" + s + "': expected strong or eventual");
}

Status checkMetadata(const Metadata& metadata) {
  return checkMetadataNoNul(metadata, "ERR_MALFORMED_REQUEST");
}

StatusOr<std::optional<int64_t>> ttlOf(const Metadata& metadata, const runtime::StateInstance& s) {
  auto ttl = state::parseTtl(metadata);
  if (!ttl.ok()) return malformed(ttl.status().message());
  if (*ttl && !state::hasFeature(*s.component, state::kFeatureTTL)) {
    return notSupported(s.spec.name, "TTL (metadata.ttlInSeconds)");
  }
  return ttl;
}

std::chrono::milliseconds queueTimeout(const runtime::StateInstance& s) {
  return s.component->queueTimeout().value_or(kDefaultQueueTimeout);
}

}  // namespace

StatusOr<std::shared_ptr<const runtime::StateInstance>> StateApi::store(
    const std::string& name) const {
  RETURN_IF_ERROR(checkNoNul("state store name", name, "ERR_MALFORMED_REQUEST"));
  if (context_.compstore.state.size() == 0) {
    return failedPreconditionError("state store is not configured")
        .withErrorCode("ERR_STATE_STORE_NOT_CONFIGURED", 500);
  }
  auto s = context_.compstore.state.get(name);
  if (!s) {
    return notFoundError("state store " + name + " is not found")
        .withErrorCode("ERR_STATE_STORE_NOT_FOUND", 400);
  }
  return s;
}

std::string StateApi::keyPrefix(const runtime::StateInstance& s) const {
  const std::string& mode = s.key_prefix;
  const std::string& app_id = context_.options.app_id;
  std::string prefix;
  if (mode.empty() || mode == "appid") {
    prefix = app_id;
  } else if (mode == "name") {
    prefix = s.spec.name;
  } else if (mode == "namespace") {
    prefix = context_.namespace_name.empty() ? app_id : context_.namespace_name + "." + app_id;
  } else if (mode == "none") {
    prefix.clear();
  } else {
    prefix = mode;
  }
  return prefix.empty() ? "" : prefix + "||";
}

StatusOr<std::string> StateApi::storeKey(const runtime::StateInstance& s,
                                         const std::string& key) const {
  if (key.empty()) return malformed("state key must not be empty");
  // Stores keep keys in C strings or text columns: a NUL would cut "a\0x" and "a\0y" to "a".
  RETURN_IF_ERROR(checkNoNul("state key", key, "ERR_MALFORMED_REQUEST"));
  if (key.find("||") != std::string::npos) {
    return malformed("input key/keyPrefix '" + key + "' can't contain '||'");
  }
  return keyPrefix(s) + key;
}

std::string StateApi::userKey(const std::string& stored) const {
  auto pos = stored.rfind("||");
  return pos == std::string::npos ? stored : stored.substr(pos + 2);
}

void StateApi::get(GetStateRequest request, Callback<GetStateResponse> done) {
  auto s = store(request.store);
  if (!s.ok()) return done(s.status());
  auto key = storeKey(**s, request.key);
  if (!key.ok()) return done(key.status());
  auto consistency = consistencyOf(request.consistency);
  if (!consistency.ok()) return done(consistency.status());
  if (Status st = checkMetadata(request.metadata); !st.ok()) return done(st);
  state::GetRequest req{*key, std::move(request.metadata), *consistency};
  auto inst = *s;
  std::string what = "fail to get " + req.key + " from";
  runOnComponent<StatusOr<GetStateResponse>>(
      inst->executor,
      [inst, req = std::move(req)]() -> StatusOr<GetStateResponse> {
        auto r = inst->component->get(req);
        if (!r.ok()) return r.status();
        GetStateResponse out;
        out.found = r->found;
        out.data = std::move(r->data);
        out.etag = std::move(r->etag);
        out.metadata = std::move(r->metadata);
        return out;
      },
      mapFailures<StatusOr<GetStateResponse>>(std::move(done),
                                              [inst, what](const Status& st) {
                                                return storeFailure("ERR_STATE_GET", what,
                                                                    inst->spec.name, st);
                                              }),
      inst->outbound, queueTimeout(*inst));
}

void StateApi::save(SaveStateRequest request, StatusCallback done) {
  auto s = store(request.store);
  if (!s.ok()) return done(s.status());
  auto inst = *s;
  std::vector<state::SetRequest> reqs;
  reqs.reserve(request.items.size());
  for (auto& item : request.items) {
    auto key = storeKey(*inst, item.key);
    if (!key.ok()) return done(key.status());
    auto concurrency = concurrencyOf(item.options.concurrency);
    if (!concurrency.ok()) return done(concurrency.status());
    auto consistency = consistencyOf(item.options.consistency);
    if (!consistency.ok()) return done(consistency.status());
    if (Status st = checkMetadata(item.metadata); !st.ok()) return done(st);
    auto ttl = ttlOf(item.metadata, *inst);
    if (!ttl.ok()) return done(ttl.status());
    if (item.etag && !state::hasFeature(*inst->component, state::kFeatureETag)) {
      return done(notSupported(inst->spec.name, "etags"));
    }
    state::SetRequest r;
    r.key = *key;
    r.value = std::move(item.value);
    r.etag = std::move(item.etag);
    r.metadata = std::move(item.metadata);
    r.concurrency = *concurrency;
    r.consistency = *consistency;
    r.ttl_seconds = *ttl;
    reqs.push_back(std::move(r));
  }
  if (reqs.empty()) return done(okStatus());
  runOnComponent<Status>(
      inst->executor,
      [inst, reqs = std::move(reqs)]() -> Status {
        for (const auto& r : reqs) RETURN_IF_ERROR(inst->component->set(r));
        return okStatus();
      },
      mapFailures<Status>(std::move(done),
                          [inst](const Status& st) {
                            return storeFailure("ERR_STATE_SAVE", "failed saving state in",
                                                inst->spec.name, st);
                          }),
      inst->outbound, queueTimeout(*inst));
}

void StateApi::remove(DeleteStateRequest request, StatusCallback done) {
  auto s = store(request.store);
  if (!s.ok()) return done(s.status());
  auto inst = *s;
  auto key = storeKey(*inst, request.key);
  if (!key.ok()) return done(key.status());
  auto concurrency = concurrencyOf(request.options.concurrency);
  if (!concurrency.ok()) return done(concurrency.status());
  auto consistency = consistencyOf(request.options.consistency);
  if (!consistency.ok()) return done(consistency.status());
  if (Status st = checkMetadata(request.metadata); !st.ok()) return done(st);
  state::DeleteRequest r{*key, std::move(request.etag), std::move(request.metadata), *concurrency,
                         *consistency};
  std::string what = "failed deleting state with key " + r.key + " in";
  runOnComponent<Status>(
      inst->executor, [inst, r = std::move(r)]() -> Status { return inst->component->del(r); },
      mapFailures<Status>(std::move(done),
                          [inst, what](const Status& st) {
                            return storeFailure("ERR_STATE_DELETE", what, inst->spec.name, st);
                          }),
      inst->outbound, queueTimeout(*inst));
}

void StateApi::bulkGet(BulkGetRequest request, Callback<std::vector<BulkGetItem>> done) {
  auto s = store(request.store);
  if (!s.ok()) return done(s.status());
  auto inst = *s;
  if (Status st = checkMetadata(request.metadata); !st.ok()) return done(st);
  std::vector<state::GetRequest> reqs;
  for (const auto& k : request.keys) {
    auto key = storeKey(*inst, k);
    if (!key.ok()) return done(key.status());
    reqs.push_back(state::GetRequest{*key, request.metadata, state::Consistency::kEventual});
  }
  std::vector<std::string> keys = std::move(request.keys);
  runOnComponent<StatusOr<std::vector<BulkGetItem>>>(
      inst->executor,
      [inst, reqs = std::move(reqs),
       keys = std::move(keys)]() -> StatusOr<std::vector<BulkGetItem>> {
        std::vector<BulkGetItem> out;
        out.reserve(keys.size());
        // Per-key errors are reported per item, as Dapr does, rather than failing the whole call.
        for (size_t i = 0; i < reqs.size(); ++i) {
          BulkGetItem item;
          item.key = keys[i];
          auto r = inst->component->get(reqs[i]);
          if (!r.ok()) {
            item.error = r.status().message();
          } else {
            item.found = r->found;
            item.data = std::move(r->data);
            item.etag = std::move(r->etag);
          }
          out.push_back(std::move(item));
        }
        return out;
      },
      mapFailures<StatusOr<std::vector<BulkGetItem>>>(
          std::move(done),
          [inst](const Status& st) {
            return storeFailure("ERR_STATE_BULK_GET", "failed bulk get from", inst->spec.name, st);
          }),
      inst->outbound, queueTimeout(*inst));
}

void StateApi::transaction(TransactionRequest request, StatusCallback done) {
  auto s = store(request.store);
  if (!s.ok()) return done(s.status());
  auto inst = *s;
  auto* tx = dynamic_cast<state::TransactionalStore*>(inst->component.get());
  if (!tx || !state::hasFeature(*inst->component, state::kFeatureTransactional)) {
    return done(notSupported(inst->spec.name, "transactions"));
  }
  if (tx->maxOperations() > 0 && request.operations.size() > tx->maxOperations()) {
    return done(invalidArgumentError("the transaction contains " +
                                     std::to_string(request.operations.size()) +
                                     " operations, more than the store's maximum of " +
                                     std::to_string(tx->maxOperations()))
                    .withErrorCode("ERR_STATE_STORE_TOO_MANY_TRANSACTIONS", 400));
  }
  if (Status st = checkMetadata(request.metadata); !st.ok()) return done(st);
  std::vector<state::Operation> ops;
  for (auto& op : request.operations) {
    auto key = storeKey(*inst, op.request.key);
    if (!key.ok()) return done(key.status());
    if (Status st = checkMetadata(op.request.metadata); !st.ok()) return done(st);
    auto concurrency = concurrencyOf(op.request.options.concurrency);
    if (!concurrency.ok()) return done(concurrency.status());
    auto consistency = consistencyOf(op.request.options.consistency);
    if (!consistency.ok()) return done(consistency.status());
    state::Operation o;
    if (op.operation == "upsert") {
      auto ttl = ttlOf(op.request.metadata, *inst);
      if (!ttl.ok()) return done(ttl.status());
      o.kind = state::Operation::Kind::kUpsert;
      o.set = state::SetRequest{*key,
                                std::move(op.request.value),
                                std::move(op.request.etag),
                                std::move(op.request.metadata),
                                *concurrency,
                                *consistency,
                                *ttl};
    } else if (op.operation == "delete") {
      o.kind = state::Operation::Kind::kDelete;
      o.del = state::DeleteRequest{*key, std::move(op.request.etag), std::move(op.request.metadata),
                                   *concurrency, *consistency};
    } else {
      return done(invalidArgumentError("operation type " + op.operation + " not supported")
                      .withErrorCode("ERR_NOT_SUPPORTED_STATE_OPERATION", 400));
    }
    ops.push_back(std::move(o));
  }
  if (ops.empty()) return done(okStatus());
  Metadata metadata = std::move(request.metadata);
  runOnComponent<Status>(
      inst->executor,
      [inst, tx, ops = std::move(ops), metadata = std::move(metadata)]() -> Status {
        return tx->multi(ops, metadata);
      },
      // Dapr answers every failed transaction 500, etag conflicts included.
      mapFailures<Status>(std::move(done),
                          [](const Status& st) {
                            return Status(st.code(), "error while executing state transaction: " +
                                                         st.message())
                                .withErrorCode("ERR_STATE_TRANSACTION", 500);
                          }),
      inst->outbound, queueTimeout(*inst));
}

void StateApi::query(QueryStateRequest request, Callback<QueryStateResponse> done) {
  auto s = store(request.store);
  if (!s.ok()) return done(s.status());
  auto inst = *s;
  auto* querier = dynamic_cast<state::QueryableStore*>(inst->component.get());
  if (!querier || !state::hasFeature(*inst->component, state::kFeatureQuery)) {
    return done(notSupported(inst->spec.name, "the query API"));
  }
  if (Status st = checkMetadata(request.metadata); !st.ok()) return done(st);
  auto req = std::make_shared<state::QueryRequest>();
  req->key_prefix = keyPrefix(*inst);
  req->query = std::move(request.query);
  req->metadata = std::move(request.metadata);
  runOnComponent<StatusOr<QueryStateResponse>>(
      inst->executor,
      [inst, querier, req]() -> StatusOr<QueryStateResponse> {
        auto r = querier->query(*req);
        if (!r.ok()) return r.status();
        QueryStateResponse out;
        out.token = std::move(r->token);
        out.results.reserve(r->results.size());
        for (auto& item : r->results) {
          QueryStateItem o;
          o.key = item.key.substr(std::min(req->key_prefix.size(), item.key.size()));
          o.data = std::move(item.data);
          o.etag = std::move(item.etag);
          out.results.push_back(std::move(o));
        }
        return out;
      },
      mapFailures<StatusOr<QueryStateResponse>>(
          std::move(done),
          [inst](const Status& st) {
            // A query the store cannot run as asked (a bad page token) is the caller's fault.
            int http = st.code() == StatusCode::kInvalidArgument ? 400 : 500;
            return Status(st.code(),
                          "failed query in state store " + inst->spec.name + ": " + st.message())
                .withErrorCode("ERR_STATE_QUERY", http);
          }),
      inst->outbound, queueTimeout(*inst));
}

}  // namespace outrigger::sidecar::api::universal
