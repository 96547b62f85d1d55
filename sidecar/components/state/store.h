#pragma once

// The state store interface every state component implements. Optional abilities are separate
// interfaces (TransactionalStore), found with dynamic_cast and advertised by features().

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::components::state {

// Names as Dapr's metadata API shows them.
inline constexpr const char* kFeatureETag = "ETAG";
inline constexpr const char* kFeatureTransactional = "TRANSACTIONAL";
inline constexpr const char* kFeatureTTL = "TTL";
inline constexpr const char* kFeatureQuery = "QUERY_API";

enum class Concurrency { kLastWrite, kFirstWrite };
enum class Consistency { kEventual, kStrong };

using RequestMetadata = std::map<std::string, std::string>;

struct GetRequest {
  std::string key;  // already prefixed by the runtime
  RequestMetadata metadata;
  Consistency consistency = Consistency::kEventual;
};

struct GetResponse {
  bool found = false;
  std::string data;  // the stored bytes (JSON as saved)
  std::string etag;
  RequestMetadata metadata;
};

struct SetRequest {
  std::string key;
  std::string value;
  std::optional<std::string> etag;  // present: must match the stored etag
  RequestMetadata metadata;
  Concurrency concurrency = Concurrency::kLastWrite;
  Consistency consistency = Consistency::kEventual;
  // parsed from metadata.ttlInSeconds (parseTtl); <= 0 means "no TTL"
  std::optional<int64_t> ttl_seconds;
};

struct DeleteRequest {
  std::string key;
  std::optional<std::string> etag;
  RequestMetadata metadata;
  Concurrency concurrency = Concurrency::kLastWrite;
  Consistency consistency = Consistency::kEventual;
};

struct Operation {
  enum class Kind { kUpsert, kDelete };
  Kind kind = Kind::kUpsert;
  SetRequest set;     // for kUpsert
  DeleteRequest del;  // for kDelete
};

// Error conventions, so the API answers with Dapr's codes:
//  - etag mismatch (or first-write on an existing key, or an etag for a missing key): kAborted
//  - malformed etag: kInvalidArgument
//  - backend unreachable / failing: kUnavailable or kInternal
Status etagMismatch(const std::string& key);
Status etagInvalid(const std::string& etag);

// The etag format the stores here share: a version number in decimal. etagInvalid when the text
// is not one (Dapr's ETagInvalid, 400), so a mismatch (409) is only ever a well-formed etag.
StatusOr<int64_t> parseVersionEtag(const std::string& etag);

// metadata.ttlInSeconds as Dapr bounds it (components-contrib ParseTTL): a whole number from -1
// (never expires) to kMaxTtlSeconds, 68 years, which no store overflows (seconds to nanoseconds
// on a steady clock, epoch seconds, PostgreSQL intervals, Redis EXPIRE).
inline constexpr int64_t kMaxTtlSeconds = 2147483647;
// nullopt when absent or empty; InvalidArgument when out of range or not a number.
StatusOr<std::optional<int64_t>> parseTtl(const RequestMetadata& metadata);
// InvalidArgument unless the TTL is one parseTtl accepts.
Status checkTtl(const std::optional<int64_t>& ttl_seconds);
// Every operation's TTL and etag (etags in the version format when version_etags), so that a
// transaction fails before it writes anything.
Status checkOperations(const std::vector<Operation>& operations, bool version_etags);

class Store {
 public:
  virtual ~Store() = default;
  virtual Status init(const runtime::Properties& properties) = 0;
  virtual std::vector<std::string> features() const = 0;
  virtual StatusOr<GetResponse> get(const GetRequest& request) = 0;
  virtual Status set(const SetRequest& request) = 0;
  virtual Status del(const DeleteRequest& request) = 0;
  // Default: one get per key.
  virtual StatusOr<std::vector<GetResponse>> bulkGet(const std::vector<GetRequest>& requests);
  virtual void close() {}
  // How long a call may wait for one of the component's workers before it fails (nullopt: the
  // runtime's default). Stores with a timeout of their own derive it from that, as Dapr's
  // clients bound their pool waits (go-redis: PoolTimeout = ReadTimeout + 1 s).
  virtual std::optional<std::chrono::milliseconds> queueTimeout() const { return std::nullopt; }
};

class TransactionalStore {
 public:
  virtual ~TransactionalStore() = default;
  // Applies every operation or none.
  virtual Status multi(const std::vector<Operation>& operations,
                       const RequestMetadata& metadata) = 0;
  // 0: no limit.
  virtual size_t maxOperations() const { return 0; }
};

bool hasFeature(const Store& store, const char* feature);

}  // namespace outrigger::sidecar::components::state
