#include "sidecar/runtime/hot_reload.h"

#include "common/logging/log.h"

namespace outrigger::sidecar::runtime {

std::string subscriptionPubsub(const Resource& subscription) {
  const YAML::Node spec = subscription.node["spec"];
  if (!spec || !spec.IsMap()) return "";
  const YAML::Node name = spec["pubsubname"];
  return name && name.IsScalar() ? name.Scalar() : std::string();
}

void HotReloader::open(Processor* processor, const Resources& initial, HotReloadHooks hooks) {
  std::lock_guard<std::mutex> lock(mutex_);
  processor_ = processor;
  hooks_ = std::move(hooks);
  for (const auto& spec : initial.components) components_[spec.name] = spec;
  for (const auto& r : initial.others) {
    if (r.kind == "Subscription") subscriptions_[r.name] = r;
  }
  open_ = true;
  cv_.notify_all();
}

void HotReloader::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  cv_.notify_all();
}

bool HotReloader::waitOpen(std::unique_lock<std::mutex>& lock) {
  // Unbounded only until start-up finishes or shutdown begins; both always happen.
  cv_.wait(lock, [this] { return open_ || closed_; });
  return !closed_;
}

void HotReloader::componentChanged(const ComponentSpec& spec) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!waitOpen(lock)) return;
  // The new instance replaces the old one only once it initialised: a bad change leaves the
  // component serving as it was.
  Status st = processor_->initOne(spec);
  if (!st.ok()) {
    LOG_ERROR << "component " << spec.name << " failed to load: " << st.message();
    processor_->recordFailure(spec.name, st.message());
    return;
  }
  processor_->clearFailure(spec.name);
  components_[spec.name] = spec;
  if (hooks_.component_loaded) hooks_.component_loaded(spec.name);
}

void HotReloader::componentDeleted(const std::string& name) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!waitOpen(lock)) return;
  if (processor_->remove(name)) {
    LOG_INFO << "component removed: " << name;
  }
  processor_->clearFailure(name);
  components_.erase(name);
}

void HotReloader::componentInvalid(const std::string& name, const Status& error) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!waitOpen(lock)) return;
  processor_->recordFailure(name, error.message());
}

void HotReloader::resourceChanged(const Resource& resource, bool deleted) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!waitOpen(lock)) return;
  if (resource.kind == "HTTPEndpoint") {
    if (deleted) {
      context_.http_endpoints.remove(resource.name);
      LOG_INFO << "HTTPEndpoint removed: " << resource.name;
      return;
    }
    auto endpoint = parseHttpEndpoint(resource, context_.compstore);
    if (!endpoint.ok()) {
      LOG_ERROR << endpoint.status().message();
      return;
    }
    context_.http_endpoints.put(std::move(*endpoint));
    LOG_INFO << "HTTPEndpoint loaded: " << resource.name;
  } else if (resource.kind == "Subscription") {
    subscriptionChanged(resource, deleted);
  } else {
    LOG_WARN << resource.kind << " '" << resource.name << "' " << (deleted ? "deleted" : "changed")
             << ": it is read at start-up; restart the sidecar to apply it";
  }
}

void HotReloader::subscriptionChanged(const Resource& resource, bool deleted) {
  std::vector<std::string> affected;
  if (auto it = subscriptions_.find(resource.name); it != subscriptions_.end()) {
    affected.push_back(subscriptionPubsub(it->second));
  }
  if (deleted) {
    subscriptions_.erase(resource.name);
  } else {
    subscriptions_[resource.name] = resource;
    affected.push_back(subscriptionPubsub(resource));
  }
  LOG_INFO << "subscription " << resource.name << (deleted ? " deleted" : " changed");
  std::vector<Resource> all;
  for (const auto& [name, r] : subscriptions_) all.push_back(r);
  if (hooks_.subscriptions_changed) hooks_.subscriptions_changed(all);
  // A component cannot drop one subscription: the pubsub is re-created with the new set.
  std::sort(affected.begin(), affected.end());
  affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
  for (const auto& pubsub : affected) {
    auto spec = components_.find(pubsub);
    if (pubsub.empty() || spec == components_.end()) continue;
    Status st = processor_->initOne(spec->second);
    if (!st.ok()) {
      LOG_ERROR << "pubsub " << pubsub << " failed to re-subscribe: " << st.message();
      processor_->recordFailure(pubsub, st.message());
      continue;
    }
    if (hooks_.component_loaded) hooks_.component_loaded(pubsub);
  }
}

}  // namespace outrigger::sidecar::runtime
