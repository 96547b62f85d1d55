#pragma once

// Which API routes a Configuration's spec.api.allowed / spec.api.denied lists let through, with
// daprd's matching (contract §1.0): a rule {name, version} is the key "<version>/<name>"; a route
// matches it by its group ("v1/state" for /v1.0/state/...) or when "<version>/<route>" starts with
// it. Denied rules win; an empty allow list allows everything; healthz is always allowed.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sidecar/config/configuration.h"

namespace outrigger::sidecar::config {

class ApiAccess {
 public:
  ApiAccess() = default;  // allows every route
  // Keeps the rules whose protocol is `protocol` ("http" or "grpc").
  ApiAccess(const Configuration& config, std::string_view protocol);

  // route: a route template as registered, e.g. "/v1.0/state/{storeName}/{key}".
  bool allows(std::string_view route) const;
  bool restricts() const { return !allowed_.empty() || !denied_.empty(); }

 private:
  static bool matches(const std::set<std::string>& rules, std::string_view group_key,
                      std::string_view versioned_route);
  std::set<std::string> allowed_;
  std::set<std::string> denied_;
};

}  // namespace outrigger::sidecar::config
