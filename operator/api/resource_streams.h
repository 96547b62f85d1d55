#pragma once

// Serves each sidecar the Components of its namespace as a stream (the protocol is in
// docs/architecture.md): the current list filtered by scopes, SYNCED, then every change, with
// PING heartbeats. Kubernetes secret references are resolved here, as Dapr's operator does.

#include <atomic>
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

class ComponentStreams {
 public:
  explicit ComponentStreams(kube::KubeClient& client) : client_(client) {}
  ~ComponentStreams();

  // Informer callbacks for dapr.io/v1alpha1 components in all namespaces.
  void onList(const json::Value& items);
  void onEvent(const std::string& type, const json::Value& object);

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
  std::string resolved(const json::Value& object);

  kube::KubeClient& client_;
  std::mutex mutex_;
  // namespace -> name -> resolved component JSON
  std::map<std::string, std::map<std::string, std::string>> cache_;
  std::set<Session*> sessions_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::atomic<int> active_{0};  // serving threads (detached)
};

// True when the component's scopes are empty or name app_id.
bool scopedTo(const json::Value& component, const std::string& app_id);

}  // namespace outrigger::operator_::api
