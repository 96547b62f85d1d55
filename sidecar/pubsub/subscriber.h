#pragma once

// Delivers messages from pub/sub components to the app (contract §1.4 "Delivery to the app"):
// route selection, the POST, the interpretation of the app's answer, and dead-lettering.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sidecar/components/pubsub/pubsub.h"
#include "sidecar/invoke/app_channel.h"
#include "sidecar/pubsub/subscriptions.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::pubsub {

// Wraps one delivery attempt in the inbound resiliency policy of a component (retries,
// timeouts, circuit breaker). The default runs the attempt once.
using InboundPolicy =
    std::function<Status(const std::string& component, std::function<Status()> attempt)>;

class Subscriber {
 public:
  Subscriber(runtime::Context& context, std::shared_ptr<invoke::AppChannel> app,
             InboundPolicy policy = nullptr);

  // Starts every subscription that is allowed (scopes, topic scoping) on its component.
  // A subscription naming an unknown pubsub is logged and skipped, as Dapr does.
  void start(const std::vector<Subscription>& subscriptions);
  // Asks the app for its programmatic subscriptions (GET /dapr/subscribe).
  StatusOr<std::vector<Subscription>> fetchProgrammatic();

  // One message through routing, delivery and dead-lettering; OK means acknowledge.
  Status handle(const Subscription& subscription, const components::pubsub::Message& message);

 private:
  enum class Outcome { kSuccess, kRetry, kDrop, kNotFound };
  StatusOr<Outcome> post(const Subscription& sub, const std::string& path, const std::string& body,
                         const components::pubsub::Message& message);
  Status deadLetter(const Subscription& sub, const components::pubsub::Message& message);

  runtime::Context& context_;
  std::shared_ptr<invoke::AppChannel> app_;
  InboundPolicy policy_;
  std::vector<std::shared_ptr<const Subscription>> active_;
};

}  // namespace outrigger::sidecar::pubsub
