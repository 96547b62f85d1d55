#pragma once

// Resources read from --resources-path directories: Components, and the other dapr.io kinds kept
// as parsed YAML for the building blocks that use them.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace outrigger::sidecar::runtime {

struct MetadataItem {
  std::string name;
  std::string value;
  std::string secret_name;  // secretKeyRef.name, when set
  std::string secret_key;   // secretKeyRef.key (defaults to the name)
  std::string env_ref;      // envRef, read when value is empty
};

struct ComponentSpec {
  std::string source;  // "file.yaml" (document N) — for error messages
  std::string name;
  std::string namespace_name;
  std::string type;
  std::string version;
  std::vector<MetadataItem> metadata;
  std::vector<std::string> scopes;
  std::string secret_store;  // auth.secretStore
  int64_t init_timeout_ms = 5000;
  bool ignore_errors = false;
};

struct Resource {
  std::string source;
  std::string api_version;
  std::string kind;
  std::string name;
  YAML::Node node;
};

struct Resources {
  std::vector<ComponentSpec> components;
  std::vector<Resource> others;  // Subscription, Resiliency, Configuration, HTTPEndpoint
};

// Reads every .yaml/.yml file of each directory (not recursive). Documents of other apiVersions or
// kinds are skipped; components scoped away from app_id, or in another namespace when one is
// given, are left out. Any malformed document is an error naming the file and the field.
StatusOr<Resources> loadResources(const std::vector<std::string>& dirs, const std::string& app_id,
                                  const std::string& namespace_name);

// Parses one Component document (exposed for tests and for the operator stream).
StatusOr<ComponentSpec> parseComponent(const YAML::Node& doc, const std::string& source);

}  // namespace outrigger::sidecar::runtime
