#include "sidecar/components/state/redis/redis_state_store.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>

namespace outrigger::sidecar::components::state::redis {

namespace redis_client = components::common::redis;

namespace {

// KEYS[1] key; ARGV: value, etag ("" none), first-write ("1"/"0"), ttl seconds ("0" none).
// Returns the new version, or an error reply starting "ETAG".
const char* kSetScript = R"(
local v = redis.call('HGET', KEYS[1], 'version')
if ARGV[2] ~= '' then
  if not v or v ~= ARGV[2] then return redis.error_reply('ETAG mismatch') end
elseif ARGV[3] == '1' and v then
  return redis.error_reply('ETAG exists')
end
local n = redis.call('INCR', '__outrigger_version')
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'version', n)
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
return n)";

// KEYS[1] key; ARGV[1] etag ("" none).
const char* kDelScript = R"(
if ARGV[1] ~= '' then
  local v = redis.call('HGET', KEYS[1], 'version')
  if not v or v ~= ARGV[1] then return redis.error_reply('ETAG mismatch') end
end
return redis.call('DEL', KEYS[1]))";

// Transaction: ARGV holds, per operation, kind, key, value, etag, first-write, ttl. Checks all
// etags first, then applies: all or nothing.
const char* kMultiScript = R"(
local n = #ARGV / 6
for i = 0, n - 1 do
  local b = i * 6
  local key, etag, first = ARGV[b + 2], ARGV[b + 4], ARGV[b + 5]
  local v = redis.call('HGET', key, 'version')
  if etag ~= '' and (not v or v ~= etag) then return redis.error_reply('ETAG mismatch ' .. key) end
  if ARGV[b + 1] == 'upsert' and etag == '' and first == '1' and v then return redis.error_reply('ETAG exists ' .. key) end
end
for i = 0, n - 1 do
  local b = i * 6
  local key = ARGV[b + 2]
  if ARGV[b + 1] == 'upsert' then
    local ver = redis.call('INCR', '__outrigger_version')
    redis.call('HSET', key, 'data', ARGV[b + 3], 'version', ver)
    if tonumber(ARGV[b + 6]) > 0 then redis.call('EXPIRE', key, ARGV[b + 6]) else redis.call('PERSIST', key) end
  else
    redis.call('DEL', key)
  end
end
return n)";

}  // namespace

struct RedisStateStore::Reply {
  std::shared_ptr<redisReply> r;
  redisReply* operator->() const { return r.get(); }
};

RedisStateStore::~RedisStateStore() { close(); }

Status RedisStateStore::init(const runtime::Properties& p) {
  ASSIGN_OR_RETURN(address_, redis_client::parseAddress(p));
  dial_timeout_ms_ = std::max<int64_t>(1, p.getDurationMs("dialTimeout", 5000));
  // hiredis has one timeout for both directions.
  io_timeout_ms_ = std::max<int64_t>(
      1, std::max(p.getDurationMs("readTimeout", 3000), p.getDurationMs("writeTimeout", 3000)));
  max_retries_ = static_cast<int>(std::clamp<int64_t>(p.getInt("maxRetries", 3), 0, 20));
  default_ttl_ = p.getInt("ttlInSeconds", 0);
  if (Status st = checkTtl(default_ttl_); !st.ok()) {
    return invalidArgumentError("metadata field 'ttlInSeconds': " + st.message());
  }
  max_connections_ = static_cast<size_t>(std::max<int64_t>(1, p.getInt("poolSize", 8)));
  // Check the server answers now, so a wrong address fails start-up with a clear message.
  auto r = command({"PING"});
  return r.ok() ? okStatus() : r.status();
}

StatusOr<redisContext*> RedisStateStore::connect() {
  return redis_client::connect(address_, dial_timeout_ms_, io_timeout_ms_);
}

