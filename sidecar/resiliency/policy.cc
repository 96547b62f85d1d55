#include "sidecar/resiliency/policy.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <thread>

#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::resiliency {

namespace {

thread_local std::optional<std::chrono::steady_clock::time_point> t_deadline;

bool permanent(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kAborted:
    case StatusCode::kNotFound:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnimplemented: return true;
    default: return false;
  }
}

}  // namespace

std::optional<std::chrono::steady_clock::time_point> currentDeadline() { return t_deadline; }

std::chrono::milliseconds RetrySpec::backoff(int attempt) const {
  if (!exponential) return std::chrono::milliseconds(duration_ms);
  // Initial 500 ms, multiplier 1.5, +-50 % jitter, capped: the usual backoff defaults.
  double base = 500.0 * std::pow(1.5, attempt - 1);
  thread_local std::mt19937 rng{std::random_device{}()};
  double jittered = std::uniform_real_distribution<double>(base * 0.5, base * 1.5)(rng);
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::min<double>(jittered, static_cast<double>(max_interval_ms))));
}

StatusOr<TripExpression> TripExpression::parse(const std::string& text) {
  TripExpression e;
  std::stringstream ss(text);
  std::vector<std::string> tokens;
  for (std::string t; ss >> t;) tokens.push_back(t);
  static const std::vector<std::string> vars = {"requests", "totalSuccesses", "totalFailures",
                                                "consecutiveSuccesses", "consecutiveFailures"};
  static const std::vector<std::string> ops = {">", ">=", "<", "<=", "==", "!="};
  size_t i = 0;
  while (true) {
    if (i + 3 > tokens.size()) break;
    Term term{tokens[i], tokens[i + 1], 0};
    if (std::find(vars.begin(), vars.end(), term.variable) == vars.end() ||
        std::find(ops.begin(), ops.end(), term.op) == ops.end() ||
        !runtime::parseInt(tokens[i + 2], &term.value)) {
      break;
    }
    e.terms_.push_back(term);
    i += 3;
    if (i == tokens.size()) return e;
    if (tokens[i] != "&&" && tokens[i] != "||") break;
    e.joins_.push_back(tokens[i]);
    ++i;
  }
  return invalidArgumentError("unsupported trip expression '" + text +
                              "' (supported: <counter> <op> <integer> joined by && or ||, with "
                              "counters requests, totalSuccesses, totalFailures, "
                              "consecutiveSuccesses, consecutiveFailures)");
}

bool TripExpression::evaluate(const Counts& c) const {
  auto value = [&](const std::string& v) {
    if (v == "requests") return c.requests;
    if (v == "totalSuccesses") return c.total_successes;
    if (v == "totalFailures") return c.total_failures;
    if (v == "consecutiveSuccesses") return c.consecutive_successes;
    return c.consecutive_failures;
  };
  auto check = [&](const Term& t) {
    int64_t v = value(t.variable);
    if (t.op == ">") return v > t.value;
    if (t.op == ">=") return v >= t.value;
    if (t.op == "<") return v < t.value;
    if (t.op == "<=") return v <= t.value;
    if (t.op == "==") return v == t.value;
    return v != t.value;
  };
  if (terms_.empty()) return false;
  bool result = check(terms_[0]);
  for (size_t i = 1; i < terms_.size(); ++i) {
    result = joins_[i - 1] == "&&" ? (result && check(terms_[i])) : (result || check(terms_[i]));
  }
  return result;
}

CircuitBreaker::CircuitBreaker(int max_requests, int64_t interval_ms, int64_t timeout_ms,
                               TripExpression trip)
    : max_requests_(std::max(1, max_requests)),
      interval_ms_(interval_ms),
      timeout_ms_(timeout_ms),
      trip_(std::move(trip)) {}

void CircuitBreaker::toState(State s) {
  state_ = s;
  counts_ = {};
  half_open_in_flight_ = 0;
  changed_at_ = std::chrono::steady_clock::now();
}

bool CircuitBreaker::allow() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (state_ == State::kClosed && interval_ms_ > 0 &&
      now - changed_at_ > std::chrono::milliseconds(interval_ms_)) {
    counts_ = {};
    changed_at_ = now;
  }
  if (state_ == State::kOpen) {
    if (now - changed_at_ < std::chrono::milliseconds(timeout_ms_)) return false;
    toState(State::kHalfOpen);
  }
  if (state_ == State::kHalfOpen) {
    if (half_open_in_flight_ >= max_requests_) return false;
    half_open_in_flight_++;
  }
  counts_.requests++;
  return true;
}

void CircuitBreaker::record(bool success) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (success) {
    counts_.total_successes++;
    counts_.consecutive_successes++;
    counts_.consecutive_failures = 0;
    if (state_ == State::kHalfOpen && counts_.consecutive_successes >= max_requests_) {
      toState(State::kClosed);
    }
  } else {
    counts_.total_failures++;
    counts_.consecutive_failures++;
    counts_.consecutive_successes = 0;
    if (state_ == State::kHalfOpen || trip_.evaluate(counts_)) toState(State::kOpen);
  }
}

std::string CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == State::kClosed ? "closed" : state_ == State::kOpen ? "open" : "half-open";
}

Status Policy::run(const std::function<Status()>& attempt) const {
  for (int tries = 0;; ++tries) {
    Status st;
    if (breaker && !breaker->allow()) {
      st = unavailableError("circuit breaker is open");
    } else {
      auto saved = t_deadline;
      if (timeout_ms)
        t_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*timeout_ms);
      auto started = std::chrono::steady_clock::now();
      st = attempt();
      t_deadline = saved;
      if (st.ok() && timeout_ms &&
          std::chrono::steady_clock::now() - started > std::chrono::milliseconds(*timeout_ms)) {
        st = deadlineExceededError("timed out after " + std::to_string(*timeout_ms) + " ms");
      }
      if (breaker) breaker->record(st.ok());
    }
    if (st.ok() || permanent(st)) return st;
    if (!retry || (retry->max_retries >= 0 && tries >= retry->max_retries)) return st;
    std::this_thread::sleep_for(retry->backoff(tries + 1));
  }
}

}  // namespace outrigger::sidecar::resiliency
