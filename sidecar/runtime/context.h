#pragma once

// What the API layers share at run time: options, the live components and readiness.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "sidecar/options.h"
#include "sidecar/runtime/compstore.h"
#include "sidecar/runtime/http_endpoints.h"

namespace outrigger::sidecar::runtime {

// What the metadata API shows of a subscription.
struct SubscriptionInfo {
  std::string pubsub;
  std::string topic;
  std::string dead_letter_topic;
  std::string type;
  std::vector<std::pair<std::string, std::string>> rules;  // match, path
  std::map<std::string, std::string> metadata;
};

struct Context {
  Options options;
  std::string namespace_name;  // $NAMESPACE
  CompStore compstore;
  HttpEndpoints http_endpoints;
  std::vector<std::string> failed_components;

  std::atomic<bool> outbound_ready{false};  // components loaded, API up
  std::atomic<bool> app_connected{false};   // the app port answered (or there is none)
  // The app answered and its subscriptions and input bindings are started: /healthz turns 204.
  std::atomic<bool> app_ready{false};
  std::atomic<bool> shutting_down{false};
  std::atomic<int64_t> shutdown_deadline_ms{0};  // steady clock, set when shutdown starts

  std::chrono::steady_clock::time_point shutdownDeadline() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::milliseconds(shutdown_deadline_ms.load()));
  }

  std::mutex extended_mutex;
  std::map<std::string, std::string> extended_metadata;  // PUT /v1.0/metadata/{key}

  std::mutex subscriptions_mutex;
  std::vector<SubscriptionInfo> subscriptions;
};

}  // namespace outrigger::sidecar::runtime
