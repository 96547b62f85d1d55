#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/components/common/redis/redis_client.h"
#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::pubsub::redis {

// pubsub.redis: Redis Streams. Publish is XADD; each subscription reads its topic's stream in the
// consumer group named by consumerID (XREADGROUP) and acknowledges (XACK) only after the app
// took the message. Unacknowledged messages stay pending and are claimed again after
// processingTimeout (XAUTOCLAIM), and re-read first after a restart.
class RedisPubSub : public PubSub {
 public:
  ~RedisPubSub() override;
  Status init(const runtime::Properties& properties) override;
  Status publish(const PublishRequest& request) override;
  Status bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                       BulkHandler handler) override;
  int concurrency() const override { return static_cast<int>(concurrency_); }
  void close() override;

  struct Connection;

 private:
  StatusOr<std::unique_ptr<Connection>> connect(int64_t timeout_ms) const;
  void consume(std::string topic, BulkOptions options, BulkHandler handler);

  components::common::redis::Address address_;
  std::string consumer_id_;
  int64_t processing_timeout_ms_ = 15000;
  int64_t redeliver_interval_ms_ = 60000;
  int64_t max_len_approx_ = 0;
  int64_t queue_depth_ = 100;  // entries read (and held pending) per XREADGROUP
  int64_t concurrency_ = 1;
  int64_t timeout_ms_ = 5000;
  std::mutex publish_mutex_;
  std::unique_ptr<Connection> publisher_;
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;
  std::atomic<bool> closed_{false};
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::pubsub::redis
