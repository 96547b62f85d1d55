#pragma once

// Delivers messages from pub/sub components to the app (contract §1.4 "Delivery to the app"):
// route selection, the POST, the interpretation of the app's answer, and dead-lettering.

#include <functional>
#include <memory>
#include <mutex>
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

  // The declarative subscriptions (files, operator); may change at run time (hot reload).
  void setDeclarative(std::vector<Subscription> subscriptions);
  // Starts every subscription, declarative and these programmatic ones, that is allowed (scopes,
  // topic scoping) on its component. One naming an unknown pubsub is logged and skipped, as Dapr
  // does.
  void start(std::vector<Subscription> programmatic);
  // Subscribes again to a pubsub component that was (re)created: a hot-reloaded component
  // starts with no subscriptions. Nothing before start().
  void resubscribe(const std::string& pubsub);
  // Asks the app for its programmatic subscriptions (GET /dapr/subscribe).
  StatusOr<std::vector<Subscription>> fetchProgrammatic();

  // One message through routing, delivery and dead-lettering; OK means acknowledge.
  Status handle(const Subscription& subscription, const components::pubsub::Message& message);

 private:
  enum class Outcome { kSuccess, kRetry, kDrop, kNotFound };
  StatusOr<Outcome> post(const Subscription& sub, const std::string& path, const std::string& body,
                         const components::pubsub::Message& message);
  Status deadLetter(const Subscription& sub, const components::pubsub::Message& message);
  void subscribeOne(const Subscription& s);  // under mutex_

  runtime::Context& context_;
  std::shared_ptr<invoke::AppChannel> app_;
  InboundPolicy policy_;
  std::mutex mutex_;
  bool started_ = false;
  std::vector<Subscription> declarative_;
  std::vector<Subscription> programmatic_;
  std::vector<std::shared_ptr<const Subscription>> active_;
};

}  // namespace outrigger::sidecar::pubsub
