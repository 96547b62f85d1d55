#pragma once

// What may be written into an HTTP head from bytes the sidecar does not own (an event's metadata,
// a binding's request or response metadata, a store's etag): the one predicate for each, shared
// by pub/sub and input-binding delivery, the API's responses and the components that send
// requests. Header-only, so components built as modules use it without linking the sidecar.
// (common/http is getting the same checks for every outgoing head; these can then defer to them.)

#include <strings.h>

#include <cstring>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace outrigger::sidecar::runtime {

// RFC 9110 field names are tokens.
inline bool isHeaderFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && (c == 0 || !std::strchr("!#$%&'*+-.^_`|~", c))) return false;
  }
  return true;
}

// Field values: visible bytes, spaces, tabs and obs-text; CR, LF, NUL and other controls would
// end the line (or the head) and let the bytes write headers of their own.
inline bool isHeaderFieldValue(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// A request target's path and query: no spaces and no control bytes, which would end the request
// line early and let the rest read as a second request.
inline bool isRequestTargetText(std::string_view target) {
  for (unsigned char c : target) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

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
