#include "sidecar/components/state/postgresql/postgresql_state_store.h"

#include <cctype>
#include <memory>

namespace outrigger::sidecar::components::state::postgresql {

namespace {

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

Result exec(PGconn* c, const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const auto& p : params) {
    values.push_back(p.c_str());
    lengths.push_back(static_cast<int>(p.size()));
  }
  return Result(PQexecParams(c, sql.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), lengths.data(), nullptr, 0),
                PQclear);
}

bool failed(const Result& r) {
  auto s = PQresultStatus(r.get());
  return s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK;
}

bool validTableName(const std::string& t) {
  if (t.empty() || t.size() > 63) return false;
  for (char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

PostgresStateStore::~PostgresStateStore() { close(); }

Status PostgresStateStore::init(const runtime::Properties& p) {
  connection_string_ = p.get("connectionString");
  table_ = p.get("tableName", "state");
  if (!validTableName(table_))
    return invalidArgumentError("metadata field 'tableName': '" + table_ +
                                "' is not a valid table name");
  timeout_ms_ = p.getDurationMs("timeout", 20000);
  max_connections_ = static_cast<size_t>(std::max<int64_t>(1, p.getInt("maxConns", 4)));
  ASSIGN_OR_RETURN(PGconn * c, acquire());
  auto r = exec(c,
                "CREATE TABLE IF NOT EXISTS " + table_ +
                    " (key TEXT PRIMARY KEY, value BYTEA NOT NULL, etag BIGINT NOT NULL,"
                    " expiredate TIMESTAMPTZ, insertdate TIMESTAMPTZ NOT NULL DEFAULT now(),"
                    " updatedate TIMESTAMPTZ)",
                {});
  Status st = failed(r)
                  ? unavailableError(std::string("postgresql: ") + PQresultErrorMessage(r.get()))
                  : okStatus();
  if (st.ok()) {
    exec(c, "CREATE SEQUENCE IF NOT EXISTS " + table_ + "_etag_seq", {});
  }
  release(c);
  return st;
}

StatusOr<PGconn*> PostgresStateStore::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms_),
                    [&] { return closed_ || !idle_.empty() || open_ < max_connections_; })) {
    return unavailableError("postgresql: no connection free within the timeout");
  }
  if (closed_) return unavailableError("postgresql: store closed");
  while (!idle_.empty()) {
    PGconn* c = idle_.back();
    idle_.pop_back();
    if (PQstatus(c) == CONNECTION_OK) return c;
    PQfinish(c);  // broken while idle (server restart): drop it
    open_--;
  }
  open_++;
  lock.unlock();
  std::string cs = connection_string_;
  // Bounded connects and statements, whatever the connection string says otherwise.
  bool uri = cs.find("://") != std::string::npos;
  std::string sep = uri ? (cs.find('?') == std::string::npos ? "?" : "&") : " ";
  if (cs.find("connect_timeout") == std::string::npos)
    cs += sep + "connect_timeout=5", sep = uri ? "&" : " ";
  PGconn* c = PQconnectdb(cs.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string err = PQerrorMessage(c);
    PQfinish(c);
    std::lock_guard<std::mutex> relock(mutex_);
    open_--;
    cv_.notify_one();
    return unavailableError("cannot connect to postgresql: " + err);
  }
  exec(c, "SET statement_timeout = " + std::to_string(timeout_ms_), {});
  return c;
}

void PostgresStateStore::release(PGconn* c) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || PQstatus(c) != CONNECTION_OK) {
    PQfinish(c);
    open_--;
  } else {
    idle_.push_back(c);
  }
  cv_.notify_one();
}

std::vector<std::string> PostgresStateStore::features() const {
  return {kFeatureETag, kFeatureTransactional, kFeatureTTL};
}

StatusOr<GetResponse> PostgresStateStore::get(const GetRequest& request) {
  ASSIGN_OR_RETURN(PGconn * c, acquire());
  auto r = exec(c,
                "SELECT value, etag FROM " + table_ +
                    " WHERE key = $1 AND (expiredate IS NULL OR expiredate > now())",
                {request.key});
  release(c);
  if (failed(r))
    return unavailableError(std::string("postgresql: ") + PQresultErrorMessage(r.get()));
  GetResponse res;
  if (PQntuples(r.get()) == 1) {
    size_t n = 0;
    unsigned char* bytes =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), 0, 0)), &n);
    res.found = true;
    res.data.assign(reinterpret_cast<char*>(bytes), n);
    PQfreemem(bytes);
    res.etag = PQgetvalue(r.get(), 0, 1);
  }
  return res;
}

