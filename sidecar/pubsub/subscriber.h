#pragma once

// Delivers messages from pub/sub components to the app (contract §1.4 "Delivery to the app"):
// route selection, the POST, the interpretation of the app's answer, and dead-lettering.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/executor/bounded_executor.h"
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
  // A batch (bulk subscribe): each route's messages go to the app in one bulk envelope, and the
  // app's per-entry statuses decide; one status per message, in order.
  std::vector<Status> handleBulk(const Subscription& subscription,
                                 const std::vector<components::pubsub::Message>& messages);
  // A batch of messages handled at once, each through handle(), on this thread and the workers;
  // one status per message, in order.
  std::vector<Status> handleConcurrently(const Subscription& subscription, BoundedExecutor& workers,
                                         const std::vector<components::pubsub::Message>& messages);

 private:
  enum class Outcome { kSuccess, kRetry, kDrop, kNotFound };
  // A message's CloudEvent body and route, or the answer it gets without the app.
  struct Routed {
    std::string body;
    std::string path;
    std::optional<Status> settled;
  };
  Routed route(const Subscription& sub, const components::pubsub::Message& message);
  // SUCCESS (or empty), DROP, anything else: retry.
  static Outcome outcomeOf(const json::Value* status);
  StatusOr<Outcome> post(const Subscription& sub, const std::string& path, const std::string& body,
                         const components::pubsub::Message& message);
  // One bulk envelope with the messages numbered pending; one outcome each, in that order.
  StatusOr<std::vector<Outcome>> postBulk(const Subscription& sub, const std::string& path,
                                          const std::vector<components::pubsub::Message>& messages,
                                          const std::vector<std::string>& bodies,
                                          const std::vector<std::string>& ids,
                                          const std::vector<size_t>& pending);
  // The answer for a message once delivery ended with st and outcome.
  Status finish(const Subscription& sub, const components::pubsub::Message& message,
                const std::string& path, const Status& st, Outcome outcome);
  // A message that cannot be delivered: dead-lettered when the subscription has a topic for it.
  Status fail(const Subscription& sub, const components::pubsub::Message& message,
              const Status& st);
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
