#pragma once

// Live component instances by name, per building block. Readers take shared_ptr copies, so a
// component can be replaced or removed (hot reload) while calls on the old one finish.

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/executor/bounded_executor.h"
#include "sidecar/components/bindings/binding.h"
#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/components/secretstores/secret_store.h"
#include "sidecar/components/state/store.h"
#include "sidecar/resiliency/policy.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar::runtime {

template <typename T>
struct Instance {
  ComponentSpec spec;
  std::shared_ptr<T> component;
  // Set for blocking components: their calls run here, never on an I/O thread.
  std::shared_ptr<BoundedExecutor> executor;
  // Outbound resiliency policy for calls to this component; null when none applies.
  std::shared_ptr<const resiliency::Policy> outbound;
  std::vector<std::string> capabilities;
  Properties properties;   // validated metadata, as the component got it
  std::string key_prefix;  // state: "appid" (default), "name", "namespace", "none" or a literal
};

using StateInstance = Instance<components::state::Store>;
using SecretStoreInstance = Instance<components::secretstores::SecretStore>;
using PubSubInstance = Instance<components::pubsub::PubSub>;
using BindingInstance = Instance<components::bindings::Binding>;

template <typename T>
class InstanceMap {
 public:
  std::shared_ptr<const Instance<T>> get(const std::string& name) const {
    std::shared_lock lock(mutex_);
    auto it = items_.find(name);
    return it == items_.end() ? nullptr : it->second;
  }
  void put(std::shared_ptr<const Instance<T>> instance) {
    std::unique_lock lock(mutex_);
    items_[instance->spec.name] = std::move(instance);
  }
  std::shared_ptr<const Instance<T>> remove(const std::string& name) {
    std::unique_lock lock(mutex_);
    auto it = items_.find(name);
    if (it == items_.end()) return nullptr;
    auto out = it->second;
    items_.erase(it);
    return out;
  }
  std::vector<std::shared_ptr<const Instance<T>>> all() const {
    std::shared_lock lock(mutex_);
    std::vector<std::shared_ptr<const Instance<T>>> out;
    for (const auto& [k, v] : items_) out.push_back(v);
    return out;
  }
  size_t size() const {
    std::shared_lock lock(mutex_);
    return items_.size();
  }

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Instance<T>>> items_;
};

struct CompStore {
  InstanceMap<components::state::Store> state;
  InstanceMap<components::secretstores::SecretStore> secretstores;
  InstanceMap<components::pubsub::PubSub> pubsub;
  InstanceMap<components::bindings::Binding> bindings;

  // Components that failed to load or reload (name -> error), shown by the metadata API.
  std::mutex errors_mutex;
  std::map<std::string, std::string> errors;
};

}  // namespace outrigger::sidecar::runtime
