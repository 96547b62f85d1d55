#pragma once

// What the sidecar adds to common/http's head checks (http::validHeaderName, validHeaderValue,
// validTarget) for bytes it does not own (an event's metadata, a binding's request or response
// metadata): which fields are the sidecar's alone, the caller's error for a field that cannot be
// written, and how such bytes are shown in a log line. Header-only, so components built as
// modules use it without linking the sidecar.

#include <strings.h>

#include <cstring>
#include <string>
#include <string_view>

#include "common/http/wire.h"
#include "common/status/status.h"

namespace outrigger::sidecar::runtime {

// Fields that frame the message or the connection are the sidecar's to set, never a caller's.
inline bool isFramingHeader(std::string_view name) {
  for (const char* f : {"content-length", "transfer-encoding", "connection", "host", "upgrade",
                        "te", "trailer", "keep-alive", "proxy-connection"}) {
    if (name.size() == std::strlen(f) && strncasecmp(name.data(), f, name.size()) == 0) {
      return true;
    }
  }
  return false;
}

// A request field a component would have to write into an HTTP head, and cannot: the caller's
// error, answered 400 (the API keeps its route's errorCode).
inline Status headFieldError(std::string message) {
  return invalidArgumentError(std::move(message)).withErrorCode("", 400);
}

// Bytes as a log line or an error message may show them: control bytes escaped.
inline std::string printableBytes(std::string_view s) {
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

}  // namespace outrigger::sidecar::runtime
