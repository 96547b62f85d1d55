#include "sidecar/components/state/postgresql/postgresql_state_store.h"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::state::postgresql {

namespace {

using Clock = std::chrono::steady_clock;

// Letters, digits and underscores, optionally schema-qualified once: the names are spliced into
// SQL, so nothing else gets through.
bool validTableName(const std::string& t) {
  if (t.empty() || t.size() > 127 || t.front() == '.' || t.back() == '.') return false;
  if (std::count(t.begin(), t.end(), '.') > 1) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

std::string bareName(const std::string& t) {
  auto dot = t.find('.');
  return dot == std::string::npos ? t : t.substr(dot + 1);
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Maps a failed statement to the codes the API answers with.
Status resultError(const PGresult* r, PGconn* pg) {
  std::string message = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(pg));
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string code = state ? state : "";
  std::string text = "postgresql: " + message;
  if (code == "57014") return deadlineExceededError(text);          // statement_timeout
  if (code.rfind("22", 0) == 0) return invalidArgumentError(text);  // data exceptions
  if (code.empty() || code.rfind("08", 0) == 0 || code.rfind("57", 0) == 0 ||
      PQstatus(pg) != CONNECTION_OK) {
    return unavailableError(text);
  }
  return internalError(text);
}

// Text parameters travel as C strings: a NUL would silently cut the key short.
Status checkKey(const std::string& key) {
  if (key.find('\0') != std::string::npos) {
    return invalidArgumentError("postgresql: keys cannot contain NUL bytes");
  }
  return okStatus();
}

StatusOr<std::string> etagParam(const std::string& etag) {
  int64_t v;
  if (!runtime::parseInt(etag, &v)) return etagInvalid(etag);
  return std::to_string(v);
}

std::string ttlParam(const std::optional<int64_t>& ttl) {
  return ttl && *ttl > 0 ? std::to_string(*ttl) : "0";
}

std::string column(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

}  // namespace

PostgresStateStore::~PostgresStateStore() { close(); }

Status PostgresStateStore::init(const runtime::Properties& p) {
  connection_string_ = p.get("connectionString");
  table_ = p.get("tableName", "state");
  metadata_table_ = p.get("metadataTableName", "outrigger_metadata");
  for (const auto& [field, name] : {std::pair<const char*, const std::string&>{"tableName", table_},
                                    {"metadataTableName", metadata_table_}}) {
    if (!validTableName(name)) {
      return invalidArgumentError(std::string("metadata field '") + field + "': '" + name +
                                  "' is not a valid table name (letters, digits, _ and one .)");
    }
  }
  timeout_ms_ = std::max<int64_t>(1000, p.getDurationMs("timeout", 20000));
  cleanup_interval_ms_ = p.getDurationMs("cleanupInterval", 3600000);
  max_connections_ = static_cast<size_t>(std::max<int64_t>(1, p.getInt("maxConns", 8)));

  ASSIGN_OR_RETURN(Conn c, acquire());
  // The lock keeps two sidecars starting together from racing on CREATE ... IF NOT EXISTS.
  std::string seq = table_ + "_etag_seq";
  auto r = run(c,
               "BEGIN; SELECT pg_advisory_xact_lock(7203944501);"
               "CREATE TABLE IF NOT EXISTS " +
                   table_ +
                   " (key TEXT NOT NULL PRIMARY KEY, value BYTEA NOT NULL,"
                   " etag BIGINT NOT NULL, insertdate TIMESTAMPTZ NOT NULL DEFAULT now(),"
                   " updatedate TIMESTAMPTZ, expiredate TIMESTAMPTZ);"
                   "CREATE SEQUENCE IF NOT EXISTS " +
                   seq +
                   ";"
                   "CREATE INDEX IF NOT EXISTS " +
                   bareName(table_) + "_expiredate_idx ON " + table_ +
                   " (expiredate) WHERE expiredate IS NOT NULL;"
                   "CREATE TABLE IF NOT EXISTS " +
                   metadata_table_ +
                   " (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);"
                   "COMMIT");
  if (!r.ok() && !c.broken) (void)run(c, "ROLLBACK");
  release(c);
  if (!r.ok()) return r.status();
  if (cleanup_interval_ms_ > 0) cleaner_ = std::thread([this] { cleanupLoop(); });
  return okStatus();
}

StatusOr<PGconn*> PostgresStateStore::connect() {
  // Ours first, then the user's connection string, whose values win (expand_dbname).
  std::string connect_timeout = std::to_string(std::max<int64_t>(2, (timeout_ms_ + 999) / 1000));
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {connect_timeout.c_str(), "outrigger", connection_string_.c_str(),
                          nullptr};
  PGconn* pg = PQconnectdbParams(keys, values, 1);
  if (!pg || PQstatus(pg) != CONNECTION_OK) {
    std::string err = pg ? trimmed(PQerrorMessage(pg)) : "out of memory";
    if (pg) PQfinish(pg);
    return unavailableError("cannot connect to postgresql: " + err);
  }
  // Non-blocking, so that sending a large value cannot block past the deadline either.
  PQsetnonblocking(pg, 1);
  // Notices ("already exists, skipping") go to the debug log, not raw to stderr.
  PQsetNoticeProcessor(
      pg, [](void*, const char* message) { LOG_DEBUG << "state.postgresql: " << trimmed(message); },
      nullptr);
  Conn c{pg, false};
  auto r = run(c, "SET statement_timeout = " + std::to_string(timeout_ms_));
  if (!r.ok()) {
    PQfinish(pg);
    return r.status();
  }
  return pg;
}

StatusOr<PostgresStateStore::Conn> PostgresStateStore::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms_),
                    [&] { return closed_ || !idle_.empty() || open_ < max_connections_; })) {
    return unavailableError("postgresql: no connection free within the timeout");
  }
  if (closed_) return unavailableError("postgresql: the store is closed");
  while (!idle_.empty()) {
    PGconn* pg = idle_.back();
    idle_.pop_back();
    // An idle connection has nothing to say: readable means the server closed it (a restart).
    pollfd pfd{PQsocket(pg), POLLIN, 0};
    bool alive = PQstatus(pg) == CONNECTION_OK;
    if (alive && ::poll(&pfd, 1, 0) > 0) {
      alive = PQconsumeInput(pg) == 1 && PQstatus(pg) == CONNECTION_OK;
    }
    if (alive && PQtransactionStatus(pg) == PQTRANS_IDLE) return Conn{pg, false};
    PQfinish(pg);
    open_--;
  }
  open_++;
  lock.unlock();
  auto pg = connect();
  if (!pg.ok()) {
    std::lock_guard<std::mutex> relock(mutex_);
    open_--;
    cv_.notify_one();
    return pg.status();
  }
  return Conn{*pg, false};
}

