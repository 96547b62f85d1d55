#include "sidecar/components/bindings/redis/redis_binding.h"

#include "common/json/json.h"

namespace outrigger::sidecar::components::bindings::redis {

RedisBinding::~RedisBinding() { close(); }

Status RedisBinding::init(const runtime::Properties& p) {
  std::string host = p.get("redisHost");
  auto colon = host.rfind(':');
  host_ = host.substr(0, colon);
  if (colon != std::string::npos) {
    int64_t port;
    if (!runtime::parseInt(host.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return invalidArgumentError("metadata field 'redisHost': bad port in '" + host + "'");
    }
    port_ = static_cast<int>(port);
  }
  if (p.getBool("enableTLS"))
    return unimplementedError("metadata field 'enableTLS': TLS is not supported yet");
  password_ = p.get("redisPassword");
  username_ = p.get("redisUsername");
  db_ = p.getInt("redisDB", 0);
  timeout_ms_ = p.getDurationMs("dialTimeout", 5000);
  std::lock_guard<std::mutex> lock(mutex_);
  return connect();
}

Status RedisBinding::connect() {
  if (ctx_) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  timeval tv{static_cast<time_t>(timeout_ms_ / 1000),
             static_cast<suseconds_t>((timeout_ms_ % 1000) * 1000)};
  ctx_ = redisConnectWithTimeout(host_.c_str(), port_, tv);
  if (!ctx_ || ctx_->err) {
    std::string err = ctx_ ? ctx_->errstr : "out of memory";
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
    return unavailableError("cannot connect to redis at " + host_ + ":" + std::to_string(port_) +
                            ": " + err);
  }
  redisSetTimeout(ctx_, tv);
  auto run = [&](std::vector<std::string> args) -> Status {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!r) return unavailableError(std::string("redis: ") + ctx_->errstr);
    bool err = r->type == REDIS_REPLY_ERROR;
    std::string msg = err ? std::string(r->str, r->len) : "";
    freeReplyObject(r);
    return err ? unauthenticatedError("redis: " + msg) : okStatus();
  };
  if (!password_.empty()) {
    Status st = username_.empty() ? run({"AUTH", password_}) : run({"AUTH", username_, password_});
    if (!st.ok()) return st;
  }
  if (db_ != 0) return run({"SELECT", std::to_string(db_)});
  return okStatus();
}

StatusOr<redisReply*> RedisBinding::command(const std::vector<std::string>& args) {
  // One reconnect attempt: the server may have restarted since the last call.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!ctx_) RETURN_IF_ERROR(connect());
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r) return r;
    std::string err = ctx_->errstr;
    redisFree(ctx_);
    ctx_ = nullptr;
    if (attempt == 1) return unavailableError("redis: " + err);
  }
  return unavailableError("redis: unreachable");
}

std::vector<std::string> RedisBinding::operations() const {
  return {"create", "get", "delete", "increment"};
}

StatusOr<InvokeResponse> RedisBinding::invoke(const InvokeRequest& request) {
  auto key_it = request.metadata.find("key");
  if (key_it == request.metadata.end() || key_it->second.empty()) {
    return invalidArgumentError("metadata key is required");
  }
  const std::string& key = key_it->second;
  std::vector<std::string> args;
  if (request.operation == "create") {
    // A JSON string is stored as its contents, anything else as its JSON text.
    json::Document doc;
    doc.Parse(request.data.data(), request.data.size());
    std::string value = !doc.HasParseError() && doc.IsString() ? doc.GetString() : request.data;
    args = {"SET", key, value};
    if (auto ttl = request.metadata.find("ttlInSeconds"); ttl != request.metadata.end()) {
      int64_t s;
      if (!runtime::parseInt(ttl->second, &s) || s <= 0)
        return invalidArgumentError("bad ttlInSeconds");
      args.insert(args.end(), {"EX", std::to_string(s)});
    }
  } else if (request.operation == "get") {
    args = {"GET", key};
  } else if (request.operation == "delete") {
    args = {"DEL", key};
  } else if (request.operation == "increment") {
    args = {"INCR", key};
  } else {
    return invalidArgumentError("unsupported operation " + request.operation);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(redisReply * r, command(args));
  InvokeResponse res;
  Status st;
  if (r->type == REDIS_REPLY_ERROR) {
    st = internalError("redis: " + std::string(r->str, r->len));
  } else if (request.operation == "get" && r->type == REDIS_REPLY_STRING) {
    res.has_data = true;
    res.data.assign(r->str, r->len);
  } else if (request.operation == "increment" && r->type == REDIS_REPLY_INTEGER) {
    res.has_data = true;
    res.data = std::to_string(r->integer);
  }
  freeReplyObject(r);
  if (!st.ok()) return st;
  return res;
}

void RedisBinding::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Binding> factory;
  factory.type = "bindings.redis";
  factory.fields = {{"redisHost", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"redisPassword", runtime::FieldType::kString, false, std::nullopt, {}},
                    {"redisUsername", runtime::FieldType::kString, false, std::nullopt, {}},
                    {"redisDB", runtime::FieldType::kInt, false, "0", {}},
                    {"enableTLS", runtime::FieldType::kBool, false, "false", {}},
                    {"dialTimeout", runtime::FieldType::kDuration, false, "5s", {}}};
  factory.create = [] { return std::make_unique<RedisBinding>(); };
  (void)registry.bindings.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::bindings::redis
