#pragma once

// Resiliency policies (contract §5.4): timeouts, retries (constant or exponential) and circuit
// breakers, applied around one operation.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace outrigger::sidecar::resiliency {

struct RetrySpec {
  bool exponential = false;
  int64_t duration_ms = 5000;                           // constant interval
  int64_t max_interval_ms = 60000;                      // exponential cap
  int64_t max_retries = -1;                             // -1: unlimited
  std::vector<std::pair<int, int>> http_status_ranges;  // matching.httpStatusCodes; empty: all
  // Dapr's built-in service retries: only a call that could not reach the other sidecar
  // (unavailable) is sent again; any answer, error or not, is final.
  bool unreachable_only = false;
  // The wait before retry number `attempt` (1-based).
  std::chrono::milliseconds backoff(int attempt) const;
};

// "consecutiveFailures > 5" and friends: <variable> <op> <integer>, joined by && or ||.
class TripExpression {
 public:
  static StatusOr<TripExpression> parse(const std::string& text);
  struct Counts {
    int64_t requests = 0, total_successes = 0, total_failures = 0;
    int64_t consecutive_successes = 0, consecutive_failures = 0;
  };
  bool evaluate(const Counts& counts) const;

 private:
  struct Term {
    std::string variable, op;
    int64_t value = 0;
  };
  std::vector<Term> terms_;
  std::vector<std::string> joins_;  // "&&" or "||" between terms
};

class CircuitBreaker {
 public:
  CircuitBreaker(int max_requests, int64_t interval_ms, int64_t timeout_ms, TripExpression trip);
  // False while open (the call must fail fast).
  bool allow();
  void record(bool success);
  std::string state() const;

 private:
  enum class State { kClosed, kOpen, kHalfOpen };
  void toState(State s);
  mutable std::mutex mutex_;
  State state_ = State::kClosed;
  int max_requests_;
  int64_t interval_ms_, timeout_ms_;
  TripExpression trip_;
  TripExpression::Counts counts_;
  int half_open_in_flight_ = 0;
  std::chrono::steady_clock::time_point changed_at_ = std::chrono::steady_clock::now();
};

struct Policy {
  std::optional<int64_t> timeout_ms;
  std::optional<RetrySpec> retry;
  std::shared_ptr<CircuitBreaker> breaker;

  bool empty() const { return !timeout_ms && !retry && !breaker; }
  // Runs attempt under the policy on the calling thread (which may sleep between retries).
  // Errors that retrying cannot fix (invalid argument, etag mismatch, not found, permission)
  // are returned at once.
  Status run(const std::function<Status()>& attempt) const;
};

// The deadline a running policy set for the current thread's attempt, if any: blocking calls
// into the app honour it.
std::optional<std::chrono::steady_clock::time_point> currentDeadline();

}  // namespace outrigger::sidecar::resiliency
