#pragma once

// Serves each sidecar the dapr.io resources of its namespace (Components, Subscriptions,
// Configurations, Resiliencies, HTTPEndpoints) as one stream (the protocol is in
// docs/architecture.md): the current list filtered by scopes, SYNCED, then every change, with
// PING heartbeats. Kubernetes secret references are resolved here, as Dapr's operator does.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/json/json.h"
#include "common/kube/kube_client.h"
#include "common/status/status.h"

namespace outrigger::operator_::api {

class ResourceStreams {
 public:
  explicit ResourceStreams(kube::KubeClient& client) : client_(client) {}
  ~ResourceStreams();

  // Informer callbacks for one kind ("Component", "Subscription", ...) in all namespaces.
  void onList(const std::string& kind, const json::Value& items);
  void onEvent(const std::string& kind, const std::string& type, const json::Value& object);

  // From now on a sidecar must present a service-account token (Authorization: Bearer) that a
  // TokenReview authenticates as system:serviceaccount:<the namespace it asks for>:<any>;
  // otherwise 401 (no or invalid token) or 403 (another namespace). audiences: those accepted
  // besides the API server's own (the injector's projected token is for the Sentry's).
  void requireTokens(std::vector<std::string> audiences);

  Status listen(const std::string& address, uint16_t port);
  uint16_t port() const { return port_; }
  void stop();
  size_t sessionCount();

 private:
  struct Session {
    std::string namespace_name;
    std::string app_id;
    std::deque<std::string> lines;
    bool overflowed = false;
    std::condition_variable cv;
  };
  void acceptLoop();
  void serve(int fd);
  void publish(const std::string& namespace_name, const std::string& line);
  std::string resolved(const std::string& kind, const json::Value& object,
                       bool with_secrets = true);
  // 0 when the request may stream namespace_name, else the HTTP status to answer, with why.
  int authorize(const std::string& request, const std::string& namespace_name, std::string* why);

  kube::KubeClient& client_;
  std::mutex mutex_;
  // namespace -> "Kind/name" -> resolved object JSON
  std::map<std::string, std::map<std::string, std::string>> cache_;
  std::set<Session*> sessions_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::atomic<int> active_{0};  // serving threads (detached)
  bool require_tokens_ = false;
  std::vector<std::string> audiences_;
  std::mutex reviewed_mutex_;
  // token -> (username, until when that answer is reused)
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> reviewed_;
};

// True when the resource's scopes are empty or name app_id.
bool scopedTo(const json::Value& resource, const std::string& app_id);

// The kinds streamed, with the collection each is listed and watched from.
struct StreamedKind {
  const char* kind;
  const char* path;
};
const std::vector<StreamedKind>& streamedKinds();

}  // namespace outrigger::operator_::api
