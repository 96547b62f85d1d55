#pragma once

// Checks every building block applies to the names, keys and metadata a caller sends, before a
// component sees them. A NUL byte is refused everywhere: components hand these strings to C
// interfaces (getenv, libpq, file names) where NUL ends the string, so the name a scope or prefix
// check saw would not be the one looked up.

#include <map>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace outrigger::sidecar::api::universal {

inline bool holdsNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// InvalidArgument with the route's Dapr errorCode and HTTP status when `value` holds a NUL.
inline Status checkNoNul(std::string_view what, std::string_view value,
                         const std::string& error_code, int http_status = 400) {
  if (!holdsNul(value)) return okStatus();
  return invalidArgumentError(std::string(what) + " must not contain a NUL byte")
      .withErrorCode(error_code, http_status);
}

// The same for each key and value of request metadata.
inline Status checkMetadataNoNul(const std::map<std::string, std::string>& metadata,
                                 const std::string& error_code, int http_status = 400) {
  for (const auto& [k, v] : metadata) {
    if (holdsNul(k)) {
      return invalidArgumentError("metadata keys must not contain a NUL byte")
          .withErrorCode(error_code, http_status);
    }
    if (holdsNul(v)) {
      return invalidArgumentError("metadata " + k + " must not contain a NUL byte")
          .withErrorCode(error_code, http_status);
    }
  }
  return okStatus();
}

}  // namespace outrigger::sidecar::api::universal
