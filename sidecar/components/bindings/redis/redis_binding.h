#pragma once

#include <hiredis/hiredis.h>

#include <mutex>
#include <string>

#include "sidecar/components/bindings/binding.h"
#include "sidecar/components/common/redis/redis_client.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::bindings::redis {

// bindings.redis: an output binding over one Redis connection (create, get, delete, increment),
// the key in metadata `key`. Calls run on the component's worker pool; the connection is
// re-established after a failure, and every command has a timeout.
class RedisBinding : public Binding, public OutputBinding {
 public:
  ~RedisBinding() override;
  Status init(const runtime::Properties& properties) override;
  OutputBinding* output() override { return this; }
  std::vector<std::string> operations() const override;
  StatusOr<InvokeResponse> invoke(const InvokeRequest& request) override;
  void close() override;

 private:
  Status connect();
  StatusOr<components::common::redis::ReplyPtr> command(const std::vector<std::string>& args);
  std::mutex mutex_;
  redisContext* ctx_ = nullptr;
  components::common::redis::Address address_;
  int64_t timeout_ms_ = 5000;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::bindings::redis