void PostgresStateStore::release(Conn& c) {
  if (!c.pg) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || c.broken || PQstatus(c.pg) != CONNECTION_OK) {
    PQfinish(c.pg);
    open_--;
  } else {
    idle_.push_back(c.pg);
  }
  c.pg = nullptr;
  cv_.notify_one();
}

Status PostgresStateStore::waitSocket(Conn& c, bool write, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  pollfd pfd{PQsocket(c.pg), static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
  int n = left.count() > 0 ? ::poll(&pfd, 1, static_cast<int>(left.count())) : 0;
  if (n == 0) {
    c.broken = true;  // the answer may still come; the connection cannot be reused
    return deadlineExceededError("postgresql: no answer within " + std::to_string(timeout_ms_) +
                                 " ms");
  }
  if (n < 0 && errno != EINTR) {
    c.broken = true;
    return unavailableError("postgresql: poll failed");
  }
  if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) && PQconsumeInput(c.pg) != 1) {
    c.broken = true;
    return unavailableError("postgresql: " + trimmed(PQerrorMessage(c.pg)));
  }
  return okStatus();
}

StatusOr<PostgresStateStore::Result> PostgresStateStore::run(Conn& c, const std::string& sql,
                                                             const std::vector<Param>& params,
                                                             bool binary_result) {
  // The server's statement_timeout answers first; this deadline is for a server that cannot.
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_ + 2000);
  int sent;
  if (params.empty() && !binary_result) {
    sent = PQsendQuery(c.pg, sql.c_str());
  } else {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const auto& p : params) {
      values.push_back(p.value.c_str());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
    }
    sent = PQsendQueryParams(c.pg, sql.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), lengths.data(), formats.data(), binary_result ? 1 : 0);
  }
  if (!sent) {
    c.broken = true;
    return unavailableError("postgresql: " + trimmed(PQerrorMessage(c.pg)));
  }
  for (;;) {
    int f = PQflush(c.pg);
    if (f == 0) break;
    if (f < 0) {
      c.broken = true;
      return unavailableError("postgresql: " + trimmed(PQerrorMessage(c.pg)));
    }
    RETURN_IF_ERROR(waitSocket(c, true, deadline));
  }
  Result last(nullptr, PQclear);
  Result error(nullptr, PQclear);
  for (;;) {
    while (PQisBusy(c.pg)) RETURN_IF_ERROR(waitSocket(c, false, deadline));
    PGresult* r = PQgetResult(c.pg);
    if (!r) break;
    auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && !error) {
      error.reset(r);
    } else {
      last.reset(r);
    }
  }
  if (PQstatus(c.pg) != CONNECTION_OK) c.broken = true;
  if (error) return resultError(error.get(), c.pg);
  if (!last) {
    c.broken = true;
    return unavailableError("postgresql: " + trimmed(PQerrorMessage(c.pg)));
  }
  return last;
}

