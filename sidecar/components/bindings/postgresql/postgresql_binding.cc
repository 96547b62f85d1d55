#include "sidecar/components/bindings/postgresql/postgresql_binding.h"

#include <chrono>

#include "common/json/json.h"

namespace outrigger::sidecar::components::bindings::postgresql {

PostgresBinding::~PostgresBinding() { close(); }

Status PostgresBinding::init(const runtime::Properties& p) {
  connection_string_ = p.get("connectionString");
  std::lock_guard<std::mutex> lock(mutex_);
  return connect();
}

Status PostgresBinding::connect() {
  if (conn_) PQfinish(conn_);
  // connect_timeout bounds a dead server; the caller's string may set its own.
  std::string cs = connection_string_;
  if (cs.find("connect_timeout") == std::string::npos) {
    cs += (cs.find("://") != std::string::npos ? (cs.find('?') == std::string::npos ? "?" : "&")
                                               : " ");
    cs += "connect_timeout=5";
  }
  conn_ = PQconnectdb(cs.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string err = PQerrorMessage(conn_);
    PQfinish(conn_);
    conn_ = nullptr;
    return unavailableError("cannot connect to postgresql: " + err);
  }
  return okStatus();
}

std::vector<std::string> PostgresBinding::operations() const { return {"exec", "query", "close"}; }

StatusOr<InvokeResponse> PostgresBinding::invoke(const InvokeRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  InvokeResponse res;
  res.metadata["operation"] = request.operation;
  if (request.operation == "close") {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    return res;
  }
  auto sql_it = request.metadata.find("sql");
  if (sql_it == request.metadata.end() || sql_it->second.empty()) {
    return invalidArgumentError("metadata sql is required for " + request.operation);
  }
  std::vector<std::string> params;
  if (auto pit = request.metadata.find("params"); pit != request.metadata.end()) {
    auto doc = json::parse(pit->second);
    if (!doc.ok() || !doc->IsArray())
      return invalidArgumentError("metadata params must be a JSON array");
    for (const auto& v : doc->GetArray()) params.push_back(json::scalarToString(v));
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  auto start = std::chrono::system_clock::now();
  PGresult* r = nullptr;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) RETURN_IF_ERROR(connect());
    r = PQexecParams(conn_, sql_it->second.c_str(), static_cast<int>(values.size()), nullptr,
                     values.data(), nullptr, nullptr, 0);
    if (PQstatus(conn_) == CONNECTION_OK) break;
    PQclear(r);
    r = nullptr;  // the connection dropped: reconnect once and retry
  }
  if (!r) return unavailableError("postgresql: connection lost");
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string err = PQresultErrorMessage(r);
    PQclear(r);
    return invalidArgumentError("postgresql: " + err);
  }
  res.metadata["sql"] = sql_it->second;
  auto end = std::chrono::system_clock::now();
  res.metadata["duration"] =
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(end - start).count()) +
      "us";
  if (request.operation == "exec") {
    res.metadata["rows-affected"] = PQcmdTuples(r);
  } else {
    // Rows as arrays of values, numbers and booleans typed by their column's type.
    json::Document doc;
    doc.SetArray();
    auto& a = doc.GetAllocator();
    for (int row = 0; row < PQntuples(r); ++row) {
      json::Value cols(rapidjson::kArrayType);
      for (int col = 0; col < PQnfields(r); ++col) {
        if (PQgetisnull(r, row, col)) {
          cols.PushBack(json::Value(), a);
          continue;
        }
        std::string v = PQgetvalue(r, row, col);
        Oid type = PQftype(r, col);
        if (type == 20 || type == 21 || type == 23) {  // int8, int2, int4
          cols.PushBack(json::Value(static_cast<int64_t>(std::stoll(v))), a);
        } else if (type == 700 || type == 701 || type == 1700) {  // float4, float8, numeric
          cols.PushBack(json::Value(std::stod(v)), a);
        } else if (type == 16) {  // bool
          cols.PushBack(json::Value(v == "t"), a);
        } else {
          cols.PushBack(json::Value(v.c_str(), static_cast<rapidjson::SizeType>(v.size()), a), a);
        }
      }
      doc.PushBack(cols, a);
    }
    res.has_data = true;
    res.data = json::serialize(doc);
    res.content_type = "application/json";
  }
  PQclear(r);
  return res;
}

void PostgresBinding::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Binding> factory;
  factory.type = "bindings.postgresql";
  factory.fields = {{"connectionString", runtime::FieldType::kString, true, std::nullopt, {}}};
  factory.create = [] { return std::make_unique<PostgresBinding>(); };
  (void)registry.bindings.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::bindings::postgresql
