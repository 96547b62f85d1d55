#include "sidecar/components/pubsub/mqtt3/mqtt3_pubsub.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <mutex>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::mqtt3 {

namespace {

constexpr int kKeepaliveSeconds = 30;
constexpr int64_t kFirstRetryMs = 100;  // a failed message is handed over again after this,
constexpr int64_t kMaxRetryMs = 5000;   // doubling up to this
// A message no subscription takes is kept (unacknowledged) until this long after the last
// subscribe: a persistent session's messages arrive as soon as the client connects, before the
// runtime subscribed. After that, it is for a topic this sidecar no longer takes, and dropped.
constexpr int64_t kUnmatchedGraceMs = 10000;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// tcp://[user[:password]@]host[:port] (mqtt:// too). TLS schemes are refused.
Status parseUrl(const std::string& url, ClientOptions* c) {
  auto scheme_end = url.find("://");
  std::string rest = url;
  if (scheme_end != std::string::npos) {
    std::string scheme = url.substr(0, scheme_end);
    if (strcasecmp(scheme.c_str(), "tcp") != 0 && strcasecmp(scheme.c_str(), "mqtt") != 0) {
      return unimplementedError("metadata field 'url': scheme '" + scheme +
                                "' is not supported (TLS is not yet); use tcp://host:port");
    }
    rest = url.substr(scheme_end + 3);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string creds = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = creds.find(':');
    c->user = creds.substr(0, colon);
    if (colon != std::string::npos) c->password = creds.substr(colon + 1);
  }
  auto colon = rest.rfind(':');
  c->host = rest.substr(0, colon);
  if (colon != std::string::npos) {
    int64_t port = 0;
    if (!runtime::parseInt(rest.substr(colon + 1), &port) || port <= 0 || port > 65535)
      return invalidArgumentError("metadata field 'url': bad port in '" + url + "'");
    c->port = static_cast<int>(port);
  }
  if (c->host.empty())
    return invalidArgumentError("metadata field 'url': no host in '" + url + "'");
  return okStatus();
}

}  // namespace

Mqtt3PubSub::~Mqtt3PubSub() { close(); }

Status Mqtt3PubSub::init(const runtime::Properties& p) {
  Config c;
  std::string url = p.get("url");
  if (url.empty()) return invalidArgumentError("metadata field 'url' is required");
  RETURN_IF_ERROR(parseUrl(url, &c.client));
  c.client.client_id = p.get("consumerID");
  if (c.client.client_id.empty())
    return invalidArgumentError("metadata field 'consumerID' is required: it is the client id");
  int64_t qos = p.getInt("qos", 1);
  if (qos < 0 || qos > 2) return invalidArgumentError("metadata field 'qos' must be 0, 1 or 2");
  c.qos = static_cast<int>(qos);
  c.retain = p.getBool("retain", false);
  c.client.clean_session = p.getBool("cleanSession", false);
  c.client.keepalive_seconds = kKeepaliveSeconds;
  for (const char* tls : {"caCert", "clientCert", "clientKey"}) {
    if (!p.get(tls).empty())
      return unimplementedError(std::string("metadata field '") + tls +
                                "': TLS to the broker is not supported yet");
  }
  config_ = c;

  client_ = std::make_unique<Client>(
      c.client, [this](const Incoming& m, const std::shared_ptr<Ack>& ack) { onMessage(m, ack); });
  Status st = client_->start();
  if (!st.ok()) client_.reset();
  return st;
}

void Mqtt3PubSub::onMessage(const Incoming& in, const std::shared_ptr<Ack>& ack) {
  Message msg;
  msg.topic = in.topic;
  msg.data = in.payload;
  std::unique_lock<std::mutex> lock(mutex_);
  bool matched = false;
  for (auto& sub : subscriptions_) {
    if (!topicMatches(sub->topic, in.topic)) continue;
    matched = true;
    // A full queue holds up the client's thread: the broker then stops sending (its in-flight
    // window fills with unacknowledged messages), which is the backpressure MQTT has.
    cv_.wait(lock, [&] { return sub->queue.size() < config_.queue_size || closed_; });
    if (closed_) return;
    ack->hold();  // acknowledged once every matching subscription took it
    sub->queue.push_back(Delivery{msg, ack, nowMs()});
  }
  if (!matched) {
    while (unmatched_.size() >= config_.queue_size && !closed_) {
      pruneUnmatched();
      cv_.wait_for(lock, std::chrono::milliseconds(250));
    }
    if (closed_) return;
    ack->hold();
    unmatched_.push_back(Delivery{msg, ack, nowMs()});
  }
  cv_.notify_all();
}

void Mqtt3PubSub::pruneUnmatched() {
  if (unmatched_.empty() || subscriptions_.empty() ||
      nowMs() - last_subscribe_ms_ < kUnmatchedGraceMs) {
    return;
  }
  for (auto& d : unmatched_) {
    LOG_WARN << "pubsub.mqtt3: no subscription takes topic '" << d.message.topic
             << "': message dropped";
    d.ack->release();
  }
  unmatched_.clear();
  cv_.notify_all();
}

Status Mqtt3PubSub::publish(const PublishRequest& request) {
  if (closed_ || !client_) return unavailableError("mqtt3: the component is closed");
  return client_->publish(request.topic, request.data, config_.qos, config_.retain);
}

