#pragma once

// The at-least-once scenario every broker goes through (issue #3 §6): numbered events published
// through the real sidecar's HTTP API (a 204 is an acknowledgement), an app that refuses
// deliveries for a while (500 and {"status":"RETRY"}), the sidecar killed with SIGKILL
// mid-stream and started again, and the broker restarted mid-stream. Every acknowledged number
// must reach the app; duplicates are allowed. Every wait is bounded.

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace outrigger::testing {

struct DurabilityCase {
  std::string type;  // of the component named "pubsub", e.g. "pubsub.redis"
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string topic = "orders";
  // Restarts the broker; "" or why it failed. Called while the app refuses deliveries, so that
  // acknowledged messages wait at the broker.
  std::function<std::string()> restart_broker;
  int per_phase = 10;  // events published in each of the three phases
};

// Runs the scenario with gtest assertions (ADD_FAILURE / EXPECT).
void expectNothingAcknowledgedIsLost(const DurabilityCase& c);

}  // namespace outrigger::testing
