#include "sidecar/runtime/http_endpoints.h"

namespace outrigger::sidecar::runtime {

namespace {

std::string scalar(const YAML::Node& node) {
  return node && node.IsScalar() ? node.Scalar() : std::string();
}

}  // namespace

StatusOr<HttpEndpoint> parseHttpEndpoint(const Resource& resource, const CompStore& components) {
  auto error = [&](const std::string& field, const std::string& what) {
    return invalidArgumentError(resource.source + ": HTTPEndpoint '" + resource.name + "': field " +
                                field + ": " + what);
  };
  HttpEndpoint out;
  out.name = resource.name;
  const YAML::Node spec = resource.node["spec"];
  if (!spec || !spec.IsMap()) return error("spec", "missing");
  out.base_url = scalar(spec["baseUrl"]);
  if (out.base_url.empty()) return error("spec.baseUrl", "missing");
  // Calls go out over the plain-HTTP client; TLS to external endpoints is not built yet.
  if (out.base_url.rfind("http://", 0) != 0) {
    return error("spec.baseUrl", "'" + out.base_url + "' is not an http:// URL");
  }
  const YAML::Node headers = spec["headers"];
  if (headers && !headers.IsSequence()) return error("spec.headers", "expected a list");
  const YAML::Node auth = resource.node["auth"];
  std::string store_name = auth && auth.IsMap() ? scalar(auth["secretStore"]) : std::string();
  for (size_t i = 0; headers && i < headers.size(); ++i) {
    const std::string field = "spec.headers[" + std::to_string(i) + "]";
    const YAML::Node h = headers[i];
    std::string name = scalar(h["name"]);
    if (name.empty()) return error(field + ".name", "missing");
    const YAML::Node ref = h["secretKeyRef"];
    if (!ref) {
      out.headers.emplace_back(name, scalar(h["value"]));
      continue;
    }
    std::string secret_name = scalar(ref["name"]);
    std::string key = scalar(ref["key"]);
    if (key.empty()) key = secret_name;
    if (secret_name.empty()) return error(field + ".secretKeyRef.name", "missing");
    if (store_name.empty()) return error(field + ".secretKeyRef", "needs auth.secretStore");
    auto store = components.secretstores.get(store_name);
    if (!store) return error("auth.secretStore", "secret store '" + store_name + "' is not loaded");
    auto secret = store->component->get(secret_name, {});
    if (!secret.ok()) return error(field + ".secretKeyRef", secret.status().message());
    auto it = secret->find(key);
    if (it == secret->end()) {
      return error(field + ".secretKeyRef.key",
                   "secret '" + secret_name + "' has no key '" + key + "'");
    }
    out.headers.emplace_back(name, it->second);
  }
  return out;
}

void HttpEndpoints::put(HttpEndpoint endpoint) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string name = endpoint.name;
  items_[name] = std::move(endpoint);
}

void HttpEndpoints::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  items_.erase(name);
}

bool HttpEndpoints::get(const std::string& name, HttpEndpoint* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = items_.find(name);
  if (it == items_.end()) return false;
  *out = it->second;
  return true;
}

std::vector<std::string> HttpEndpoints::names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, e] : items_) out.push_back(name);
  return out;
}

bool HttpEndpoints::empty() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return items_.empty();
}

}  // namespace outrigger::sidecar::runtime