StatusOr<redisContext*> RedisStateStore::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  // Bounded wait for a free connection: the component's worker pool bounds callers anyway.
  if (!cv_.wait_for(lock, std::chrono::milliseconds(dial_timeout_ms_ + io_timeout_ms_),
                    [&] { return closed_ || !idle_.empty() || open_ < max_connections_; })) {
    return unavailableError("redis: no connection free within the timeout");
  }
  if (closed_) return unavailableError("redis: the store is closed");
  while (!idle_.empty()) {
    redisContext* c = idle_.back();
    idle_.pop_back();
    // Redis never speaks first: an idle connection that is readable was closed by the server
    // (a restart), so drop it here instead of failing the caller's command on it.
    pollfd pfd{c->fd, POLLIN, 0};
    if (c->err == 0 && ::poll(&pfd, 1, 0) == 0) return c;
    redisFree(c);
    open_--;
  }
  open_++;
  lock.unlock();
  auto c = connect();
  if (!c.ok()) {
    std::lock_guard<std::mutex> relock(mutex_);
    open_--;
    cv_.notify_one();
  }
  return c;
}

void RedisStateStore::release(redisContext* ctx, bool healthy) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (healthy && !closed_ && ctx->err == 0) {
    idle_.push_back(ctx);
  } else {
    redisFree(ctx);
    open_--;
  }
  cv_.notify_one();
}

StatusOr<std::vector<RedisStateStore::Reply>> RedisStateStore::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::chrono::milliseconds backoff(8);
  for (int attempt = 0;; ++attempt) {
    auto ctx = acquire();
    Status failure;
    bool retryable = false;
    if (ctx.ok()) {
      for (const auto& args : commands) redis_client::append(*ctx, args);
      std::vector<Reply> replies;
      for (size_t i = 0; i < commands.size(); ++i) {
        void* r = nullptr;
        errno = 0;
        if (redisGetReply(*ctx, &r) != REDIS_OK || !r) break;
        replies.push_back(
            Reply{std::shared_ptr<redisReply>(static_cast<redisReply*>(r), freeReplyObject)});
      }
      if (replies.size() == commands.size()) {
        release(*ctx, true);
        return replies;
      }
      int err = errno;
      bool timed_out = err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT;
      std::string what = (*ctx)->errstr;
      release(*ctx, false);
      if (timed_out) {
        // The server may be working on it still: retrying could apply a write twice.
        return deadlineExceededError("redis: no answer within " + std::to_string(io_timeout_ms_) +
                                     " ms");
      }
      failure = unavailableError("redis: " + what);
      retryable = true;  // the connection broke (EOF, reset): the server went away
    } else {
      failure = ctx.status();
      retryable = failure.code() == StatusCode::kUnavailable;
    }
    if (!retryable || attempt >= max_retries_) return failure;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(512));
  }
}

StatusOr<RedisStateStore::Reply> RedisStateStore::command(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(std::vector<Reply> replies, pipeline({args}));
  return replies.front();
}

std::optional<std::chrono::milliseconds> RedisStateStore::queueTimeout() const {
  return std::chrono::milliseconds(io_timeout_ms_ + 1000);
}

std::vector<std::string> RedisStateStore::features() const {
  return {kFeatureETag, kFeatureTransactional, kFeatureTTL};
}

namespace {

Status scriptError(const redisReply* r, const std::string& key, const std::string& etag) {
  std::string msg(r->str, r->len);
  if (msg.find("ETAG") != std::string::npos) return etagMismatch(key);
  return internalError("redis: " + msg);
}

Status checkEtag(const std::optional<std::string>& etag) {
  return etag ? parseVersionEtag(*etag).status() : okStatus();
}

}  // namespace

StatusOr<GetResponse> RedisStateStore::toResponse(const Reply& r) {
  if (r->type == REDIS_REPLY_ERROR) return internalError("redis: " + std::string(r->str, r->len));
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
    return internalError("redis: unexpected reply to HMGET");
  }
  GetResponse res;
  if (r->element[0]->type == REDIS_REPLY_STRING) {
    res.found = true;
    res.data.assign(r->element[0]->str, r->element[0]->len);
    if (r->element[1]->type == REDIS_REPLY_STRING) {
      res.etag.assign(r->element[1]->str, r->element[1]->len);
    }
  }
  return res;
}

StatusOr<GetResponse> RedisStateStore::get(const GetRequest& request) {
  ASSIGN_OR_RETURN(Reply r, command({"HMGET", request.key, "data", "version"}));
  return toResponse(r);
}

