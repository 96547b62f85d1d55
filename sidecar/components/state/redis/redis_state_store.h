#pragma once

#include <hiredis/hiredis.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "sidecar/components/common/redis/redis_client.h"
#include "sidecar/components/state/store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::state::redis {

// state.redis: each key is a hash {data, version}; the etag is the version. Writes, etag checks
// and transactions run as Lua scripts, so they are atomic on the server. A small pool of
// connections, re-established after failures, every command under a timeout.
class RedisStateStore : public Store, public TransactionalStore {
 public:
  ~RedisStateStore() override;
  Status init(const runtime::Properties& properties) override;
  std::vector<std::string> features() const override;
  StatusOr<GetResponse> get(const GetRequest& request) override;
  StatusOr<std::vector<GetResponse>> bulkGet(const std::vector<GetRequest>& requests) override;
  Status set(const SetRequest& request) override;
  Status del(const DeleteRequest& request) override;
  Status multi(const std::vector<Operation>& operations, const RequestMetadata& metadata) override;
  void close() override;
  // As go-redis bounds a wait for a pooled connection: PoolTimeout = ReadTimeout + 1 s.
  std::optional<std::chrono::milliseconds> queueTimeout() const override;

 private:
  struct Reply;
  StatusOr<Reply> command(const std::vector<std::string>& args);
  // Sends the commands on one connection, then reads every reply. Retries (maxRetries, with
  // backoff) when the connection could not be made or broke, never after a timeout.
  StatusOr<std::vector<Reply>> pipeline(const std::vector<std::vector<std::string>>& commands);
  static StatusOr<GetResponse> toResponse(const Reply& reply);
  StatusOr<redisContext*> acquire();
  void release(redisContext* ctx, bool healthy);
  StatusOr<redisContext*> connect();

  components::common::redis::Address address_;
  int64_t dial_timeout_ms_ = 5000;
  int64_t io_timeout_ms_ = 3000;
  int max_retries_ = 3;
  int64_t default_ttl_ = 0;
  size_t max_connections_ = 8;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<redisContext*> idle_;
  size_t open_ = 0;
  bool closed_ = false;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::state::redis