Status Mqtt3PubSub::bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                                  BulkHandler handler) {
  if (closed_ || !client_) return unavailableError("mqtt3: the component is closed");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscriptions_.push_back(std::make_unique<Subscription>());
    Subscription* sub = subscriptions_.back().get();
    sub->topic = request.topic;
    sub->handler = std::move(handler);
    sub->max_messages = static_cast<size_t>(std::max(1, options.max_messages));
    sub->max_await_ms = std::max(0, options.max_await_ms);
    // What arrived for it before it existed, in arrival order.
    for (auto it = unmatched_.begin(); it != unmatched_.end();) {
      if (topicMatches(sub->topic, it->message.topic)) {
        sub->queue.push_back(std::move(*it));
        it = unmatched_.erase(it);
      } else {
        ++it;
      }
    }
    last_subscribe_ms_ = nowMs();
    sub->thread = std::thread([this, sub] { deliver(sub); });
  }
  cv_.notify_all();
  // In place once the broker answered SUBACK (bounded).
  return client_->subscribe(request.topic, config_.qos);
}

std::vector<Mqtt3PubSub::Delivery> Mqtt3PubSub::takeBatch(Subscription* sub,
                                                          std::unique_lock<std::mutex>& lock) {
  std::vector<Delivery> batch;
  auto take = [&] {
    while (!sub->queue.empty() && batch.size() < sub->max_messages) {
      Delivery d = std::move(sub->queue.front());
      sub->queue.pop_front();
      // A copy from a connection that is gone comes again on the next one: not handed over twice.
      if (!d.ack->stale()) batch.push_back(std::move(d));
    }
    cv_.notify_all();  // room for the client's thread, which keeps reading while a batch forms
  };
  auto arrived = [&] { return !sub->queue.empty() || closed_; };
  while (!closed_) {
    take();
    if (!batch.empty()) break;
    if (!cv_.wait_for(lock, std::chrono::seconds(1), arrived)) {
      pruneUnmatched();  // held messages fill the broker's in-flight window: not for long
    }
  }
  // Counted from the first message's arrival: one put back after a failure (its backoff already
  // waited) or one that queued while the app was busy goes without waiting again.
  if (!batch.empty() && sub->max_await_ms > 0) {
    auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(batch.front().received_ms + sub->max_await_ms - nowMs());
    while (!closed_ && batch.size() < sub->max_messages &&
           cv_.wait_until(lock, deadline, arrived)) {
      take();
    }
  }
  if (closed_) batch.clear();  // unacknowledged: the broker keeps them for the session
  return batch;
}

void Mqtt3PubSub::deliver(Subscription* sub) {
  int64_t backoff = kFirstRetryMs;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    std::vector<Delivery> batch = takeBatch(sub, lock);
    if (closed_) return;
    if (batch.empty()) continue;  // all were stale copies
    lock.unlock();
    std::vector<Message> messages;
    messages.reserve(batch.size());
    for (auto& d : batch) messages.push_back(std::move(d.message));
    std::vector<Status> statuses = sub->handler(messages);
    if (statuses.size() != batch.size()) {
      LOG_WARN << "pubsub.mqtt3: the handler answered " << statuses.size() << " statuses for "
               << batch.size() << " messages; the unanswered ones are handed over again";
    }
    // PUBACK (or PUBREC) from this thread: the client serializes writes.
    std::vector<Delivery> failed;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i < statuses.size() && statuses[i].ok()) {
        batch[i].ack->release();
      } else if (!batch[i].ack->stale()) {
        batch[i].message = std::move(messages[i]);
        failed.push_back(std::move(batch[i]));
      }
    }
    lock.lock();
    if (failed.empty()) {
      backoff = kFirstRetryMs;
      continue;
    }
    // Not acknowledged: handed over again, ahead of what came since (arrival order), after a
    // pause that doubles while the app keeps failing.
    sub->queue.insert(sub->queue.begin(), std::make_move_iterator(failed.begin()),
                      std::make_move_iterator(failed.end()));
    if (cv_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return closed_.load(); }))
      return;
    backoff = std::min(backoff * 2, kMaxRetryMs);
  }
}

void Mqtt3PubSub::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.exchange(true)) return;
  }
  cv_.notify_all();
  for (auto& sub : subscriptions_) {
    if (sub->thread.joinable()) sub->thread.join();
  }
  // After the delivery threads: their acknowledgements go through the client.
  if (client_) client_->close();
}

void registerComponent(runtime::Registry& registry) {
  using runtime::FieldType;
  runtime::ComponentFactory<PubSub> factory;
  factory.type = "pubsub.mqtt3";
  factory.fields = {
      {"url", FieldType::kString, true, std::nullopt, {}},
      {"consumerID", FieldType::kString, true, std::nullopt, {}},
      {"qos", FieldType::kInt, false, "1", {}},
      {"retain", FieldType::kBool, false, "false", {}},
      {"cleanSession", FieldType::kBool, false, "false", {}},
      {"caCert", FieldType::kString, false, std::nullopt, {}},
      {"clientCert", FieldType::kString, false, std::nullopt, {}},
      {"clientKey", FieldType::kString, false, std::nullopt, {}},
  };
  factory.create = [] { return std::make_unique<Mqtt3PubSub>(); };
  // Dapr registers the same component as pubsub.mqtt too.
  runtime::ComponentFactory<PubSub> alias = factory;
  alias.type = "pubsub.mqtt";
  (void)registry.pubsub.add(std::move(factory));
  (void)registry.pubsub.add(std::move(alias));
}

}  // namespace outrigger::sidecar::components::pubsub::mqtt3
