#pragma once

// A TLS server context loaded from a certificate and key file pair, reloaded when either file
// changes. Kubernetes updates a mounted Secret by swapping a symlink, so a change shows up as a new
// inode or mtime of the path; a pair that does not load (e.g. the key not written yet) keeps the
// previous context in service and is retried at the next check.

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status/status.h"

namespace outrigger::tls {

// A server context (TLS 1.2 or later) from PEM files: the certificate file may hold a chain.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> loadServerContext(const std::string& cert_file,
                                                                       const std::string& key_file);

class ReloadingServerContext {
 public:
  // Fails when the first load fails. Files are checked for change at most once per
  // check_interval (zero: on every call to current()).
  static StatusOr<std::unique_ptr<ReloadingServerContext>> create(
      std::string cert_file, std::string key_file, std::chrono::milliseconds check_interval);

  // The context new connections should use; reloads first when the files changed. Thread-safe.
  std::shared_ptr<boost::asio::ssl::context> current();
  // Checks the files now, whatever the interval; true when a new pair was loaded.
  bool checkNow();
  // How many times a pair was loaded (1 after create()).
  uint64_t generation() const;

 private:
  struct Stamp {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  ReloadingServerContext(std::string cert_file, std::string key_file,
                         std::chrono::milliseconds check_interval);
  bool stamps(Stamp* cert, Stamp* key) const;
  bool checkLocked();

  const std::string cert_file_, key_file_;
  const std::chrono::milliseconds check_interval_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  Stamp cert_stamp_, key_stamp_;
  // The stamps of a pair that failed to load, so it is not retried (and logged) on every call.
  Stamp failed_cert_stamp_, failed_key_stamp_;
  std::chrono::steady_clock::time_point last_check_;
  uint64_t generation_ = 0;
};

}  // namespace outrigger::tls
