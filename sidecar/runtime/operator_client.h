#pragma once

// Kubernetes mode: components streamed from outrigger-operator (--control-plane-address) and
// applied as they change (hot reload). The protocol is ours, documented in docs/architecture.md:
//   GET /v1/namespaces/{ns}/components/stream?appId={id}
//   -> 200, chunked application/x-ndjson, one event per line:
//      {"type":"ADDED"|"MODIFIED"|"DELETED","object":{...Component...}}, {"type":"SYNCED"} after
//      the initial list, {"type":"PING"} as a heartbeat.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/status/status.h"
#include "sidecar/runtime/processor.h"

namespace outrigger::sidecar::runtime {

struct OperatorClientOptions {
  std::string address;  // host:port
  std::string namespace_name = "default";
  std::string app_id;
  int64_t heartbeat_timeout_ms = 30000;
  int64_t max_backoff_ms = 5000;
};

class OperatorClient {
 public:
  OperatorClient(OperatorClientOptions options, Processor& processor);
  ~OperatorClient();

  // Connects in the background; returns at once.
  void start();
  // Waits until the first full list was applied (or the timeout passed).
  bool waitSynced(std::chrono::milliseconds timeout);
  void stop();

  // Applies one event line (exposed for tests).
  void applyLine(const std::string& line);

 private:
  void run();
  Status streamOnce();
  void onSynced();

  OperatorClientOptions options_;
  Processor& processor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::function<void()> cancel_;  // shuts the current connection, under mutex_
  std::mutex mutex_;
  std::condition_variable cv_;
  bool synced_ = false;
  std::set<std::string> seen_in_list_;          // names sent since the (re)connect, before SYNCED
  std::set<std::string> loaded_;                // names this client applied
  std::map<std::string, std::string> applied_;  // name -> last applied object text
  bool listing_ = true;
  bool connected_once_ = false;
};

}  // namespace outrigger::sidecar::runtime
