#pragma once

// Subscriptions: declarative (Subscription resources, v1alpha1 and v2alpha1) and programmatic
// (the app's GET /dapr/subscribe, v1 and v2 shapes), normalised to one form.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json/json.h"
#include "sidecar/pubsub/expr.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar::pubsub {

struct Rule {
  std::shared_ptr<RoutingExpression> match;  // null: always (the default route)
  std::string path;
};

struct Subscription {
  std::string name;  // resource name (declarative)
  std::string type;  // "DECLARATIVE" or "PROGRAMMATIC"
  std::string pubsub;
  std::string topic;
  std::vector<Rule> rules;
  std::map<std::string, std::string> metadata;
  std::string dead_letter_topic;
  bool bulk_enabled = false;
  int bulk_max_messages = 100;
  int bulk_max_await_ms = 1000;
  std::vector<std::string> scopes;

  bool rawPayload() const;
  // The path of the first matching rule, or "" when none matches.
  std::string route(const json::Value& event) const;
};

// From a Subscription resource; errors name the source and field.
StatusOr<Subscription> parseDeclarative(const runtime::Resource& resource);
// From the JSON body of GET /dapr/subscribe.
StatusOr<std::vector<Subscription>> parseProgrammatic(const std::string& body);

}  // namespace outrigger::sidecar::pubsub
