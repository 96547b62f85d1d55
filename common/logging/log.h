#pragma once

// A small leveled logger writing one line per message to stderr, as text or as JSON (daprd's
// --log-as-json). Thread-safe; cheap when the level is filtered out.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace outrigger::logging {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kFatal = 4 };

// Parses "debug", "info", "warn", "error", "fatal"; false on anything else.
bool parseLevel(std::string_view text, Level* level);
void setLevel(Level level);
void setJson(bool json);
void setScope(std::string scope);  // e.g. "outriggerd"; shown in every line
void setAppId(std::string app_id);
bool enabled(Level level);
void write(Level level, std::string_view message);

// Lets the first occurrence through, then at most one per interval, counting the rest: a peer
// that makes every connection fail must not turn the log into the bottleneck (or fill the disk).
// Lock-free; one per call site (see LOG_WARN_EVERY).
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(Clock::duration interval) : interval_(interval) {}

  // True when this occurrence is to be logged; *suppressed then tells how many were dropped
  // since the last one logged.
  bool allow(uint64_t* suppressed) { return allow(Clock::now(), suppressed); }
  bool allow(Clock::time_point now, uint64_t* suppressed);

 private:
  const Clock::duration interval_;
  std::atomic<int64_t> next_{INT64_MIN};  // Clock ticks from which the next line may pass
  std::atomic<uint64_t> suppressed_{0};
};

class LineBuilder {
 public:
  explicit LineBuilder(Level level, uint64_t suppressed = 0)
      : level_(level), suppressed_(suppressed) {}
  ~LineBuilder() {
    if (suppressed_ > 0) stream_ << " (suppressed " << suppressed_ << " similar)";
    write(level_, stream_.str());
  }
  template <typename T>
  LineBuilder& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  Level level_;
  uint64_t suppressed_;
  std::ostringstream stream_;
};

}  // namespace outrigger::logging

#define OUTRIGGER_LOG(level)                                                \
  if (!::outrigger::logging::enabled(::outrigger::logging::Level::level)) { \
  } else                                                                    \
    ::outrigger::logging::LineBuilder(::outrigger::logging::Level::level)

#define LOG_DEBUG OUTRIGGER_LOG(kDebug)
#define LOG_INFO OUTRIGGER_LOG(kInfo)
#define LOG_WARN OUTRIGGER_LOG(kWarn)
#define LOG_ERROR OUTRIGGER_LOG(kError)

// This call site's own limiter (a lambda's static: one per macro expansion).
#define OUTRIGGER_LOG_LIMITER(every_s)                                               \
  ([]() -> ::outrigger::logging::RateLimiter& {                                      \
    static ::outrigger::logging::RateLimiter limiter{std::chrono::seconds(every_s)}; \
    return limiter;                                                                  \
  }())

// A rate-limited line, one limiter per call site: the first passes, then at most one every
// `every_s` seconds (a constant), which tells how many were suppressed meanwhile.
#define OUTRIGGER_LOG_EVERY(level, every_s)                                 \
  if (uint64_t outrigger_suppressed = 0;                                    \
      !::outrigger::logging::enabled(::outrigger::logging::Level::level) || \
      !OUTRIGGER_LOG_LIMITER(every_s).allow(&outrigger_suppressed)) {       \
  } else                                                                    \
    ::outrigger::logging::LineBuilder(::outrigger::logging::Level::level, outrigger_suppressed)

#define LOG_INFO_EVERY(seconds) OUTRIGGER_LOG_EVERY(kInfo, seconds)
#define LOG_WARN_EVERY(seconds) OUTRIGGER_LOG_EVERY(kWarn, seconds)
#define LOG_ERROR_EVERY(seconds) OUTRIGGER_LOG_EVERY(kError, seconds)
