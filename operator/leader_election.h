#pragma once

// Leader election through a coordination.k8s.io/v1 Lease, so several operator replicas can run:
// the holder renews it; the others take it over once it has not been renewed for its duration.
// Updates carry the resourceVersion they read, so two replicas cannot both win.

#include <atomic>
#include <string>
#include <thread>

#include "common/kube/kube_client.h"

namespace outrigger::operator_ {

struct LeaderElectionOptions {
  std::string namespace_name = "default";
  std::string lease_name = "outrigger-operator";
  std::string identity;
  int lease_seconds = 15;
  int renew_every_ms = 2000;
};

class LeaderElection {
 public:
  LeaderElection(kube::KubeClient& client, LeaderElectionOptions options)
      : client_(client), options_(std::move(options)) {}
  ~LeaderElection() { stop(); }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop();
  bool isLeader() const { return leader_; }
  // One acquire-or-renew round (exposed for tests).
  void tryOnce();

 private:
  void run();
  kube::KubeClient& client_;
  LeaderElectionOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
};

}  // namespace outrigger::operator_
