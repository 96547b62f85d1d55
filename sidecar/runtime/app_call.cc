#include "sidecar/runtime/app_call.h"

#include <strings.h>

#include <chrono>
#include <cstring>
#include <future>

#include "common/logging/log.h"
#include "sidecar/resiliency/policy.h"

namespace outrigger::sidecar::runtime {

namespace {

// RFC 9110 field names are tokens.
bool validName(const std::string& name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && (c == 0 || !std::strchr("!#$%&'*+-.^_`|~", c))) return false;
  }
  return true;
}

// Field values: visible bytes, spaces, tabs and obs-text; CR, LF, NUL and other controls would
// end the line (or the head) and let an event's bytes write headers of their own.
bool validValue(const std::string& value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// Fields that frame the message or the connection are the sidecar's to set, never an event's.
bool framing(const std::string& name) {
  for (const char* f : {"content-length", "transfer-encoding", "connection", "host", "upgrade",
                        "te", "trailer", "keep-alive", "proxy-connection"}) {
    if (strcasecmp(name.c_str(), f) == 0) return true;
  }
  return false;
}

// A key as a log line may show it: control bytes escaped.
std::string printable(const std::string& s) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

void setMetadataHeaders(const std::string& who, const std::map<std::string, std::string>& metadata,
                        outrigger::http::Request& req) {
  for (const auto& [k, v] : metadata) {
    const char* why = !validName(k)    ? "not a valid header name"
                      : !validValue(v) ? "its value is not a valid header value"
                      : framing(k)     ? "it would frame the request"
                                       : nullptr;
    if (why) {
      LOG_WARN << who << ": metadata '" << printable(k) << "' not sent to the app: " << why;
      continue;
    }
    req.set(k, v);
  }
}

StatusOr<outrigger::http::Response> callAppBlocking(Context& ctx, invoke::AppChannel& app,
                                                    outrigger::http::Request req) {
  auto promise = std::make_shared<std::promise<StatusOr<outrigger::http::Response>>>();
  auto future = promise->get_future();
  app.call(std::move(req),
           [promise](StatusOr<outrigger::http::Response> r) { promise->set_value(std::move(r)); });
  auto limit = std::chrono::steady_clock::now() + app.options().timeout + std::chrono::seconds(5);
  // A resiliency timeout around this attempt shortens the wait.
  if (auto deadline = resiliency::currentDeadline(); deadline && *deadline < limit)
    limit = *deadline;
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    auto now = std::chrono::steady_clock::now();
    if (now > limit) return deadlineExceededError("the app did not answer in time");
    if (ctx.shutting_down && now > ctx.shutdownDeadline()) return unavailableError("shutting down");
  }
  return future.get();
}

}  // namespace outrigger::sidecar::runtime
