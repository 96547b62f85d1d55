#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/components/state/query.h"
#include "sidecar/components/state/store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::state::postgresql {

// state.postgresql: one table (key, value bytes, etag from a sequence, expiry, dates). Etag checks
// and first-write sit in the WHERE clause of each write, so they hold under concurrency;
// transactions run in BEGIN/COMMIT. A small pool of connections, dropped and re-made after
// failures. Every statement runs under statement_timeout on the server and a deadline on the
// client, so a server that stops answering gives an error, not a hang. Expired rows are invisible
// at once and deleted every cleanupInterval by one of the sidecars sharing the table.
class PostgresStateStore : public Store, public TransactionalStore, public QueryableStore {
 public:
  ~PostgresStateStore() override;
  Status init(const runtime::Properties& properties) override;
  std::vector<std::string> features() const override;
  StatusOr<GetResponse> get(const GetRequest& request) override;
  StatusOr<std::vector<GetResponse>> bulkGet(const std::vector<GetRequest>& requests) override;
  Status set(const SetRequest& request) override;
  Status del(const DeleteRequest& request) override;
  Status multi(const std::vector<Operation>& operations, const RequestMetadata& metadata) override;
  // Reads the live rows under the key prefix and evaluates the query on each value (the same
  // evaluator as the in-memory and SQLite stores, so the answers agree).
  StatusOr<QueryResponse> query(const QueryRequest& request) override;
  void close() override;
  // timeout: as pgx's calls, which wait for a pooled connection under the same context.
  std::optional<std::chrono::milliseconds> queueTimeout() const override;

 private:
  struct Conn {
    PGconn* pg = nullptr;
    bool broken = false;  // dropped on release instead of going back to the pool
  };
  struct Param {
    std::string value;
    bool binary = false;
  };
  using Result = std::unique_ptr<PGresult, void (*)(PGresult*)>;

  StatusOr<Conn> acquire();
  void release(Conn& conn);
  StatusOr<PGconn*> connect();
  // One statement (or, without params, a semicolon-separated script) within the deadline.
  StatusOr<Result> run(Conn& conn, const std::string& sql, const std::vector<Param>& params = {},
                       bool binary_result = false);
  Status waitSocket(Conn& conn, bool write, std::chrono::steady_clock::time_point deadline);
  Status setOn(Conn& conn, const SetRequest& request);
  Status delOn(Conn& conn, const DeleteRequest& request);
  void cleanupLoop();
  Status cleanupOnce();

  std::string connection_string_;
  std::string table_;
  std::string metadata_table_;
  int64_t timeout_ms_ = 20000;
  int64_t cleanup_interval_ms_ = 3600000;
  size_t max_connections_ = 8;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<PGconn*> idle_;
  size_t open_ = 0;
  bool closed_ = false;
  std::thread cleaner_;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::state::postgresql
