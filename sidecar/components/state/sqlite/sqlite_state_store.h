#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "sidecar/components/state/query.h"
#include "sidecar/components/state/store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::state::sqlite {

// state.sqlite: durable and embedded (the default store of local runs). One connection in WAL
// mode behind a mutex; etags are row versions; expired rows are invisible and purged lazily.
class SqliteStateStore : public Store, public TransactionalStore, public QueryableStore {
 public:
  ~SqliteStateStore() override;
  Status init(const runtime::Properties& properties) override;
  std::vector<std::string> features() const override;
  StatusOr<GetResponse> get(const GetRequest& request) override;
  Status set(const SetRequest& request) override;
  Status del(const DeleteRequest& request) override;
  Status multi(const std::vector<Operation>& operations, const RequestMetadata& metadata) override;
  // Scans the live rows under the key prefix and evaluates the query on each value.
  StatusOr<QueryResponse> query(const QueryRequest& request) override;
  void close() override;
  // The busy timeout: a write waits as long for a lock held by another connection.
  std::optional<std::chrono::milliseconds> queueTimeout() const override;

 private:
  Status exec(const std::string& sql);
  Status setLocked(const SetRequest& request);
  Status delLocked(const DeleteRequest& request);
  // The live row's version, 0 when absent or expired.
  StatusOr<int64_t> versionOf(const std::string& key);
  void cleanupLoop();

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::string table_;
  std::mt19937_64 random_{std::random_device{}()};
  int64_t cleanup_interval_ms_ = 0;
  int64_t timeout_ms_ = 20000;
  bool closing_ = false;
  std::condition_variable cleaner_cv_;
  std::thread cleaner_;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::state::sqlite
