#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "sidecar/components/state/store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::state::postgresql {

// state.postgresql: a table (key, value, etag version, expiry); etag checks in the WHERE clause of
// each write, transactions with BEGIN/COMMIT, a small connection pool re-established after
// failures, connect and statement timeouts.
class PostgresStateStore : public Store, public TransactionalStore {
 public:
  ~PostgresStateStore() override;
  Status init(const runtime::Properties& properties) override;
  std::vector<std::string> features() const override;
  StatusOr<GetResponse> get(const GetRequest& request) override;
  Status set(const SetRequest& request) override;
  Status del(const DeleteRequest& request) override;
  Status multi(const std::vector<Operation>& operations, const RequestMetadata& metadata) override;
  void close() override;

 private:
  StatusOr<PGconn*> acquire();
  void release(PGconn* conn);
  Status setOn(PGconn* conn, const SetRequest& request);
  Status delOn(PGconn* conn, const DeleteRequest& request);

  std::string connection_string_;
  std::string table_;
  int64_t timeout_ms_ = 20000;
  size_t max_connections_ = 4;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<PGconn*> idle_;
  size_t open_ = 0;
  bool closed_ = false;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::state::postgresql