std::vector<std::string> PostgresStateStore::features() const {
  return {kFeatureETag, kFeatureTransactional, kFeatureTTL, kFeatureQuery};
}

StatusOr<QueryResponse> PostgresStateStore::query(const QueryRequest& request) {
  RETURN_IF_ERROR(checkKey(request.key_prefix));
  QueryEvaluator evaluator(request.query);
  ASSIGN_OR_RETURN(Conn c, acquire());
  auto r = run(c,
               "SELECT key, value, etag::text FROM " + table_ +
                   " WHERE left(key, length($1)) = $1"
                   " AND (expiredate IS NULL OR expiredate > now())",
               {{request.key_prefix}}, true);
  release(c);
  if (!r.ok()) return r.status();
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    evaluator.add(
        QueryItem{column(r->get(), i, 0), column(r->get(), i, 1), column(r->get(), i, 2)});
  }
  return evaluator.finish();
}

StatusOr<GetResponse> PostgresStateStore::get(const GetRequest& request) {
  RETURN_IF_ERROR(checkKey(request.key));
  ASSIGN_OR_RETURN(Conn c, acquire());
  auto r = run(c,
               "SELECT value, etag::text FROM " + table_ +
                   " WHERE key = $1 AND (expiredate IS NULL OR expiredate > now())",
               {{request.key}}, true);
  release(c);
  if (!r.ok()) return r.status();
  GetResponse res;
  if (PQntuples(r->get()) == 1) {
    res.found = true;
    res.data = column(r->get(), 0, 0);
    res.etag = column(r->get(), 0, 1);
  }
  return res;
}

StatusOr<std::vector<GetResponse>> PostgresStateStore::bulkGet(
    const std::vector<GetRequest>& requests) {
  if (requests.empty()) return std::vector<GetResponse>{};
  // One statement for all keys: an array literal, each element quoted and escaped.
  std::string array = "{";
  for (size_t i = 0; i < requests.size(); ++i) {
    RETURN_IF_ERROR(checkKey(requests[i].key));
    if (i) array += ',';
    array += '"';
    for (char ch : requests[i].key) {
      if (ch == '"' || ch == '\\') array += '\\';
      array += ch;
    }
    array += '"';
  }
  array += '}';
  ASSIGN_OR_RETURN(Conn c, acquire());
  auto r = run(c,
               "SELECT key, value, etag::text FROM " + table_ +
                   " WHERE key = ANY($1::text[]) AND (expiredate IS NULL OR expiredate > now())",
               {{array}}, true);
  release(c);
  if (!r.ok()) return r.status();
  std::map<std::string, GetResponse> found;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    GetResponse g;
    g.found = true;
    g.data = column(r->get(), i, 1);
    g.etag = column(r->get(), i, 2);
    found.emplace(column(r->get(), i, 0), std::move(g));
  }
  std::vector<GetResponse> out;
  out.reserve(requests.size());
  for (const auto& req : requests) {
    auto it = found.find(req.key);
    out.push_back(it == found.end() ? GetResponse{} : it->second);
  }
  return out;
}

Status PostgresStateStore::setOn(Conn& c, const SetRequest& r) {
  RETURN_IF_ERROR(checkKey(r.key));
  std::string etag;
  if (r.etag) {
    ASSIGN_OR_RETURN(etag, etagParam(*r.etag));
  }
  const std::string next = "nextval('" + table_ + "_etag_seq')";
  const std::string expiry =
      "CASE WHEN $3::bigint > 0 THEN now() + $3::bigint * interval '1 second' END";
  const std::string upsert = "INSERT INTO " + table_ +
                             " AS t (key, value, etag, expiredate) VALUES ($1, $2, " + next + ", " +
                             expiry +
                             ") ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,"
                             " etag = EXCLUDED.etag, expiredate = EXCLUDED.expiredate,"
                             " updatedate = now()";
  std::vector<Param> params = {{r.key}, {r.value, true}, {ttlParam(r.ttl_seconds)}};
  StatusOr<Result> res = internalError("unreachable");
  if (r.etag) {
    params.push_back({etag});
    res = run(c,
              "UPDATE " + table_ + " SET value = $2, etag = " + next + ", expiredate = " + expiry +
                  ", updatedate = now() WHERE key = $1 AND etag = $4::bigint"
                  " AND (expiredate IS NULL OR expiredate > now())",
              params);
  } else if (r.concurrency == Concurrency::kFirstWrite) {
    // Insert, or take over only a row that has expired.
    res = run(c, upsert + " WHERE t.expiredate IS NOT NULL AND t.expiredate <= now()", params);
  } else {
    res = run(c, upsert, params);
  }
  if (!res.ok()) return res.status();
  if ((r.etag || r.concurrency == Concurrency::kFirstWrite) &&
      std::string(PQcmdTuples(res->get())) == "0") {
    return etagMismatch(r.key);
  }
  return okStatus();
}

