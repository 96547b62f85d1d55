#include "sidecar/resiliency/resiliency.h"

#include <algorithm>
#include <sstream>

#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::resiliency {

namespace {

Status fieldError(const runtime::Resource& r, const std::string& field,
                  const std::string& problem) {
  return invalidArgumentError(r.source + ": resiliency '" + r.name + "': field " + field + ": " +
                              problem);
}

std::string scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }

Status duration(const runtime::Resource& r, const std::string& field, const YAML::Node& n,
                int64_t* out) {
  if (!n) return okStatus();
  if (!n.IsScalar() || !runtime::parseDurationMs(n.Scalar(), out)) {
    return fieldError(r, field, "expected a duration such as 5s");
  }
  return okStatus();
}

Status parseRanges(const std::string& text, std::vector<std::pair<int, int>>* out) {
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');) {
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (part.empty()) continue;
    auto dash = part.find('-');
    int64_t a, b;
    if (!runtime::parseInt(part.substr(0, dash), &a) ||
        !runtime::parseInt(dash == std::string::npos ? part : part.substr(dash + 1), &b) ||
        a < 100 || b > 599 || a > b) {
      return invalidArgumentError("bad status code range '" + part + "'");
    }
    out->emplace_back(static_cast<int>(a), static_cast<int>(b));
  }
  return okStatus();
}

}  // namespace

StatusOr<std::shared_ptr<Resiliency>> Resiliency::load(
    const std::vector<runtime::Resource>& resources, const std::string& app_id) {
  auto res = std::make_shared<Resiliency>();
  for (const auto& r : resources) {
    if (r.kind != "Resiliency") continue;
    if (const YAML::Node scopes = r.node["scopes"];
        scopes && scopes.IsSequence() && scopes.size() > 0) {
      bool in = false;
      for (const auto& s : scopes) in = in || scalar(s) == app_id;
      if (!in) continue;
    }
    const YAML::Node spec = r.node["spec"];
    if (!spec || !spec.IsMap()) return fieldError(r, "spec", "missing");
    const YAML::Node policies = spec["policies"];
    if (policies && !policies.IsMap()) return fieldError(r, "spec.policies", "expected a map");
    if (policies && policies["timeouts"]) {
      for (auto it = policies["timeouts"].begin(); it != policies["timeouts"].end(); ++it) {
        int64_t ms = 0;
        RETURN_IF_ERROR(
            duration(r, "spec.policies.timeouts." + it->first.Scalar(), it->second, &ms));
        res->named_.timeouts[it->first.Scalar()] = ms;
      }
    }
    if (policies && policies["retries"]) {
      for (auto it = policies["retries"].begin(); it != policies["retries"].end(); ++it) {
        std::string name = it->first.Scalar();
        std::string field = "spec.policies.retries." + name;
        const YAML::Node p = it->second;
        if (!p.IsMap()) return fieldError(r, field, "expected a map");
        RetrySpec spec_r;
        std::string kind = scalar(p["policy"]);
        if (kind.empty() || kind == "constant") {
          spec_r.exponential = false;
        } else if (kind == "exponential") {
          spec_r.exponential = true;
        } else {
          return fieldError(r, field + ".policy", "'" + kind + "' is not constant or exponential");
        }
        RETURN_IF_ERROR(duration(r, field + ".duration", p["duration"], &spec_r.duration_ms));
        RETURN_IF_ERROR(
            duration(r, field + ".maxInterval", p["maxInterval"], &spec_r.max_interval_ms));
        if (p["maxRetries"] && !runtime::parseInt(scalar(p["maxRetries"]), &spec_r.max_retries)) {
          return fieldError(r, field + ".maxRetries", "expected an integer");
        }
        if (const YAML::Node m = p["matching"]) {
          Status st = parseRanges(scalar(m["httpStatusCodes"]), &spec_r.http_status_ranges);
          if (!st.ok()) return fieldError(r, field + ".matching.httpStatusCodes", st.message());
        }
        res->named_.retries[name] = spec_r;
      }
    }
    if (policies && policies["circuitBreakers"]) {
      for (auto it = policies["circuitBreakers"].begin(); it != policies["circuitBreakers"].end();
           ++it) {
        std::string name = it->first.Scalar();
        std::string field = "spec.policies.circuitBreakers." + name;
        const YAML::Node p = it->second;
        Named::Breaker b;
        int64_t n = 1;
        if (p["maxRequests"] && !runtime::parseInt(scalar(p["maxRequests"]), &n)) {
          return fieldError(r, field + ".maxRequests", "expected an integer");
        }
        b.max_requests = static_cast<int>(n);
        RETURN_IF_ERROR(duration(r, field + ".interval", p["interval"], &b.interval_ms));
        RETURN_IF_ERROR(duration(r, field + ".timeout", p["timeout"], &b.timeout_ms));
        auto trip = TripExpression::parse(scalar(p["trip"]).empty() ? "consecutiveFailures > 5"
                                                                    : scalar(p["trip"]));
        if (!trip.ok()) return fieldError(r, field + ".trip", trip.status().message());
        b.trip = *trip;
        res->named_.breakers[name] = b;
      }
    }
    auto readTarget = [&](const YAML::Node& n, const std::string& field, TargetRef* t) -> Status {
      if (!n.IsMap()) return fieldError(r, field, "expected a map");
      t->timeout = scalar(n["timeout"]);
      t->retry = scalar(n["retry"]);
      t->breaker = scalar(n["circuitBreaker"]);
      return okStatus();
    };
    const YAML::Node targets = spec["targets"];
    if (targets && targets["apps"]) {
      for (auto it = targets["apps"].begin(); it != targets["apps"].end(); ++it) {
        RETURN_IF_ERROR(readTarget(it->second, "spec.targets.apps." + it->first.Scalar(),
                                   &res->apps_[it->first.Scalar()]));
      }
    }
    if (targets && targets["components"]) {
      for (auto it = targets["components"].begin(); it != targets["components"].end(); ++it) {
        std::string name = it->first.Scalar();
        if (it->second["outbound"]) {
          RETURN_IF_ERROR(readTarget(it->second["outbound"],
                                     "spec.targets.components." + name + ".outbound",
                                     &res->outbound_[name]));
        }
        if (it->second["inbound"]) {
          RETURN_IF_ERROR(readTarget(it->second["inbound"],
                                     "spec.targets.components." + name + ".inbound",
                                     &res->inbound_[name]));
        }
      }
    }
    // Every policy a target names must exist.
    for (auto* group : {&res->apps_, &res->inbound_, &res->outbound_}) {
      for (const auto& [target, ref] : *group) {
        if (!ref.timeout.empty() && !res->named_.timeouts.count(ref.timeout)) {
          return fieldError(r, "spec.targets (" + target + ").timeout",
                            "no timeout policy named '" + ref.timeout + "'");
        }
        if (!ref.retry.empty() && !res->named_.retries.count(ref.retry)) {
          return fieldError(r, "spec.targets (" + target + ").retry",
                            "no retry policy named '" + ref.retry + "'");
        }
        if (!ref.breaker.empty() && !res->named_.breakers.count(ref.breaker)) {
          return fieldError(r, "spec.targets (" + target + ").circuitBreaker",
                            "no circuit breaker named '" + ref.breaker + "'");
        }
      }
    }
    res->loaded_++;
  }
  return res;
}

