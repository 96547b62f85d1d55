#include "common/logging/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace outrigger::logging {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};
std::mutex g_mutex;
std::string g_scope = "outrigger";
std::string g_app_id;

const char* levelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
    case Level::kFatal: return "fatal";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

bool parseLevel(std::string_view text, Level* level) {
  if (text == "debug")
    *level = Level::kDebug;
  else if (text == "info")
    *level = Level::kInfo;
  else if (text == "warn" || text == "warning")
    *level = Level::kWarn;
  else if (text == "error")
    *level = Level::kError;
  else if (text == "fatal")
    *level = Level::kFatal;
  else
    return false;
  return true;
}

void setLevel(Level level) { g_level = static_cast<int>(level); }
void setJson(bool json) { g_json = json; }
void setScope(std::string scope) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_scope = std::move(scope);
}
void setAppId(std::string app_id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_app_id = std::move(app_id);
}
bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

bool RateLimiter::allow(Clock::time_point now, uint64_t* suppressed) {
  int64_t ticks = now.time_since_epoch().count();
  int64_t next = next_.load(std::memory_order_relaxed);
  // Of the callers that find the interval over, the one that moves next_ on logs.
  if (ticks < next || !next_.compare_exchange_strong(next, ticks + interval_.count())) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  *suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
  return true;
}

void write(Level level, std::string_view message) {
  std::string line;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_json) {
    line = "{\"time\":\"" + timestamp() + "\",\"level\":\"" + levelName(level) + "\",\"msg\":";
    appendJsonString(line, message);
    line += ",\"scope\":";
    appendJsonString(line, g_scope);
    if (!g_app_id.empty()) {
      line += ",\"app_id\":";
      appendJsonString(line, g_app_id);
    }
    line += ",\"type\":\"log\"}\n";
  } else {
    line = "time=\"" + timestamp() + "\" level=" + levelName(level) + " msg=";
    appendJsonString(line, message);
    line += " scope=" + g_scope;
    if (!g_app_id.empty()) line += " app_id=" + g_app_id;
    line += "\n";
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace outrigger::logging