Status PostgresStateStore::setOn(PGconn* c, const SetRequest& r) {
  int64_t etag = 0;
  if (r.etag && !runtime::parseInt(*r.etag, &etag)) return etagInvalid(*r.etag);
  size_t n = 0;
  unsigned char* escaped = PQescapeByteaConn(
      c, reinterpret_cast<const unsigned char*>(r.value.data()), r.value.size(), &n);
  std::string value(reinterpret_cast<char*>(escaped), n ? n - 1 : 0);
  PQfreemem(escaped);
  std::string ttl = r.ttl_seconds && *r.ttl_seconds > 0 ? std::to_string(*r.ttl_seconds) : "";
  std::string expiry = "CASE WHEN $3 = '' THEN NULL ELSE now() + ($3 || ' seconds')::interval END";
  std::string next = "nextval('" + table_ + "_etag_seq')";
  Result res(nullptr, PQclear);
  if (r.etag) {
    res = exec(c,
               "UPDATE " + table_ + " SET value = $2::bytea, etag = " + next +
                   ", expiredate = " + expiry +
                   ", updatedate = now() WHERE key = $1 AND etag = $4 AND (expiredate IS NULL OR "
                   "expiredate > now())",
               {r.key, value, ttl, std::to_string(etag)});
  } else if (r.concurrency == Concurrency::kFirstWrite) {
    // Insert, or take over only a row that has expired.
    res = exec(c,
               "INSERT INTO " + table_ + " (key, value, etag, expiredate) VALUES ($1, $2::bytea, " +
                   next + ", " + expiry +
                   ") ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, etag = EXCLUDED.etag,"
                   " expiredate = EXCLUDED.expiredate, updatedate = now() WHERE " +
                   table_ + ".expiredate IS NOT NULL AND " + table_ + ".expiredate <= now()",
               {r.key, value, ttl});
  } else {
    res = exec(c,
               "INSERT INTO " + table_ + " (key, value, etag, expiredate) VALUES ($1, $2::bytea, " +
                   next + ", " + expiry +
                   ") ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, etag = EXCLUDED.etag,"
                   " expiredate = EXCLUDED.expiredate, updatedate = now()",
               {r.key, value, ttl});
  }
  if (failed(res))
    return unavailableError(std::string("postgresql: ") + PQresultErrorMessage(res.get()));
  if ((r.etag || r.concurrency == Concurrency::kFirstWrite) &&
      std::string(PQcmdTuples(res.get())) == "0") {
    return etagMismatch(r.key);
  }
  return okStatus();
}

Status PostgresStateStore::delOn(PGconn* c, const DeleteRequest& r) {
  Result res(nullptr, PQclear);
  if (r.etag) {
    int64_t etag;
    if (!runtime::parseInt(*r.etag, &etag)) return etagInvalid(*r.etag);
    res = exec(c, "DELETE FROM " + table_ + " WHERE key = $1 AND etag = $2",
               {r.key, std::to_string(etag)});
    if (failed(res))
      return unavailableError(std::string("postgresql: ") + PQresultErrorMessage(res.get()));
    if (std::string(PQcmdTuples(res.get())) == "0") return etagMismatch(r.key);
    return okStatus();
  }
  res = exec(c, "DELETE FROM " + table_ + " WHERE key = $1", {r.key});
  if (failed(res))
    return unavailableError(std::string("postgresql: ") + PQresultErrorMessage(res.get()));
  return okStatus();
}

Status PostgresStateStore::set(const SetRequest& request) {
  ASSIGN_OR_RETURN(PGconn * c, acquire());
  Status st = setOn(c, request);
  release(c);
  return st;
}

Status PostgresStateStore::del(const DeleteRequest& request) {
  ASSIGN_OR_RETURN(PGconn * c, acquire());
  Status st = delOn(c, request);
  release(c);
  return st;
}

Status PostgresStateStore::multi(const std::vector<Operation>& operations, const RequestMetadata&) {
  ASSIGN_OR_RETURN(PGconn * c, acquire());
  auto begin = exec(c, "BEGIN", {});
  Status st =
      failed(begin)
          ? unavailableError(std::string("postgresql: ") + PQresultErrorMessage(begin.get()))
          : okStatus();
  for (size_t i = 0; st.ok() && i < operations.size(); ++i) {
    const auto& op = operations[i];
    st = op.kind == Operation::Kind::kUpsert ? setOn(c, op.set) : delOn(c, op.del);
  }
  if (st.ok()) {
    auto commit = exec(c, "COMMIT", {});
    if (failed(commit))
      st = unavailableError(std::string("postgresql: ") + PQresultErrorMessage(commit.get()));
  } else {
    exec(c, "ROLLBACK", {});
  }
  release(c);
  return st;
}

void PostgresStateStore::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  for (auto* c : idle_) PQfinish(c);
  idle_.clear();
  cv_.notify_all();
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Store> factory;
  factory.type = "state.postgresql";
  factory.fields = {{"connectionString", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"tableName", runtime::FieldType::kString, false, "state", {}},
                    {"timeout", runtime::FieldType::kDuration, false, "20s", {}},
                    {"maxConns", runtime::FieldType::kInt, false, "4", {}},
                    {"cleanupInterval", runtime::FieldType::kDuration, false, "1h", {}}};
  factory.create = [] { return std::make_unique<PostgresStateStore>(); };
  (void)registry.state.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::state::postgresql
