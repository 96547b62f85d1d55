#pragma once

// Resiliency resources: named policies and the targets that use them, with Dapr's default
// policy names when no target names a component or app.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sidecar/resiliency/policy.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar::resiliency {

class Resiliency {
 public:
  // Reads every Resiliency resource scoped to app_id. Errors name the file and the field.
  static StatusOr<std::shared_ptr<Resiliency>> load(const std::vector<runtime::Resource>& resources,
                                                    const std::string& app_id);

  // block: "state", "pubsub", "bindings", "secretstores". Null when no policy applies.
  std::shared_ptr<const Policy> componentOutbound(const std::string& name,
                                                  const std::string& block);
  std::shared_ptr<const Policy> componentInbound(const std::string& name, const std::string& block);
  std::shared_ptr<const Policy> app(const std::string& app_id);
  size_t count() const { return loaded_; }
  // What a call to another app's sidecar runs under when no policy targets that app: Dapr's
  // DaprBuiltInServiceRetries (3 retries, 1 s apart, only when the sidecar could not be reached),
  // or the retry of that name a Resiliency resource defines. resiliency may be null.
  static std::shared_ptr<const Policy> builtInServiceRetries(Resiliency* resiliency);

 private:
  struct Named {
    std::map<std::string, int64_t> timeouts;
    std::map<std::string, RetrySpec> retries;
    struct Breaker {
      int max_requests = 1;
      int64_t interval_ms = 0, timeout_ms = 60000;
      TripExpression trip;
    };
    std::map<std::string, Breaker> breakers;
  };
  struct TargetRef {
    std::string timeout, retry, breaker;
  };
  std::shared_ptr<const Policy> build(const TargetRef* target,
                                      const std::vector<std::string>& defaults);
  std::shared_ptr<const Policy> cached(const std::string& key, const TargetRef* target,
                                       const std::vector<std::string>& defaults);

  Named named_;
  std::map<std::string, TargetRef> apps_, inbound_, outbound_;
  std::map<std::string, std::shared_ptr<const Policy>> cache_;
  std::mutex mutex_;
  size_t loaded_ = 0;
};

}  // namespace outrigger::sidecar::resiliency
