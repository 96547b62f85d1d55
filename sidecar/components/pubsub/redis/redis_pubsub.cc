#include "sidecar/components/pubsub/redis/redis_pubsub.h"

#include <cerrno>
#include <chrono>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::redis {

namespace {

using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;
constexpr int64_t kBlockMs = 1000;  // how long one read waits: bounds how long close() takes

}  // namespace

struct RedisPubSub::Connection {
  redisContext* ctx = nullptr;
  ~Connection() {
    if (ctx) redisFree(ctx);
  }
  StatusOr<ReplyPtr> run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!r) {
      // A timed-out command may still be applied by the server: the caller must not blindly
      // repeat it (hiredis reports a timeout as an I/O error with EAGAIN).
      bool timed_out = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
      std::string err = std::string("redis: ") + ctx->errstr;
      return timed_out ? deadlineExceededError(err + " (timed out)") : unavailableError(err);
    }
    ReplyPtr reply(r, freeReplyObject);
    if (reply->type == REDIS_REPLY_ERROR)
      return internalError("redis: " + std::string(r->str, r->len));
    return reply;
  }
};

RedisPubSub::~RedisPubSub() { close(); }

Status RedisPubSub::init(const runtime::Properties& p) {
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
    return unimplementedError("metadata field 'enableTLS': TLS to Redis is not supported yet");
  password_ = p.get("redisPassword");
  db_ = p.getInt("redisDB", 0);
  consumer_id_ = p.get("consumerID");
  if (consumer_id_.empty()) return invalidArgumentError("metadata field 'consumerID' is required");
  // Dapr's documented defaults; "0" in either disables redelivery of pending messages.
  processing_timeout_ms_ = p.getDurationMs("processingTimeout", 15000);
  redeliver_interval_ms_ = p.getDurationMs("redeliverInterval", 60000);
  max_len_approx_ = p.getInt("maxLenApprox", 0);
  queue_depth_ = p.getInt("queueDepth", 100);
  if (queue_depth_ <= 0)
    return invalidArgumentError("metadata field 'queueDepth' must be positive, got " +
                                std::to_string(queue_depth_));
  timeout_ms_ = p.getDurationMs("dialTimeout", 5000);
  ASSIGN_OR_RETURN(publisher_, connect(timeout_ms_));
  return okStatus();
}

