#pragma once

// Starts input bindings and delivers their events to the app (contract §1.5 "Input").

#include <memory>
#include <mutex>
#include <string>

#include "sidecar/invoke/app_channel.h"
#include "sidecar/pubsub/subscriber.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::bindings {

class InputBindings {
 public:
  InputBindings(runtime::Context& context, std::shared_ptr<invoke::AppChannel> app,
                pubsub::InboundPolicy policy = nullptr)
      : context_(context), app_(std::move(app)), policy_(std::move(policy)) {}

  // Starts every input binding the app listens to: declared with direction "input", or
  // answering the OPTIONS probe on its route with 2xx or 405.
  void start();
  // Starts reading a binding that was (re)created by a hot reload; nothing before start().
  void restart(const std::string& name);

 private:
  bool appListens(const std::string& route);
  void startOne(const std::shared_ptr<const runtime::BindingInstance>& inst);
  std::mutex mutex_;
  bool started_ = false;
  runtime::Context& context_;
  std::shared_ptr<invoke::AppChannel> app_;
  pubsub::InboundPolicy policy_;
};

}  // namespace outrigger::sidecar::bindings
