#pragma once

// Self-hosted name resolution without a server: each sidecar writes a small file naming its
// app id and internal address into a shared directory, and removes it on exit. Entries of
// processes that died are skipped and cleaned up.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace outrigger::sidecar::invoke {

struct Address {
  std::string host;
  uint16_t port = 0;
};

class NameResolver {
 public:
  // dir: $OUTRIGGER_NAMERESOLUTION_DIR, else ~/.outrigger/nameresolution.
  static std::string defaultDirectory();
  explicit NameResolver(std::string dir) : dir_(std::move(dir)) {}

  Status registerSelf(const std::string& app_id, const Address& internal, int http_port);
  void unregisterSelf();
  // One of the live sidecars of app_id, round-robin; NotFound when none is registered.
  StatusOr<Address> resolve(const std::string& app_id);
  // Drops what is cached for app_id, so the next resolve reads the directory again.
  void forget(const std::string& app_id);

 private:
  std::string dir_;
  std::string own_file_;
  std::mutex mutex_;
  struct Cached {
    std::vector<Address> addresses;
    std::chrono::steady_clock::time_point at;
    size_t next = 0;
  };
  std::map<std::string, Cached> cache_;
};

}  // namespace outrigger::sidecar::invoke
