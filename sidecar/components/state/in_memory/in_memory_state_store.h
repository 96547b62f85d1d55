#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "sidecar/components/state/query.h"
#include "sidecar/components/state/store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::state::in_memory {

// A process-local store with etags, TTLs, transactions and queries; lost on restart.
class InMemoryStateStore : public Store, public TransactionalStore, public QueryableStore {
 public:
  Status init(const runtime::Properties& properties) override;
  std::vector<std::string> features() const override;
  StatusOr<GetResponse> get(const GetRequest& request) override;
  Status set(const SetRequest& request) override;
  Status del(const DeleteRequest& request) override;
  Status multi(const std::vector<Operation>& operations, const RequestMetadata& metadata) override;
  StatusOr<QueryResponse> query(const QueryRequest& request) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Item {
    std::string value;
    uint64_t version = 0;
    std::optional<Clock::time_point> expires;
  };
  Status checkEtag(const std::string& key, const std::optional<std::string>& etag,
                   Clock::time_point now) const;
  Status checkSet(const SetRequest& request, Clock::time_point now) const;
  Status checkDelete(const DeleteRequest& request, Clock::time_point now) const;
  void applySet(const SetRequest& request, Clock::time_point now);
  const Item* live(const std::string& key, Clock::time_point now) const;

  std::mutex mutex_;
  std::unordered_map<std::string, Item> items_;
  uint64_t next_version_ = 1;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::state::in_memory
