#include "sidecar/components/pubsub/redis/redis_pubsub.h"

#include <chrono>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::redis {

namespace redis_client = components::common::redis;

namespace {

using redis_client::ReplyPtr;
constexpr int64_t kBlockMs = 1000;         // how long one read waits: bounds how long close() takes
constexpr int64_t kMaxConcurrency = 1000;  // messages of one subscription at the app at once

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
  concurrency_ = p.getInt("concurrency", 1);
  if (concurrency_ <= 0 || concurrency_ > kMaxConcurrency)
    return invalidArgumentError("metadata field 'concurrency' must be between 1 and " +
                                std::to_string(kMaxConcurrency) + ", got " +
                                std::to_string(concurrency_));
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

Status RedisPubSub::bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                                  BulkHandler handler) {
  if (closed_) return unavailableError("pubsub is closed");
  // Create the group now, so messages published from here on are kept for it.
  ASSIGN_OR_RETURN(auto c, connect(timeout_ms_));
  auto r = c->run({"XGROUP", "CREATE", request.topic, consumer_id_, "0", "MKSTREAM"});
  if (!r.ok() && r.status().message().find("BUSYGROUP") == std::string::npos) return r.status();
  std::lock_guard<std::mutex> lock(threads_mutex_);
  threads_.emplace_back([this, topic = request.topic, options, handler = std::move(handler)] {
    consume(topic, options, handler);
  });
  return okStatus();
}

namespace {

// The entries of an XREADGROUP or XAUTOCLAIM reply, as (id, message).
void appendEntries(redisReply* entries, const std::string& topic,
                   std::vector<std::pair<std::string, Message>>* out) {
  for (size_t i = 0; entries && entries->type == REDIS_REPLY_ARRAY && i < entries->elements; ++i) {
    redisReply* entry = entries->element[i];
    // A deleted entry still pending comes back with nil fields; it has no message to deliver.
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
      continue;
    Message m;
    m.topic = topic;
    redisReply* fields = entry->element[1];
    for (size_t f = 0; fields && fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements;
         f += 2) {
      std::string name(fields->element[f]->str, fields->element[f]->len);
      std::string value(fields->element[f + 1]->str, fields->element[f + 1]->len);
      if (name == "data")
        m.data = std::move(value);
      else if (name == "contentType")
        m.content_type = std::move(value);
    }
    out->emplace_back(std::string(entry->element[0]->str, entry->element[0]->len), std::move(m));
  }
}

// The entries of an XREADGROUP reply for one stream (nil when nothing came).
redisReply* streamEntries(redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return nullptr;
  redisReply* stream = reply->element[0];
  return stream->type == REDIS_REPLY_ARRAY && stream->elements >= 2 ? stream->element[1] : nullptr;
}

}  // namespace

void RedisPubSub::consume(std::string topic, BulkOptions options, BulkHandler handler) {
  using Clock = std::chrono::steady_clock;
  const size_t batch_max = static_cast<size_t>(std::max(1, options.max_messages));
  std::unique_ptr<Connection> conn;
  auto last_claim = Clock::now();
  bool pending_first = true;  // after a (re)start, our own unacknowledged messages come first
  int64_t backoff_ms = 100;
  std::vector<std::pair<std::string, Message>> entries;
  // Hands entries over in batches and acknowledges what the handler took; false when the
  // connection broke. What failed stays pending: claimed again after processingTimeout.
  auto deliver = [&]() {
    for (size_t begin = 0; begin < entries.size() && !closed_; begin += batch_max) {
      size_t end = std::min(entries.size(), begin + batch_max);
      std::vector<Message> batch;
      for (size_t i = begin; i < end; ++i) batch.push_back(std::move(entries[i].second));
      std::vector<Status> statuses = handler(batch);
      std::vector<std::string> ack = {"XACK", topic, consumer_id_};
      for (size_t i = begin; i < end; ++i) {
        if (i - begin < statuses.size() && statuses[i - begin].ok())
          ack.push_back(entries[i].first);
      }
      if (ack.size() > 3 && !conn->run(ack).ok()) return false;
    }
    return true;
  };
  // Reads new entries (or, once after a reconnect, our pending ones) into entries, blocking up
  // to block_ms; false when the connection broke.
  auto read = [&](int64_t count, int64_t block_ms) {
    auto r = conn->run({"XREADGROUP", "GROUP", consumer_id_, consumer_id_, "COUNT",
                        std::to_string(count), "BLOCK", std::to_string(block_ms), "STREAMS", topic,
                        pending_first ? "0" : ">"});
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kInternal) return false;
      // A reply, so the connection is fine: e.g. NOGROUP after a server restart without
      // persistence. Recreate the group and go on.
      conn->run({"XGROUP", "CREATE", topic, consumer_id_, "0", "MKSTREAM"});
      return true;
    }
    appendEntries(streamEntries(r->get()), topic, &entries);
    // One pass over our pending messages after a (re)connect; failures among them are claimed
    // again after processingTimeout, like any other.
    pending_first = false;
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
    entries.clear();
    bool ok = true;
    if (processing_timeout_ms_ > 0 && redeliver_interval_ms_ > 0 &&
        Clock::now() - last_claim > std::chrono::milliseconds(redeliver_interval_ms_)) {
      last_claim = Clock::now();
      auto claimed = conn->run({"XAUTOCLAIM", topic, consumer_id_, consumer_id_,
                                std::to_string(processing_timeout_ms_), "0-0", "COUNT",
                                std::to_string(queue_depth_)});
      if (claimed.ok() && (*claimed)->type == REDIS_REPLY_ARRAY && (*claimed)->elements >= 2) {
        appendEntries((*claimed)->element[1], topic, &entries);
        ok = deliver();
        entries.clear();
      } else if (!claimed.ok() && claimed.status().code() != StatusCode::kInternal) {
        ok = false;
      }
    }
    if (ok) ok = read(queue_depth_, kBlockMs);
    // A bulk subscription waits up to max_await_ms for a batch to fill once it holds one entry;
    // each read blocks at most kBlockMs so that close() is not held up.
    if (ok && !entries.empty() && entries.size() < batch_max && options.max_await_ms > 0) {
      auto deadline = Clock::now() + std::chrono::milliseconds(options.max_await_ms);
      while (ok && !closed_ && entries.size() < batch_max) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        ok = read(static_cast<int64_t>(batch_max - entries.size()),
                  std::min<int64_t>(left.count(), kBlockMs));
      }
    }
    if (ok && !entries.empty()) ok = deliver();
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
                    {"concurrency", runtime::FieldType::kInt, false, "1", {}},
                    {"dialTimeout", runtime::FieldType::kDuration, false, "5s", {}}};
  factory.create = [] { return std::make_unique<RedisPubSub>(); };
  (void)registry.pubsub.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::pubsub::redis
