#pragma once

// Launching real binaries from tests: a child process with its own arguments and environment,
// its output captured to a file, bounded waits for its HTTP port, and a clean or forced stop.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/http/types.h"
#include "common/status/status.h"

namespace outrigger::testing {

struct ProcessOptions {
  std::string binary;
  std::vector<std::string> args;
  // Set in the child on top of the test's own environment; unset_env is removed from it.
  std::map<std::string, std::string> env;
  std::vector<std::string> unset_env;
  // stdout and stderr both go here; empty: a new file in a temporary directory.
  std::string log_path;
};

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // A process still running when its owner goes away is killed (no strays between tests).
  ~Process();

  Status start(ProcessOptions options);
  int pid() const { return pid_; }
  // True while the child has not exited (reaps it when it has).
  bool running();
  // Waits up to timeout for the child to exit; its exit code (128 + signal when killed by one).
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  // Sends sig, waits up to grace, then SIGKILLs. The exit code as for waitExit.
  int stop(int sig = 15, std::chrono::milliseconds grace = std::chrono::seconds(15));
  // Everything the child wrote so far.
  std::string output() const;
  const std::string& logPath() const { return log_path_; }

 private:
  int pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

void writeTextFile(const std::string& path, const std::string& text);

// One HTTP/1.1 request to 127.0.0.1:port; a 599 response carries the transport error.
http::Response httpCall(uint16_t port, http::Request req,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
http::Response httpCall(uint16_t port, http::bhttp::verb verb, const std::string& target,
                        const std::string& body = "",
                        const std::string& content_type = "application/json");

// Polls GET target on port until it answers with status, or until timeout; false on timeout or
// when process (if given) exits first.
bool waitForHttp(uint16_t port, const std::string& target, unsigned status,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30),
                 Process* process = nullptr);

}  // namespace outrigger::testing