std::shared_ptr<const Policy> Resiliency::build(const TargetRef* t,
                                                const std::vector<std::string>& defaults) {
  auto p = std::make_shared<Policy>();
  // A target's own policy wins; otherwise the most specific Default...Policy that exists.
  auto pick = [&](const std::string& named, const char* kind, const auto& table) -> std::string {
    if (!named.empty()) return named;
    for (const auto& d : defaults) {
      std::string name = "Default" + d + kind + "Policy";
      if (table.count(name)) return name;
    }
    return {};
  };
  if (std::string n = pick(t ? t->timeout : "", "Timeout", named_.timeouts); !n.empty()) {
    p->timeout_ms = named_.timeouts.at(n);
  }
  if (std::string n = pick(t ? t->retry : "", "Retry", named_.retries); !n.empty()) {
    p->retry = named_.retries.at(n);
  }
  if (std::string n = pick(t ? t->breaker : "", "CircuitBreaker", named_.breakers); !n.empty()) {
    const auto& b = named_.breakers.at(n);
    p->breaker =
        std::make_shared<CircuitBreaker>(b.max_requests, b.interval_ms, b.timeout_ms, b.trip);
  }
  return p->empty() ? nullptr : p;
}

std::shared_ptr<const Policy> Resiliency::cached(const std::string& key, const TargetRef* target,
                                                 const std::vector<std::string>& defaults) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  auto p = build(target, defaults);
  cache_[key] = p;
  return p;
}

namespace {
std::string blockInfix(const std::string& block) {
  if (block == "state") return "Statestore";
  if (block == "pubsub") return "Pubsub";
  if (block == "bindings") return "Binding";
  if (block == "secretstores") return "Secretstore";
  return "";
}
}  // namespace

std::shared_ptr<const Policy> Resiliency::componentOutbound(const std::string& name,
                                                            const std::string& block) {
  auto it = outbound_.find(name);
  return cached("out/" + name, it == outbound_.end() ? nullptr : &it->second,
                {blockInfix(block) + "ComponentOutbound", "ComponentOutbound", "Component", ""});
}

std::shared_ptr<const Policy> Resiliency::componentInbound(const std::string& name,
                                                           const std::string& block) {
  auto it = inbound_.find(name);
  return cached("in/" + name, it == inbound_.end() ? nullptr : &it->second,
                {blockInfix(block) + "ComponentInbound", "ComponentInbound", "Component", ""});
}

std::shared_ptr<const Policy> Resiliency::builtInServiceRetries(Resiliency* resiliency) {
  static const std::shared_ptr<const Policy> kDefault = [] {
    auto p = std::make_shared<Policy>();
    RetrySpec r;
    r.duration_ms = 1000;
    r.max_retries = 3;
    r.unreachable_only = true;
    p->retry = r;
    return p;
  }();
  if (!resiliency) return kDefault;
  std::lock_guard<std::mutex> lock(resiliency->mutex_);
  auto it = resiliency->named_.retries.find("DaprBuiltInServiceRetries");
  if (it == resiliency->named_.retries.end()) return kDefault;
  auto p = std::make_shared<Policy>();
  p->retry = it->second;
  p->retry->unreachable_only = true;
  return p;
}

std::shared_ptr<const Policy> Resiliency::app(const std::string& app_id) {
  auto it = apps_.find(app_id);
  return cached("app/" + app_id, it == apps_.end() ? nullptr : &it->second, {"App", ""});
}

}  // namespace outrigger::sidecar::resiliency
