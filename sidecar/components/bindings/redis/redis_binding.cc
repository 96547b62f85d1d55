#include "sidecar/components/bindings/redis/redis_binding.h"

#include "common/json/json.h"

namespace outrigger::sidecar::components::bindings::redis {

namespace redis_client = components::common::redis;

RedisBinding::~RedisBinding() { close(); }

Status RedisBinding::init(const runtime::Properties& p) {
  ASSIGN_OR_RETURN(address_, redis_client::parseAddress(p));
  timeout_ms_ = p.getDurationMs("dialTimeout", 5000);
  std::lock_guard<std::mutex> lock(mutex_);
  return connect();
}

Status RedisBinding::connect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
  ASSIGN_OR_RETURN(ctx_, redis_client::connect(address_, timeout_ms_, timeout_ms_));
  return okStatus();
}

StatusOr<redis_client::ReplyPtr> RedisBinding::command(const std::vector<std::string>& args) {
  // One reconnect attempt: the server may have restarted since the last call.
  for (int attempt = 0;; ++attempt) {
    if (!ctx_) RETURN_IF_ERROR(connect());
    auto r = redis_client::command(ctx_, args);
    if (r.ok() || r.status().code() != StatusCode::kUnavailable || attempt == 1) return r;
    redisFree(ctx_);
    ctx_ = nullptr;
  }
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
    std::string value = json::unquoted(request.data);
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
  ASSIGN_OR_RETURN(auto r, command(args));
  InvokeResponse res;
  if (request.operation == "get" && r->type == REDIS_REPLY_STRING) {
    res.has_data = true;
    res.data.assign(r->str, r->len);
  } else if (request.operation == "increment" && r->type == REDIS_REPLY_INTEGER) {
    res.has_data = true;
    res.data = std::to_string(r->integer);
  }
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
