#pragma once

// A small leveled logger writing one line per message to stderr, as text or as JSON (daprd's
// --log-as-json). Thread-safe; cheap when the level is filtered out.

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

class LineBuilder {
 public:
  explicit LineBuilder(Level level) : level_(level) {}
  ~LineBuilder() { write(level_, stream_.str()); }
  template <typename T>
  LineBuilder& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  Level level_;
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
