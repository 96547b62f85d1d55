#include "sidecar/components/pubsub/redis/redis_pubsub.h"

#include <chrono>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::redis {

namespace redis_client = components::common::redis;

namespace {

using redis_client::ReplyPtr;
constexpr int64_t kBlockMs = 1000;  // how long one read waits: bounds how long close() takes

}  // namespace

struct RedisPubSub::Connection {
  redisContext* ctx = nullptr;
  ~Connection() {
    if (ctx) redisFree(ctx);
  }
  StatusOr<ReplyPtr> run(const std::vector<std::string>& args) {
    return redis_client::command(ctx, args);
  }
};

RedisPubSub::~RedisPubSub() { close(); }

Status RedisPubSub::init(const runtime::Properties& p) {
  ASSIGN_OR_RETURN(address_, redis_client::parseAddress(p));
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
  auto c = std::make_unique<Connection>();
  ASSIGN_OR_RETURN(c->ctx, redis_client::connect(address_, timeout_ms, timeout_ms));
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
                    {"redisUsername", runtime::FieldType::kString, false, std::nullopt, {}},
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
