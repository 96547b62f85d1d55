#include "sidecar/components/state/in_memory/in_memory_state_store.h"

namespace outrigger::sidecar::components::state::in_memory {

Status InMemoryStateStore::init(const runtime::Properties&) { return okStatus(); }

std::vector<std::string> InMemoryStateStore::features() const {
  return {kFeatureETag, kFeatureTransactional, kFeatureTTL, kFeatureQuery};
}

const InMemoryStateStore::Item* InMemoryStateStore::live(const std::string& key,
                                                         Clock::time_point now) const {
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  if (it->second.expires && *it->second.expires <= now) return nullptr;
  return &it->second;
}

StatusOr<GetResponse> InMemoryStateStore::get(const GetRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  GetResponse res;
  const Item* item = live(request.key, Clock::now());
  if (!item) return res;
  res.found = true;
  res.data = item->value;
  res.etag = std::to_string(item->version);
  return res;
}

Status InMemoryStateStore::checkEtag(const std::string& key, const std::optional<std::string>& etag,
                                     Clock::time_point now) const {
  if (!etag) return okStatus();
  ASSIGN_OR_RETURN(int64_t version, parseVersionEtag(*etag));
  const Item* item = live(key, now);
  if (!item || static_cast<int64_t>(item->version) != version) return etagMismatch(key);
  return okStatus();
}

Status InMemoryStateStore::checkSet(const SetRequest& request, Clock::time_point now) const {
  RETURN_IF_ERROR(checkTtl(request.ttl_seconds));
  if (request.etag) return checkEtag(request.key, request.etag, now);
  if (request.concurrency == Concurrency::kFirstWrite && live(request.key, now)) {
    return etagMismatch(request.key);
  }
  return okStatus();
}

Status InMemoryStateStore::checkDelete(const DeleteRequest& request, Clock::time_point now) const {
  return checkEtag(request.key, request.etag, now);
}

void InMemoryStateStore::applySet(const SetRequest& request, Clock::time_point now) {
  Item& item = items_[request.key];
  item.value = request.value;
  item.version = next_version_++;
  item.expires.reset();
  if (request.ttl_seconds && *request.ttl_seconds > 0) {
    item.expires = now + std::chrono::seconds(*request.ttl_seconds);
  }
}

Status InMemoryStateStore::set(const SetRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto now = Clock::now();
  RETURN_IF_ERROR(checkSet(request, now));
  applySet(request, now);
  return okStatus();
}

Status InMemoryStateStore::del(const DeleteRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  RETURN_IF_ERROR(checkDelete(request, Clock::now()));
  items_.erase(request.key);
  return okStatus();
}

Status InMemoryStateStore::multi(const std::vector<Operation>& operations, const RequestMetadata&) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto now = Clock::now();
  // Check everything first so the transaction applies all or nothing: formats, then etags.
  RETURN_IF_ERROR(checkOperations(operations, true));
  for (const auto& op : operations) {
    RETURN_IF_ERROR(op.kind == Operation::Kind::kUpsert ? checkSet(op.set, now)
                                                        : checkDelete(op.del, now));
  }
  for (const auto& op : operations) {
    if (op.kind == Operation::Kind::kUpsert) {
      applySet(op.set, now);
    } else {
      items_.erase(op.del.key);
    }
  }
  return okStatus();
}

StatusOr<QueryResponse> InMemoryStateStore::query(const QueryRequest& request) {
  QueryEvaluator evaluator(request.query);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto now = Clock::now();
    for (const auto& [key, item] : items_) {
      if (key.compare(0, request.key_prefix.size(), request.key_prefix) != 0) continue;
      if (item.expires && *item.expires <= now) continue;
      evaluator.add(QueryItem{key, item.value, std::to_string(item.version)});
    }
  }
  return evaluator.finish();
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Store> factory;
  factory.type = "state.in-memory";
  factory.blocking = false;
  factory.create = [] { return std::make_unique<InMemoryStateStore>(); };
  (void)registry.state.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::state::in_memory
