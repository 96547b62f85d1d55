#pragma once

// HTTPEndpoint resources (dapr.io/v1alpha1): a name the app can invoke like an app id, standing
// for an external base URL and the headers every call to it carries.

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status/status.h"
#include "sidecar/runtime/compstore.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar::runtime {

struct HttpEndpoint {
  std::string name;
  std::string base_url;  // http://host[:port][/base]
  std::vector<std::pair<std::string, std::string>> headers;
};

// Reads spec.baseUrl and spec.headers[] ({name, value} or {name, secretKeyRef: {name, key}},
// the secret read from auth.secretStore). Errors name the source and the field.
StatusOr<HttpEndpoint> parseHttpEndpoint(const Resource& resource, const CompStore& components);

// Thread-safe: read by every invocation, written by hot reload.
class HttpEndpoints {
 public:
  void put(HttpEndpoint endpoint);
  void remove(const std::string& name);
  bool get(const std::string& name, HttpEndpoint* out) const;
  std::vector<std::string> names() const;
  bool empty() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, HttpEndpoint> items_;
};

}  // namespace outrigger::sidecar::runtime
