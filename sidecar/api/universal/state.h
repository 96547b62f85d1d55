#pragma once

// The state building block, independent of transport: requests in, StatusOr out. Errors carry
// Dapr's errorCode and HTTP status (see state_errors in state.cc).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sidecar/api/universal/async.h"
#include "sidecar/components/state/query.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::api::universal {

using Metadata = std::map<std::string, std::string>;

struct StateOptions {
  std::string concurrency;  // "first-write" | "last-write" | ""
  std::string consistency;  // "strong" | "eventual" | ""
};

struct StateItem {
  std::string key;
  std::string value;  // JSON text as the app sent it
  std::optional<std::string> etag;
  Metadata metadata;
  StateOptions options;
};

struct GetStateRequest {
  std::string store;
  std::string key;
  std::string consistency;
  Metadata metadata;
};

struct GetStateResponse {
  bool found = false;
  std::string data;
  std::string etag;
  Metadata metadata;
};

struct SaveStateRequest {
  std::string store;
  std::vector<StateItem> items;
};

struct DeleteStateRequest {
  std::string store;
  std::string key;
  std::optional<std::string> etag;
  StateOptions options;
  Metadata metadata;
};

struct BulkGetRequest {
  std::string store;
  std::vector<std::string> keys;
  Metadata metadata;
};

struct BulkGetItem {
  std::string key;
  bool found = false;
  std::string data;
  std::string etag;
  std::string error;
};

struct TransactionOp {
  std::string operation;  // "upsert" | "delete"
  StateItem request;
};

struct TransactionRequest {
  std::string store;
  std::vector<TransactionOp> operations;
  Metadata metadata;
};

struct QueryStateRequest {
  std::string store;
  components::state::Query query;  // parsed by the transport (components::state::parseQuery)
  Metadata metadata;
};

struct QueryStateItem {
  std::string key;  // without the key prefix
  std::string data;
  std::string etag;
};

struct QueryStateResponse {
  std::vector<QueryStateItem> results;
  std::string token;
};

class StateApi {
 public:
  explicit StateApi(runtime::Context& context) : context_(context) {}

  void get(GetStateRequest request, Callback<GetStateResponse> done);
  void save(SaveStateRequest request, StatusCallback done);
  void remove(DeleteStateRequest request, StatusCallback done);
  void bulkGet(BulkGetRequest request, Callback<std::vector<BulkGetItem>> done);
  void transaction(TransactionRequest request, StatusCallback done);
  // Only this app's keys (the store's keyPrefix) are searched.
  void query(QueryStateRequest request, Callback<QueryStateResponse> done);

 private:
  StatusOr<std::shared_ptr<const runtime::StateInstance>> store(const std::string& name) const;
  std::string keyPrefix(const runtime::StateInstance& store) const;  // "<prefix>||" or ""
  StatusOr<std::string> storeKey(const runtime::StateInstance& store, const std::string& key) const;
  std::string userKey(const std::string& stored) const;
  runtime::Context& context_;
};

}  // namespace outrigger::sidecar::api::universal
