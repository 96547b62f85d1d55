#include "sidecar/components/state/sqlite/sqlite_state_store.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <filesystem>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::state::sqlite {

namespace {

// Prepared statement with RAII finalisation.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bindNull(int i) { sqlite3_bind_null(s_, i); }
  int step() { return sqlite3_step(s_); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

bool validTableName(const std::string& t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

SqliteStateStore::~SqliteStateStore() { close(); }

Status SqliteStateStore::init(const runtime::Properties& p) {
  std::string path = p.get("connectionString");
  // Dapr's form "file:data.db?..." is accepted; sqlite3 opens URIs itself.
  table_ = p.get("tableName", "state");
  if (!validTableName(table_))
    return invalidArgumentError("metadata field 'tableName': '" + table_ +
                                "' is not a valid table name");
  if (path.rfind("file:", 0) != 0 && path != ":memory:") {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  int rc = sqlite3_open_v2(
      path.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
    close();
    return unavailableError("metadata field 'connectionString': cannot open '" + path +
                            "': " + err);
  }
  timeout_ms_ = std::clamp<int64_t>(p.getDurationMs("timeout", 20000), 1, INT32_MAX);
  sqlite3_busy_timeout(db_, static_cast<int>(timeout_ms_));
  RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(exec("PRAGMA synchronous=NORMAL"));
  RETURN_IF_ERROR(
      exec("CREATE TABLE IF NOT EXISTS " + table_ +
           " (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL,"
           " expires_at INTEGER, updated_at INTEGER NOT NULL)"));
  RETURN_IF_ERROR(exec("CREATE INDEX IF NOT EXISTS " + table_ + "_expires_at ON " + table_ +
                       " (expires_at) WHERE expires_at IS NOT NULL"));
  cleanup_interval_ms_ = p.getDurationMs("cleanupInterval", 3600000);
  if (cleanup_interval_ms_ > 0) cleaner_ = std::thread([this] { cleanupLoop(); });
  return okStatus();
}

Status SqliteStateStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    return internalError("sqlite: " + message);
  }
  return okStatus();
}

std::optional<std::chrono::milliseconds> SqliteStateStore::queueTimeout() const {
  return std::chrono::milliseconds(timeout_ms_);
}

std::vector<std::string> SqliteStateStore::features() const {
  return {kFeatureETag, kFeatureTransactional, kFeatureTTL, kFeatureQuery};
}

StatusOr<int64_t> SqliteStateStore::versionOf(const std::string& key) {
  Stmt s(db_, "SELECT version FROM " + table_ +
                  " WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)");
  if (!s.ok()) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  s.bind(1, key);
  s.bind(2, now());
  int rc = s.step();
  if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(s.get(), 0));
  if (rc == SQLITE_DONE) return int64_t{0};
  return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
}

StatusOr<GetResponse> SqliteStateStore::get(const GetRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT value, version FROM " + table_ +
                  " WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)");
  if (!s.ok()) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  s.bind(1, request.key);
  s.bind(2, now());
  GetResponse res;
  int rc = s.step();
  if (rc == SQLITE_ROW) {
    res.found = true;
    const void* data = sqlite3_column_blob(s.get(), 0);
    int n = sqlite3_column_bytes(s.get(), 0);
    res.data.assign(static_cast<const char*>(data), static_cast<size_t>(n));
    res.etag = std::to_string(sqlite3_column_int64(s.get(), 1));
  } else if (rc != SQLITE_DONE) {
    return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  return res;
}

Status SqliteStateStore::setLocked(const SetRequest& r) {
  RETURN_IF_ERROR(checkTtl(r.ttl_seconds));
  std::optional<int64_t> want;
  if (r.etag) {
    ASSIGN_OR_RETURN(want, parseVersionEtag(*r.etag));
  }
  ASSIGN_OR_RETURN(int64_t version, versionOf(r.key));
  if (want) {
    if (version == 0 || *want != version) return etagMismatch(r.key);
  } else if (r.concurrency == Concurrency::kFirstWrite && version != 0) {
    return etagMismatch(r.key);
  }
  Stmt s(db_,
         "INSERT INTO " + table_ +
             " (key, value, version, expires_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"
             " ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version,"
             " expires_at = excluded.expires_at, updated_at = excluded.updated_at");
  if (!s.ok()) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  s.bind(1, r.key);
  s.bindBlob(2, r.value);
  // Random, not a counter: several processes may share the file (each with its own counter), and
  // a stale etag must not match a row deleted and re-created since.
  int64_t next = version;
  while (next == version || next == 0) next = static_cast<int64_t>(random_() >> 1);
  s.bind(3, next);
  if (r.ttl_seconds && *r.ttl_seconds > 0) {
    s.bind(4, now() + *r.ttl_seconds);
  } else {
    s.bindNull(4);
  }
  s.bind(5, now());
  if (s.step() != SQLITE_DONE) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return okStatus();
}

Status SqliteStateStore::delLocked(const DeleteRequest& r) {
  if (r.etag) {
    ASSIGN_OR_RETURN(int64_t want, parseVersionEtag(*r.etag));
    ASSIGN_OR_RETURN(int64_t version, versionOf(r.key));
    if (version == 0 || want != version) return etagMismatch(r.key);
  }
  Stmt s(db_, "DELETE FROM " + table_ + " WHERE key = ?1");
  if (!s.ok()) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  s.bind(1, r.key);
  if (s.step() != SQLITE_DONE) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return okStatus();
}

void SqliteStateStore::cleanupLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (db_) {
    cleaner_cv_.wait_for(lock, std::chrono::milliseconds(cleanup_interval_ms_),
                         [&] { return closing_; });
    if (closing_ || !db_) break;
    // Expired rows are already invisible; this only gives their space back.
    Stmt s(db_, "DELETE FROM " + table_ + " WHERE expires_at IS NOT NULL AND expires_at <= ?1");
    if (!s.ok()) continue;
    s.bind(1, now());
    if (s.step() != SQLITE_DONE) {
      LOG_WARN << "state.sqlite: deleting expired rows failed: " << sqlite3_errmsg(db_);
    }
  }
}

