#pragma once

// Applies the changes the operator streams (Kubernetes mode) to the running sidecar: a changed
// component is re-initialised alone while the others keep serving, a deleted one is closed, a bad
// one is reported; HTTPEndpoints follow at once; declarative subscriptions re-subscribe their
// pubsub. Resiliency and Configuration are read at start-up only, as in Dapr: a change is logged.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sidecar/runtime/context.h"
#include "sidecar/runtime/operator_client.h"
#include "sidecar/runtime/processor.h"

namespace outrigger::sidecar::runtime {

struct HotReloadHooks {
  // After a component was (re)created: its subscriptions and input reading start again.
  std::function<void(const std::string& name)> component_loaded;
  // The declarative Subscription resources now in force (all of them).
  std::function<void(const std::vector<Resource>& subscriptions)> subscriptions_changed;
};

class HotReloader : public ResourceListener {
 public:
  explicit HotReloader(Context& context) : context_(context) {}

  // Changes that arrive earlier wait for this: start-up loads the first list itself.
  void open(Processor* processor, const Resources& initial, HotReloadHooks hooks);
  // Waits for a change in progress; later ones are dropped (shutdown).
  void close();

  void componentChanged(const ComponentSpec& spec) override;
  void componentDeleted(const std::string& name) override;
  void componentInvalid(const std::string& name, const Status& error) override;
  void resourceChanged(const Resource& resource, bool deleted) override;

 private:
  bool waitOpen(std::unique_lock<std::mutex>& lock);
  void subscriptionChanged(const Resource& resource, bool deleted);

  Context& context_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  bool closed_ = false;
  Processor* processor_ = nullptr;
  HotReloadHooks hooks_;
  std::map<std::string, ComponentSpec> components_;  // every component, by name
  std::map<std::string, Resource> subscriptions_;    // declarative, by name
};

// The pubsub a Subscription resource names (spec.pubsubname), or "".
std::string subscriptionPubsub(const Resource& subscription);

}  // namespace outrigger::sidecar::runtime
