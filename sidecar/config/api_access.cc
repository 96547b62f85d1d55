#include "sidecar/config/api_access.h"

namespace outrigger::sidecar::config {

namespace {

std::set<std::string> keys(const std::vector<ApiRule>& rules, std::string_view protocol) {
  std::set<std::string> out;
  for (const auto& r : rules) {
    if (r.protocol == protocol) out.insert(r.version + "/" + r.name);
  }
  return out;
}

// "v1.0" -> "v1", "v1.0-alpha1" -> "v1alpha1": the group versions rules may name.
std::string groupVersion(std::string_view url_version) {
  if (url_version.substr(0, 4) != "v1.0") return std::string(url_version);
  std::string_view rest = url_version.substr(4);
  if (!rest.empty() && rest[0] == '-') rest.remove_prefix(1);
  return "v1" + std::string(rest);
}

}  // namespace

ApiAccess::ApiAccess(const Configuration& config, std::string_view protocol)
    : allowed_(keys(config.api_allowed, protocol)), denied_(keys(config.api_denied, protocol)) {}

bool ApiAccess::matches(const std::set<std::string>& rules, std::string_view group_key,
                        std::string_view versioned_route) {
  if (rules.count(std::string(group_key))) return true;
  for (const auto& rule : rules) {
    if (versioned_route.substr(0, rule.size()) == rule) return true;
  }
  return false;
}

bool ApiAccess::allows(std::string_view route) const {
  if (!restricts()) return true;
  if (!route.empty() && route[0] == '/') route.remove_prefix(1);
  size_t slash = route.find('/');
  std::string_view version = route.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? "" : route.substr(slash + 1);
  std::string_view group = rest.substr(0, rest.find('/'));
  if (group == "healthz") return true;
  std::string group_key = groupVersion(version) + "/" + std::string(group);
  if (!denied_.empty() && matches(denied_, group_key, route)) return false;
  return allowed_.empty() || matches(allowed_, group_key, route);
}

}  // namespace outrigger::sidecar::config
