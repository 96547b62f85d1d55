#include "sidecar/pubsub/subscriptions.h"

#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::pubsub {

namespace {

std::string normalisePath(std::string path) {
  if (!path.empty() && path.front() != '/') path.insert(path.begin(), '/');
  return path;
}

Status fieldError(const std::string& source, const std::string& name, const std::string& field,
                  const std::string& problem) {
  return invalidArgumentError(source + ": subscription '" + name + "': field " + field + ": " +
                              problem);
}

StatusOr<Rule> makeRule(const std::string& match, const std::string& path) {
  Rule r;
  r.path = normalisePath(path);
  if (!match.empty()) {
    ASSIGN_OR_RETURN(r.match, RoutingExpression::compile(match));
  }
  return r;
}

std::string scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }

}  // namespace

bool Subscription::rawPayload() const {
  auto it = metadata.find("rawPayload");
  bool raw = false;
  return it != metadata.end() && runtime::parseBool(it->second, &raw) && raw;
}

std::string Subscription::route(const json::Value& event) const {
  for (const auto& r : rules) {
    if (!r.match || r.match->matches(event)) return r.path;
  }
  return {};
}

StatusOr<Subscription> parseDeclarative(const runtime::Resource& res) {
  Subscription sub;
  sub.name = res.name;
  sub.type = "DECLARATIVE";
  const YAML::Node spec = res.node["spec"];
  if (!spec || !spec.IsMap()) return fieldError(res.source, res.name, "spec", "missing");
  sub.pubsub = scalar(spec["pubsubname"]);
  if (sub.pubsub.empty()) return fieldError(res.source, res.name, "spec.pubsubname", "missing");
  sub.topic = scalar(spec["topic"]);
  if (sub.topic.empty()) return fieldError(res.source, res.name, "spec.topic", "missing");
  sub.dead_letter_topic = scalar(spec["deadLetterTopic"]);
  if (const YAML::Node md = spec["metadata"]) {
    if (!md.IsMap()) return fieldError(res.source, res.name, "spec.metadata", "expected a map");
    for (auto it = md.begin(); it != md.end(); ++it)
      sub.metadata[it->first.Scalar()] = scalar(it->second);
  }
  if (const YAML::Node routes = spec["routes"]) {
    if (!routes.IsMap()) return fieldError(res.source, res.name, "spec.routes", "expected a map");
    if (const YAML::Node rules = routes["rules"]) {
      if (!rules.IsSequence())
        return fieldError(res.source, res.name, "spec.routes.rules", "expected a list");
      for (size_t i = 0; i < rules.size(); ++i) {
        std::string field = "spec.routes.rules[" + std::to_string(i) + "]";
        std::string path = scalar(rules[i]["path"]);
        if (path.empty()) return fieldError(res.source, res.name, field + ".path", "missing");
        auto rule = makeRule(scalar(rules[i]["match"]), path);
        if (!rule.ok())
          return fieldError(res.source, res.name, field + ".match", rule.status().message());
        sub.rules.push_back(*rule);
      }
    }
    std::string def = scalar(routes["default"]);
    if (!def.empty()) sub.rules.push_back(*makeRule("", def));
  }
  std::string route = scalar(spec["route"]);
  if (!route.empty() && (sub.rules.empty() || sub.rules.back().match)) {
    sub.rules.push_back(*makeRule("", route));
  }
  if (sub.rules.empty())
    return fieldError(res.source, res.name, "spec.route", "no route or routes given");
  if (const YAML::Node bulk = spec["bulkSubscribe"]) {
    bool enabled = false;
    runtime::parseBool(scalar(bulk["enabled"]), &enabled);
    sub.bulk_enabled = enabled;
    int64_t n;
    if (runtime::parseInt(scalar(bulk["maxMessagesCount"]), &n) && n > 0)
      sub.bulk_max_messages = static_cast<int>(n);
    if (runtime::parseInt(scalar(bulk["maxAwaitDurationMs"]), &n) && n > 0)
      sub.bulk_max_await_ms = static_cast<int>(n);
  }
  if (const YAML::Node scopes = res.node["scopes"]) {
    for (size_t i = 0; scopes.IsSequence() && i < scopes.size(); ++i)
      sub.scopes.push_back(scalar(scopes[i]));
  }
  return sub;
}

StatusOr<std::vector<Subscription>> parseProgrammatic(const std::string& body) {
  auto doc = json::parse(body);
  if (!doc.ok()) return invalidArgumentError("GET /dapr/subscribe: " + doc.status().message());
  if (!doc->IsArray()) return invalidArgumentError("GET /dapr/subscribe: expected a JSON array");
  std::vector<Subscription> out;
  for (rapidjson::SizeType i = 0; i < doc->Size(); ++i) {
    const json::Value& v = (*doc)[i];
    std::string where = "GET /dapr/subscribe: entry " + std::to_string(i);
    if (!v.IsObject()) return invalidArgumentError(where + ": expected an object");
    Subscription sub;
    sub.type = "PROGRAMMATIC";
    auto str = [&](const char* key) {
      const json::Value* f = json::findCaseInsensitive(v, key);
      return f && f->IsString() ? std::string(f->GetString()) : std::string();
    };
    sub.pubsub = str("pubsubname");
    sub.topic = str("topic");
    if (sub.pubsub.empty() || sub.topic.empty()) {
      return invalidArgumentError(where + ": pubsubname and topic are required");
    }
    sub.dead_letter_topic = str("deadLetterTopic");
    if (const json::Value* md = json::find(v, "metadata"); md && md->IsObject()) {
      for (auto it = md->MemberBegin(); it != md->MemberEnd(); ++it) {
        sub.metadata[it->name.GetString()] = json::scalarToString(it->value);
      }
    }
    if (const json::Value* routes = json::find(v, "routes"); routes && routes->IsObject()) {
      if (const json::Value* rules = json::find(*routes, "rules"); rules && rules->IsArray()) {
        for (const auto& r : rules->GetArray()) {
          const json::Value* match = json::find(r, "match");
          const json::Value* path = json::find(r, "path");
          if (!path || !path->IsString())
            return invalidArgumentError(where + ": routes.rules[].path is required");
          auto rule =
              makeRule(match && match->IsString() ? match->GetString() : "", path->GetString());
          if (!rule.ok()) return invalidArgumentError(where + ": " + rule.status().message());
          sub.rules.push_back(*rule);
        }
      }
      if (const json::Value* def = json::find(*routes, "default");
          def && def->IsString() && def->GetStringLength()) {
        sub.rules.push_back(*makeRule("", def->GetString()));
      }
    }
    std::string route = str("route");
    if (!route.empty() && (sub.rules.empty() || sub.rules.back().match))
      sub.rules.push_back(*makeRule("", route));
    // A subscription with no route at all is discarded, as Dapr does.
    if (sub.rules.empty()) continue;
    if (const json::Value* bulk = json::find(v, "bulkSubscribe"); bulk && bulk->IsObject()) {
      const json::Value* enabled = json::find(*bulk, "enabled");
      sub.bulk_enabled = enabled && enabled->IsBool() && enabled->GetBool();
      const json::Value* n = json::find(*bulk, "maxMessagesCount");
      if (n && n->IsInt() && n->GetInt() > 0) sub.bulk_max_messages = n->GetInt();
      n = json::find(*bulk, "maxAwaitDurationMs");
      if (n && n->IsInt() && n->GetInt() > 0) sub.bulk_max_await_ms = n->GetInt();
    }
    out.push_back(std::move(sub));
  }
  return out;
}

}  // namespace outrigger::sidecar::pubsub
