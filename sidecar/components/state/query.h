#pragma once

// Dapr's state query language (POST /v1.0-alpha1/state/{store}/query):
//   {"filter": {EQ|IN|AND|OR ...}, "sort": [{"key", "order": "ASC|DESC"}],
//    "page": {"limit", "token"}}
// Keys in filters and sorts are dotted paths into the stored JSON value ("person.org").
// parseQuery() turns the JSON into a Query; QueryEvaluator runs one over candidate items, for
// stores that answer a query by scanning their items (in-memory, SQLite).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json/json.h"
#include "common/status/status.h"

namespace outrigger::sidecar::components::state {

// The most results one page holds, whatever page.limit asks: a larger result set is paged, with
// a token for the rest.
inline constexpr int64_t kMaxQueryResults = 1000;

struct QueryFilter {
  enum class Op { kEq, kIn, kAnd, kOr };
  Op op = Op::kEq;
  std::string key;                         // kEq, kIn: the path into the value
  std::shared_ptr<json::Document> values;  // kEq, kIn: an array (kEq: of one value)
  std::vector<QueryFilter> children;       // kAnd, kOr: two or more
};

struct QuerySort {
  std::string key;
  bool descending = false;
};

struct Query {
  std::optional<QueryFilter> filter;  // none: every item
  std::vector<QuerySort> sort;
  int64_t limit = 0;  // 0: not given (the page is then kMaxQueryResults long)
  std::string token;  // opaque to the caller: where the previous page stopped
};

// InvalidArgument naming what is wrong, as Dapr's query parser rejects it.
StatusOr<Query> parseQuery(std::string_view text);

struct QueryItem {
  std::string key;   // as stored (with the key prefix)
  std::string data;  // the stored bytes
  std::string etag;
};

struct QueryRequest {
  std::string key_prefix;  // only keys that start with it ("" : all)
  Query query;
  std::map<std::string, std::string> metadata;
};

struct QueryResponse {
  std::vector<QueryItem> results;
  std::string token;  // empty: no further page
};

// A store that answers queries advertises kFeatureQuery and implements this.
class QueryableStore {
 public:
  virtual ~QueryableStore() = default;
  virtual StatusOr<QueryResponse> query(const QueryRequest& request) = 0;
};

// Filters, sorts and pages items in memory. Items whose data is not JSON match no filter (but
// are listed when there is none). Without a sort, items come in key order, so pages are stable.
class QueryEvaluator {
 public:
  explicit QueryEvaluator(const Query& query) : query_(query) {}

  // Whether a JSON value satisfies the filter.
  bool matches(const json::Value& value) const;
  // Keeps the item when it matches the filter.
  void add(QueryItem item);
  // The page the query's limit and token select; InvalidArgument for a token this did not make.
  StatusOr<QueryResponse> finish();

 private:
  struct Candidate {
    QueryItem item;
    std::shared_ptr<json::Document> doc;  // null when the data is not JSON
  };
  const Query& query_;
  std::vector<Candidate> matched_;
};

}  // namespace outrigger::sidecar::components::state