StatusOr<std::unique_ptr<RedisPubSub::Connection>> RedisPubSub::connect(int64_t timeout_ms) const {
  timeval tv{static_cast<time_t>(timeout_ms / 1000),
             static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  auto c = std::make_unique<Connection>();
  c->ctx = redisConnectWithTimeout(host_.c_str(), port_, tv);
  if (!c->ctx || c->ctx->err) {
    std::string err = c->ctx ? c->ctx->errstr : "out of memory";
    return unavailableError("cannot connect to redis at " + host_ + ":" + std::to_string(port_) +
                            ": " + err);
  }
  redisSetTimeout(c->ctx, tv);
  if (!password_.empty()) {
    auto r = c->run({"AUTH", password_});
    if (!r.ok()) return r.status();
  }
  if (db_ != 0) {
    auto r = c->run({"SELECT", std::to_string(db_)});
    if (!r.ok()) return r.status();
  }
  return c;
}

Status RedisPubSub::publish(const PublishRequest& request) {
  std::vector<std::string> args = {"XADD", request.topic};
  if (max_len_approx_ > 0)
    args.insert(args.end(), {"MAXLEN", "~", std::to_string(max_len_approx_)});
  args.insert(args.end(), {"*", "data", request.data, "contentType", request.content_type});
  std::lock_guard<std::mutex> lock(publish_mutex_);
  for (int attempt = 0; attempt < 2; ++attempt) {  // once more on a fresh connection
    if (!publisher_) {
      auto c = connect(timeout_ms_);
      if (!c.ok()) return c.status();
      publisher_ = std::move(*c);
    }
    auto r = publisher_->run(args);
    if (r.ok()) return okStatus();
    // Only a broken connection is retried: after a timeout the entry may exist already.
    if (r.status().code() != StatusCode::kUnavailable || attempt == 1) {
      if (r.status().code() == StatusCode::kDeadlineExceeded) publisher_.reset();
      return r.status();
    }
    publisher_.reset();
  }
  return unavailableError("redis: unreachable");
}

Status RedisPubSub::subscribe(const SubscribeRequest& request, Handler handler) {
  if (closed_) return unavailableError("pubsub is closed");
  // Create the group now, so messages published from here on are kept for it.
  ASSIGN_OR_RETURN(auto c, connect(timeout_ms_));
  auto r = c->run({"XGROUP", "CREATE", request.topic, consumer_id_, "0", "MKSTREAM"});
  if (!r.ok() && r.status().message().find("BUSYGROUP") == std::string::npos) return r.status();
  std::lock_guard<std::mutex> lock(threads_mutex_);
  threads_.emplace_back(
      [this, topic = request.topic, handler = std::move(handler)] { consume(topic, handler); });
  return okStatus();
}

void RedisPubSub::consume(std::string topic, Handler handler) {
  std::unique_ptr<Connection> conn;
  auto last_claim = std::chrono::steady_clock::now();
  bool pending_first = true;  // after a (re)start, our own unacknowledged messages come first
  int64_t backoff_ms = 100;
  // Delivers the entries of a stream reply; false when the connection broke.
  auto deliver = [&](redisReply* entries) {
    for (size_t i = 0;
         entries && entries->type == REDIS_REPLY_ARRAY && i < entries->elements && !closed_; ++i) {
      redisReply* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
      std::string id(entry->element[0]->str, entry->element[0]->len);
      Message m;
      m.topic = topic;
      redisReply* fields = entry->element[1];
      for (size_t f = 0; fields && fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements;
           f += 2) {
        std::string name(fields->element[f]->str, fields->element[f]->len);
        std::string value(fields->element[f + 1]->str, fields->element[f + 1]->len);
        if (name == "data")
          m.data = value;
        else if (name == "contentType")
          m.content_type = value;
      }
      if (!handler(m).ok()) continue;  // stays pending: claimed again after processingTimeout
      auto ack = conn->run({"XACK", topic, consumer_id_, id});
      if (!ack.ok()) return false;
    }
    return true;
  };
  while (!closed_) {
    if (!conn) {
      auto c = connect(kBlockMs + timeout_ms_);
      if (!c.ok()) {
        LOG_WARN << "pubsub.redis: " << c.status().message() << "; retrying in " << backoff_ms
                 << " ms";
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min<int64_t>(backoff_ms * 2, 5000);
        continue;
      }
      conn = std::move(*c);
      // The stream may be new after a server restart without persistence.
      conn->run({"XGROUP", "CREATE", topic, consumer_id_, "0", "MKSTREAM"});
      backoff_ms = 100;
      pending_first = true;
    }
    bool ok = true;
    if (processing_timeout_ms_ > 0 && redeliver_interval_ms_ > 0 &&
        std::chrono::steady_clock::now() - last_claim >
            std::chrono::milliseconds(redeliver_interval_ms_)) {
      last_claim = std::chrono::steady_clock::now();
      auto claimed = conn->run({"XAUTOCLAIM", topic, consumer_id_, consumer_id_,
                                std::to_string(processing_timeout_ms_), "0-0", "COUNT",
                                std::to_string(queue_depth_)});
      if (claimed.ok() && (*claimed)->type == REDIS_REPLY_ARRAY && (*claimed)->elements >= 2) {
        ok = deliver((*claimed)->element[1]);
      } else if (!claimed.ok() && claimed.status().code() != StatusCode::kInternal) {
        ok = false;
      }
    }
    if (ok) {
      auto r = conn->run({"XREADGROUP", "GROUP", consumer_id_, consumer_id_, "COUNT",
                          std::to_string(queue_depth_), "BLOCK", std::to_string(kBlockMs),
                          "STREAMS", topic, pending_first ? "0" : ">"});
      if (!r.ok()) {
        ok = r.status().code() == StatusCode::kInternal;  // a reply: the connection is fine
        if (ok) {
          // e.g. NOGROUP after a server restart: recreate the group and go on.
          conn->run({"XGROUP", "CREATE", topic, consumer_id_, "0", "MKSTREAM"});
        }
      } else if ((*r)->type == REDIS_REPLY_ARRAY && (*r)->elements > 0) {
        redisReply* stream = (*r)->element[0];
        redisReply* entries = stream->elements >= 2 ? stream->element[1] : nullptr;
        // One pass over our pending messages after a (re)connect; failures among them are
        // claimed again after processingTimeout, like any other.
        pending_first = false;
        ok = deliver(entries);
      } else if (pending_first) {
        pending_first = false;
      }
    }
    if (!ok) conn.reset();
  }
}

void RedisPubSub::close() {
  if (closed_.exchange(true)) return;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(threads_mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> lock(publish_mutex_);
  publisher_.reset();
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<PubSub> factory;
  factory.type = "pubsub.redis";
  factory.fields = {{"redisHost", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"redisPassword", runtime::FieldType::kString, false, std::nullopt, {}},
                    {"redisDB", runtime::FieldType::kInt, false, "0", {}},
                    {"consumerID", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"enableTLS", runtime::FieldType::kBool, false, "false", {}},
                    {"processingTimeout", runtime::FieldType::kDuration, false, "15s", {}},
                    {"redeliverInterval", runtime::FieldType::kDuration, false, "60s", {}},
                    {"maxLenApprox", runtime::FieldType::kInt, false, std::nullopt, {}},
                    {"queueDepth", runtime::FieldType::kInt, false, "100", {}},
                    {"dialTimeout", runtime::FieldType::kDuration, false, "5s", {}}};
  factory.create = [] { return std::make_unique<RedisPubSub>(); };
  (void)registry.pubsub.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::pubsub::redis
