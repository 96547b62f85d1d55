#pragma once

// List then watch one resource collection, forever: resumes from the last resourceVersion seen
// (bookmarks included), relists on 410 Gone, and reconnects with backoff after any failure, so a
// restarted API server or a dropped watch loses no update.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "common/json/json.h"
#include "common/kube/kube_client.h"

namespace outrigger::operator_ {

class Informer {
 public:
  struct Handlers {
    // The full current list (after a (re)list): the receiver replaces its view with it.
    std::function<void(const json::Value& items)> on_list;
    // ADDED, MODIFIED or DELETED.
    std::function<void(const std::string& type, const json::Value& object)> on_event;
  };

  Informer(kube::KubeClient& client, std::string path, Handlers handlers)
      : client_(client), path_(std::move(path)), handlers_(std::move(handlers)) {}
  ~Informer() { stop(); }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop();
  bool synced() const { return synced_; }
  const std::string& path() const { return path_; }
  // Lists after a 410 Gone (the watch's resourceVersion was compacted away).
  uint64_t relists() const { return relists_; }

 private:
  void run();
  kube::KubeClient& client_;
  std::string path_;
  Handlers handlers_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> relists_{0};
};

}  // namespace outrigger::operator_