StatusOr<std::vector<GetResponse>> RedisStateStore::bulkGet(
    const std::vector<GetRequest>& requests) {
  if (requests.empty()) return std::vector<GetResponse>{};
  std::vector<std::vector<std::string>> commands;
  for (const auto& r : requests) commands.push_back({"HMGET", r.key, "data", "version"});
  ASSIGN_OR_RETURN(std::vector<Reply> replies, pipeline(commands));
  std::vector<GetResponse> out;
  for (const auto& r : replies) {
    ASSIGN_OR_RETURN(GetResponse g, toResponse(r));
    out.push_back(std::move(g));
  }
  return out;
}

Status RedisStateStore::set(const SetRequest& request) {
  RETURN_IF_ERROR(checkTtl(request.ttl_seconds));
  RETURN_IF_ERROR(checkEtag(request.etag));
  int64_t ttl = request.ttl_seconds ? *request.ttl_seconds : default_ttl_;
  ASSIGN_OR_RETURN(Reply r, command({"EVAL", kSetScript, "1", request.key, request.value,
                                     request.etag.value_or(""),
                                     request.concurrency == Concurrency::kFirstWrite ? "1" : "0",
                                     std::to_string(std::max<int64_t>(ttl, 0))}));
  if (r->type == REDIS_REPLY_ERROR)
    return scriptError(r.r.get(), request.key, request.etag.value_or(""));
  return okStatus();
}

Status RedisStateStore::del(const DeleteRequest& request) {
  RETURN_IF_ERROR(checkEtag(request.etag));
  ASSIGN_OR_RETURN(Reply r,
                   command({"EVAL", kDelScript, "1", request.key, request.etag.value_or("")}));
  if (r->type == REDIS_REPLY_ERROR)
    return scriptError(r.r.get(), request.key, request.etag.value_or(""));
  return okStatus();
}

Status RedisStateStore::multi(const std::vector<Operation>& operations, const RequestMetadata&) {
  // The script cannot undo a write when a later command in it fails (an EXPIRE Redis refuses):
  // what Redis could refuse is checked here, before anything is sent.
  RETURN_IF_ERROR(checkOperations(operations, true));
  std::vector<std::string> args = {"EVAL", kMultiScript, "0"};
  for (const auto& op : operations) {
    if (op.kind == Operation::Kind::kUpsert) {
      int64_t ttl = op.set.ttl_seconds ? *op.set.ttl_seconds : default_ttl_;
      args.insert(args.end(), {"upsert", op.set.key, op.set.value, op.set.etag.value_or(""),
                               op.set.concurrency == Concurrency::kFirstWrite ? "1" : "0",
                               std::to_string(std::max<int64_t>(ttl, 0))});
    } else {
      args.insert(args.end(), {"delete", op.del.key, "", op.del.etag.value_or(""), "0", "0"});
    }
  }
  ASSIGN_OR_RETURN(Reply r, command(args));
  if (r->type == REDIS_REPLY_ERROR) {
    std::string msg(r->str, r->len);
    if (msg.find("ETAG") != std::string::npos)
      return abortedError("transaction not applied: " + msg);
    return internalError("redis: " + msg);
  }
  return okStatus();
}

void RedisStateStore::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  for (auto* c : idle_) redisFree(c);
  idle_.clear();
  cv_.notify_all();
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Store> factory;
  factory.type = "state.redis";
  factory.fields = {{"redisHost", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"redisPassword", runtime::FieldType::kString, false, std::nullopt, {}},
                    {"redisUsername", runtime::FieldType::kString, false, std::nullopt, {}},
                    {"redisDB", runtime::FieldType::kInt, false, "0", {}},
                    {"enableTLS", runtime::FieldType::kBool, false, "false", {}},
                    {"dialTimeout", runtime::FieldType::kDuration, false, "5s", {}},
                    {"readTimeout", runtime::FieldType::kDuration, false, "3s", {}},
                    {"writeTimeout", runtime::FieldType::kDuration, false, "3s", {}},
                    {"maxRetries", runtime::FieldType::kInt, false, "3", {}},
                    {"ttlInSeconds", runtime::FieldType::kInt, false, std::nullopt, {}},
                    {"poolSize", runtime::FieldType::kInt, false, "8", {}}};
  factory.blocking = true;
  factory.create = [] { return std::make_unique<RedisStateStore>(); };
  (void)registry.state.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::state::redis
