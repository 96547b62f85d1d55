#pragma once

// Kubernetes mode: the dapr.io resources of the namespace streamed from outrigger-operator
// (--control-plane-address) and reported as they change (hot reload). The protocol is ours,
// documented in docs/architecture.md:
//   GET /v1/namespaces/{ns}/resources/stream?appId={id}
//   -> 200, chunked application/x-ndjson, one event per line:
//      {"type":"ADDED"|"MODIFIED"|"DELETED","object":{...Component, Subscription, ...}},
//      {"type":"SYNCED"} after the initial list, {"type":"PING"} as a heartbeat.
//   The request carries the pod's service-account token (Authorization: Bearer), which the
//   operator checks with a TokenReview against the namespace asked for (401, 403).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/status/status.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar::runtime {

struct OperatorClientOptions {
  std::string address;  // host:port
  std::string namespace_name = "default";
  std::string app_id;
  int64_t heartbeat_timeout_ms = 30000;
  int64_t max_backoff_ms = 5000;
  // The service-account token sent as "Authorization: Bearer" (re-read on every connection, as
  // projected tokens rotate). Empty: $OUTRIGGER_OPERATOR_TOKEN_FILE, else the first of
  // kDefaultTokenFiles that exists; none found: no Authorization header.
  std::string token_file;
};

// The projected token the injector mounts (audience: the Sentry's), then the pod's own.
inline constexpr const char* kDefaultTokenFiles[] = {
    "/var/run/secrets/dapr.io/sentrytoken/token",
    "/var/run/secrets/kubernetes.io/serviceaccount/token"};

// The token to send, per OperatorClientOptions::token_file; empty when there is none.
std::string readOperatorToken(const std::string& token_file);

// Receives changes once attached; called on the client's thread, one change at a time.
class ResourceListener {
 public:
  virtual ~ResourceListener() = default;
  // A Component added or changed.
  virtual void componentChanged(const ComponentSpec& spec) = 0;
  virtual void componentDeleted(const std::string& name) = 0;
  // A Component the runtime cannot read (the old instance, if any, keeps serving).
  virtual void componentInvalid(const std::string& name, const Status& error) = 0;
  // Any other kind; `deleted` carries the last known object.
  virtual void resourceChanged(const Resource& resource, bool deleted) = 0;
};

class OperatorClient {
 public:
  explicit OperatorClient(OperatorClientOptions options);
  ~OperatorClient();

  // Connects in the background; returns at once.
  void start();
  // Waits until the first full list arrived (or the timeout passed).
  bool waitSynced(std::chrono::milliseconds timeout);
  // The resources held now (as a resources directory would give them); every later change goes
  // to the listener, which must outlive the client or be detached by stop().
  Resources attach(ResourceListener* listener);
  void stop();

  // Applies one event line (exposed for tests).
  void applyLine(const std::string& line);

 private:
  struct Held {
    std::string text;  // the object as received, to skip relists of unchanged objects
    Resource resource;
  };
  void run();
  Status streamOnce();
  void onSynced();
  void forget(const std::string& key);  // under state_mutex_

  OperatorClientOptions options_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::function<void()> cancel_;  // shuts the current connection, under mutex_
  std::mutex mutex_;              // connection, synced_
  std::condition_variable cv_;
  bool synced_ = false;
  bool connected_once_ = false;

  std::mutex state_mutex_;  // everything below
  ResourceListener* listener_ = nullptr;
  std::map<std::string, Held> held_;    // "Kind/name" -> object
  std::set<std::string> seen_in_list_;  // keys sent since the (re)connect, before SYNCED
  bool listing_ = true;
};

}  // namespace outrigger::sidecar::runtime
