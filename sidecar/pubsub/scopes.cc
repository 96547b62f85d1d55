#include "sidecar/pubsub/scopes.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace outrigger::sidecar::pubsub {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    out.push_back(item);
  }
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

bool topicAllowed(const runtime::Properties& properties, const std::string& app_id,
                  const std::string& topic, TopicOperation operation) {
  std::string allowed_raw = properties.get("allowedTopics");
  if (!allowed_raw.empty() && !contains(split(allowed_raw, ','), topic)) return false;

  // An app named in the scopes may use only the topics listed for it ("app1=" means none).
  std::string scopes = properties.get(operation == TopicOperation::kPublish ? "publishingScopes"
                                                                            : "subscriptionScopes");
  bool app_scoped = false;
  std::vector<std::string> scoped_topics;
  for (const auto& entry : split(scopes, ';')) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || entry.substr(0, eq) != app_id) continue;
    app_scoped = true;
    for (const auto& t : split(entry.substr(eq + 1), ',')) {
      if (!t.empty()) scoped_topics.push_back(t);
    }
  }
  if (app_scoped) return contains(scoped_topics, topic);

  // Protected topics need an explicit scope.
  std::string protected_raw = properties.get("protectedTopics");
  if (!protected_raw.empty() && contains(split(protected_raw, ','), topic)) return false;
  return true;
}

}  // namespace outrigger::sidecar::pubsub
