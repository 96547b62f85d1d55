#pragma once

// What service invocation may write into a request it sends on: app ids, endpoint URLs, request
// targets and header fields are checked here at the API edge, so that a client's bytes never
// become a second request line or header (CR, LF, NUL, spaces) and the client gets a clear 400.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/http/types.h"
#include "common/http/wire.h"
#include "common/status/status.h"
#include "sidecar/runtime/header_fields.h"

namespace outrigger::sidecar::invoke {

// An app id as Dapr addresses it: "app" or "app.namespace", each part letters, digits, '-' and
// '_' (DNS-label-like, as Kubernetes app ids and namespaces are).
Status checkAppId(std::string_view id);

// A non-Dapr endpoint named by URL: "http(s)://host[:port][/base]", where host is a DNS name, an
// IPv4 address or a bracketed IPv6 address, port is 1-65535 and base is a path of RFC 3986
// characters (no query, fragment or user info).
struct EndpointUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets
  uint16_t port = 0;
  std::string base;  // "" or "/..." without a trailing slash
};
StatusOr<EndpointUrl> parseEndpointUrl(std::string_view url);

// Every header of req has a valid name and value; InvalidArgument naming the first that has not.
Status checkHeaders(const outrigger::http::Request& req);

}  // namespace outrigger::sidecar::invoke
