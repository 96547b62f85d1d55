#pragma once

// The subset of CEL that subscription routing rules use: field access on `event`, literals,
// == != < > <= >=, && || !, parentheses, and the string methods startsWith, endsWith, contains.
// Anything else is rejected when the rule is loaded, with a message naming it.

#include <memory>
#include <string>

#include "common/json/json.h"
#include "common/status/status.h"

namespace outrigger::sidecar::pubsub {

class RoutingExpression {
 public:
  static StatusOr<std::shared_ptr<RoutingExpression>> compile(const std::string& text);
  // True when the rule matches the CloudEvent. A missing field compares unequal to anything.
  bool matches(const json::Value& event) const;
  const std::string& text() const { return text_; }

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<Node> root_;
};

}  // namespace outrigger::sidecar::pubsub
