#pragma once

// For every Deployment and StatefulSet whose pod template has dapr.io/enabled: the headless
// Service <app-id>-dapr (http 80->3500, grpc 50001, internal 50002, metrics 9090), owned by the
// workload so the garbage collector removes it with it; removed here too when the workload goes.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "common/json/json.h"
#include "common/kube/kube_client.h"

namespace outrigger::operator_::handlers {

class ServiceReconciler {
 public:
  ServiceReconciler(kube::KubeClient& client, std::function<bool()> is_leader)
      : client_(client), is_leader_(std::move(is_leader)) {}

  // Informer callbacks; kind is "Deployment" or "StatefulSet".
  void onList(const std::string& kind, const json::Value& items);
  void onEvent(const std::string& kind, const std::string& type, const json::Value& object);
  // Reconciles every workload seen so far: on becoming leader, and periodically, so nothing
  // that happened while another replica led (or while a call failed) is left behind. With
  // collect (only once every informer has listed), Services of vanished workloads go too.
  void resync(bool collect);

  std::atomic<int> created{0}, updated{0}, deleted{0};

 private:
  void reconcile(const std::string& kind, const json::Value& workload);
  void removeFor(const json::Value& workload);
  kube::KubeClient& client_;
  std::function<bool()> is_leader_;
  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, std::string>> workloads_;  // key -> (kind, JSON)
};

// The Service for a workload, or "" when it needs none (not enabled, or no valid app id).
std::string desiredService(const std::string& kind, const json::Value& workload);
bool validAppId(const std::string& id);

}  // namespace outrigger::operator_::handlers
