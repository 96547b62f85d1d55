#include "sidecar/components/pubsub/in_memory/in_memory_pubsub.h"

#include <algorithm>
#include <chrono>

namespace outrigger::sidecar::components::pubsub::in_memory {

InMemoryPubSub::~InMemoryPubSub() { close(); }

Status InMemoryPubSub::init(const runtime::Properties& properties) {
  max_queue_ = static_cast<size_t>(properties.getInt("maxQueueSize", 10000));
  publish_timeout_ms_ = properties.getDurationMs("publishTimeout", 5000);
  retry_pause_ms_ = properties.getDurationMs("retryInterval", 100);
  return okStatus();
}

bool InMemoryPubSub::hasRoom(const std::string& topic) const {
  for (const auto& s : subscriptions_) {
    if (s->topic == topic && s->queue.size() >= max_queue_) return false;
  }
  return true;
}

void InMemoryPubSub::enqueue(const PublishRequest& request) {
  for (auto& s : subscriptions_) {
    if (s->topic != request.topic) continue;
    s->queue.push_back(
        Message{request.topic, request.data, request.content_type, request.metadata});
  }
  cv_.notify_all();
}

std::optional<Status> InMemoryPubSub::tryPublish(const PublishRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || !hasRoom(request.topic)) return std::nullopt;
  enqueue(request);
  return okStatus();
}

Status InMemoryPubSub::publish(const PublishRequest& request) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(publish_timeout_ms_);
  // Wait while any subscriber of this topic is full: a slow app slows publishers down instead
  // of growing memory without bound.
  bool ok = cv_.wait_until(lock, deadline, [&] { return closed_ || hasRoom(request.topic); });
  if (closed_) return unavailableError("pubsub is closed");
  if (!ok) return resourceExhaustedError("subscriber queue full for topic " + request.topic);
  enqueue(request);
  return okStatus();
}

Status InMemoryPubSub::bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                                     BulkHandler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return unavailableError("pubsub is closed");
  auto sub = std::make_unique<Subscription>();
  sub->topic = request.topic;
  sub->handler = std::move(handler);
  sub->bulk.max_messages = std::max(1, options.max_messages);
  sub->bulk.max_await_ms = std::max(0, options.max_await_ms);
  Subscription* raw = sub.get();
  subscriptions_.push_back(std::move(sub));
  raw->thread = std::thread([this, raw] { deliver(raw); });
  return okStatus();
}

void InMemoryPubSub::deliver(Subscription* sub) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return closed_ || !sub->queue.empty(); });
    // A batch that is not full waits (bounded) for more.
    size_t max = static_cast<size_t>(sub->bulk.max_messages);
    cv_.wait_for(lock, std::chrono::milliseconds(sub->bulk.max_await_ms),
                 [&] { return closed_ || sub->queue.size() >= max; });
    if (closed_) return;
    // Only this thread takes from the queue: the batch stays its head while the app has it.
    std::vector<Message> batch(sub->queue.begin(),
                               sub->queue.begin() + std::min(max, sub->queue.size()));
    lock.unlock();
    std::vector<Status> st = sub->handler(batch);
    lock.lock();
    bool failed = false;
    for (size_t i = batch.size(); i-- > 0;) {
      if (i < st.size() && st[i].ok()) {
        sub->queue.erase(sub->queue.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        failed = true;
      }
    }
    cv_.notify_all();
    if (failed) {
      // Keep failed messages at the head and try again: at-least-once, in order.
      cv_.wait_for(lock, std::chrono::milliseconds(retry_pause_ms_), [&] { return closed_; });
    }
  }
}

void InMemoryPubSub::close() {
  std::vector<std::unique_ptr<Subscription>> subs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    subs.swap(subscriptions_);
  }
  cv_.notify_all();
  for (auto& s : subs) {
    if (s->thread.joinable()) s->thread.join();
  }
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<PubSub> factory;
  factory.type = "pubsub.in-memory";
  // publish may wait for a full subscriber queue (backpressure): keep that off the I/O threads.
  factory.blocking = true;
  factory.fields = {
      {"maxQueueSize", runtime::FieldType::kInt, false, "10000", {}},
      {"publishTimeout", runtime::FieldType::kDuration, false, "5s", {}},
      {"retryInterval", runtime::FieldType::kDuration, false, "100ms", {}},
  };
  factory.create = [] { return std::make_unique<InMemoryPubSub>(); };
  (void)registry.pubsub.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::pubsub::in_memory
