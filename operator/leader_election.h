#pragma once

// Leader election through a coordination.k8s.io/v1 Lease, so several operator replicas can run:
// the holder renews it every retry period; the others take it over once they have seen it
// unchanged for its duration (measured on their own clock from when they saw it change, as
// client-go does, so clock skew between replicas does not matter). Updates carry the
// resourceVersion they read, so two replicas cannot both win. acquireTime stays the time the
// holder acquired the Lease; renewTime moves on every renewal; leaseTransitions counts changes of
// holder. A leader that cannot renew for the renew deadline steps down; one that stops releases
// the Lease so another replica takes over at once.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/kube/kube_client.h"

namespace outrigger::operator_ {

struct LeaderElectionOptions {
  std::string namespace_name = "default";
  std::string lease_name = "outrigger-operator";
  std::string identity;
  int lease_seconds = 15;
  int renew_deadline_ms = 10000;
  int retry_period_ms = 2000;
};

class LeaderElection {
 public:
  LeaderElection(kube::KubeClient& client, LeaderElectionOptions options)
      : client_(client), options_(std::move(options)) {}
  ~LeaderElection() { stop(); }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Stops electing and, when leading, releases the Lease (holderIdentity cleared).
  void stop();
  bool isLeader() const { return leader_; }
  // One acquire-or-renew round (exposed for tests).
  void tryOnce();

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  void release();
  std::string path() const;
  kube::KubeClient& client_;
  LeaderElectionOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
  // Touched by the election thread only (or after it ended).
  std::string observed_version_;   // resourceVersion of the Lease last seen
  Clock::time_point observed_at_;  // when it was first seen at that version
  Clock::time_point renewed_at_;   // our last successful acquire or renewal
};

}  // namespace outrigger::operator_