Status SqliteStateStore::set(const SetRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  return setLocked(request);
}

Status SqliteStateStore::del(const DeleteRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  return delLocked(request);
}

Status SqliteStateStore::multi(const std::vector<Operation>& operations, const RequestMetadata&) {
  RETURN_IF_ERROR(checkOperations(operations, true));
  std::lock_guard<std::mutex> lock(mutex_);
  RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  for (const auto& op : operations) {
    Status st = op.kind == Operation::Kind::kUpsert ? setLocked(op.set) : delLocked(op.del);
    if (!st.ok()) {
      (void)exec("ROLLBACK");
      return st;
    }
  }
  Status st = exec("COMMIT");
  if (!st.ok()) (void)exec("ROLLBACK");
  return st;
}

StatusOr<QueryResponse> SqliteStateStore::query(const QueryRequest& request) {
  QueryEvaluator evaluator(request.query);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Stmt s(db_, "SELECT key, value, version FROM " + table_ +
                    " WHERE substr(key, 1, length(?1)) = ?1"
                    " AND (expires_at IS NULL OR expires_at > ?2)");
    if (!s.ok()) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
    s.bind(1, request.key_prefix);
    s.bind(2, now());
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      QueryItem item;
      const unsigned char* key = sqlite3_column_text(s.get(), 0);
      item.key.assign(reinterpret_cast<const char*>(key),
                      static_cast<size_t>(sqlite3_column_bytes(s.get(), 0)));
      const void* data = sqlite3_column_blob(s.get(), 1);
      item.data.assign(static_cast<const char*>(data),
                       static_cast<size_t>(sqlite3_column_bytes(s.get(), 1)));
      item.etag = std::to_string(sqlite3_column_int64(s.get(), 2));
      evaluator.add(std::move(item));
    }
    if (rc != SQLITE_DONE) return internalError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  return evaluator.finish();
}

void SqliteStateStore::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  cleaner_cv_.notify_all();
  if (cleaner_.joinable()) cleaner_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Store> factory;
  factory.type = "state.sqlite";
  factory.fields = {
      {"connectionString", runtime::FieldType::kString, false, "outrigger-state.db", {}},
      {"tableName", runtime::FieldType::kString, false, "state", {}},
      {"timeout", runtime::FieldType::kDuration, false, "20s", {}},
      {"cleanupInterval", runtime::FieldType::kDuration, false, "1h", {}}};
  factory.blocking = true;
  factory.create = [] { return std::make_unique<SqliteStateStore>(); };
  (void)registry.state.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::state::sqlite
