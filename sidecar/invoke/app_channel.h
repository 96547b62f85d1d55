#pragma once

// Calls into the app over HTTP: keep-alive pool, per-call timeout, the APP_API_TOKEN header, and
// --app-max-concurrency with a bounded wait queue.

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/http/client.h"

namespace outrigger::sidecar::invoke {

struct AppChannelOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int max_concurrency = -1;  // -1: unlimited
  size_t max_waiting = 10000;
  std::string app_token;  // sent as dapr-api-token when set
  std::chrono::milliseconds timeout{60000};
};

class AppChannel {
 public:
  AppChannel(std::shared_ptr<outrigger::http::ClientPool> pool, AppChannelOptions options);
  // Sends req (its target is the app path) to the app.
  void call(outrigger::http::Request req, outrigger::http::ResponseCallback done);
  const AppChannelOptions& options() const { return options_; }

 private:
  void start(outrigger::http::Request req, outrigger::http::ResponseCallback done);
  void finished();
  std::shared_ptr<outrigger::http::ClientPool> pool_;
  AppChannelOptions options_;
  std::mutex mutex_;
  int in_flight_ = 0;
  std::deque<std::pair<outrigger::http::Request, outrigger::http::ResponseCallback>> waiting_;
};

}  // namespace outrigger::sidecar::invoke