Status PostgresStateStore::delOn(Conn& c, const DeleteRequest& r) {
  RETURN_IF_ERROR(checkKey(r.key));
  if (!r.etag) {
    auto res = run(c, "DELETE FROM " + table_ + " WHERE key = $1", {{r.key}});
    return res.ok() ? okStatus() : res.status();
  }
  ASSIGN_OR_RETURN(std::string etag, etagParam(*r.etag));
  auto res = run(c,
                 "DELETE FROM " + table_ +
                     " WHERE key = $1 AND etag = $2::bigint"
                     " AND (expiredate IS NULL OR expiredate > now())",
                 {{r.key}, {etag}});
  if (!res.ok()) return res.status();
  if (std::string(PQcmdTuples(res->get())) == "0") return etagMismatch(r.key);
  return okStatus();
}

Status PostgresStateStore::set(const SetRequest& request) {
  ASSIGN_OR_RETURN(Conn c, acquire());
  Status st = setOn(c, request);
  release(c);
  return st;
}

Status PostgresStateStore::del(const DeleteRequest& request) {
  ASSIGN_OR_RETURN(Conn c, acquire());
  Status st = delOn(c, request);
  release(c);
  return st;
}

Status PostgresStateStore::multi(const std::vector<Operation>& operations, const RequestMetadata&) {
  ASSIGN_OR_RETURN(Conn c, acquire());
  auto begin = run(c, "BEGIN");
  Status st = begin.ok() ? okStatus() : begin.status();
  for (size_t i = 0; st.ok() && i < operations.size(); ++i) {
    const auto& op = operations[i];
    st = op.kind == Operation::Kind::kUpsert ? setOn(c, op.set) : delOn(c, op.del);
  }
  if (st.ok()) {
    auto commit = run(c, "COMMIT");
    if (!commit.ok()) st = commit.status();
  } else if (begin.ok() && !c.broken) {
    // A failed ROLLBACK leaves the connection unusable: drop it rather than pool it.
    if (!run(c, "ROLLBACK").ok()) c.broken = true;
  }
  release(c);
  return st;
}

void PostgresStateStore::cleanupLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!closed_) {
    cv_.wait_for(lock, std::chrono::milliseconds(cleanup_interval_ms_), [&] { return closed_; });
    if (closed_) break;
    lock.unlock();
    if (Status st = cleanupOnce(); !st.ok()) {
      LOG_WARN << "state.postgresql: deleting expired rows failed: " << st.message();
    }
    lock.lock();
  }
}

Status PostgresStateStore::cleanupOnce() {
  ASSIGN_OR_RETURN(Conn c, acquire());
  // Several sidecars may share the table: the one that moves the last-cleanup time forward
  // does the work, the others see it was done recently and skip.
  int64_t min_gap_ms = cleanup_interval_ms_ * 9 / 10;
  auto claim = run(c,
                   "INSERT INTO " + metadata_table_ +
                       " AS m (key, value) VALUES ($1, now()::text) ON CONFLICT (key) DO UPDATE"
                       " SET value = EXCLUDED.value WHERE m.value::timestamptz <="
                       " now() - $2::bigint * interval '1 millisecond' RETURNING key",
                   {{"last-cleanup-" + table_}, {std::to_string(min_gap_ms)}});
  Status st = claim.ok() ? okStatus() : claim.status();
  if (st.ok() && PQntuples(claim->get()) > 0) {
    auto del =
        run(c, "DELETE FROM " + table_ + " WHERE expiredate IS NOT NULL AND expiredate <= now()");
    if (!del.ok()) st = del.status();
  }
  release(c);
  return st;
}

void PostgresStateStore::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (auto* pg : idle_) PQfinish(pg);
    open_ -= idle_.size();
    idle_.clear();
    cv_.notify_all();
  }
  if (cleaner_.joinable()) cleaner_.join();
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Store> factory;
  factory.type = "state.postgresql";
  factory.fields = {
      {"connectionString", runtime::FieldType::kString, true, std::nullopt, {}},
      {"tableName", runtime::FieldType::kString, false, "state", {}},
      {"metadataTableName", runtime::FieldType::kString, false, "outrigger_metadata", {}},
      {"timeout", runtime::FieldType::kDuration, false, "20s", {}},
      {"cleanupInterval", runtime::FieldType::kDuration, false, "1h", {}},
      {"maxConns", runtime::FieldType::kInt, false, "8", {}}};
  factory.blocking = true;
  factory.create = [] { return std::make_unique<PostgresStateStore>(); };
  (void)registry.state.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::state::postgresql
