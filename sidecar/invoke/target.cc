#include "sidecar/invoke/target.h"

#include <cstring>

namespace outrigger::sidecar::invoke {

namespace {

bool isAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isHex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// One part of an app id: "orders", "my_app-2".
bool validIdPart(std::string_view part) {
  if (part.empty()) return false;
  for (unsigned char c : part) {
    if (!isAlnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

// A DNS name or an IPv4 address: labels of letters, digits and '-', separated by single dots.
bool validHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (unsigned char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (isAlnum(c) || c == '-') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0 || host.size() > 1;  // a trailing dot (fully qualified) is fine
}

bool validIpv6(std::string_view host) {
  if (host.size() < 2) return false;
  for (unsigned char c : host) {
    if (!isHex(c) && c != ':' && c != '.') return false;
  }
  return true;
}

// RFC 3986 path characters: unreserved, sub-delims, ':', '@', '/' and %XX escapes.
bool validPath(std::string_view path) {
  for (size_t i = 0; i < path.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c == '%') {
      if (i + 2 >= path.size() || !isHex(path[i + 1]) || !isHex(path[i + 2])) return false;
      i += 2;
      continue;
    }
    if (!isAlnum(c) && !std::strchr("-._~!$&'()*+,;=:@/", c)) return false;
  }
  return true;
}

Status badUrl(std::string_view url, const std::string& why) {
  return invalidArgumentError("invalid endpoint URL '" + runtime::printableBytes(url) +
                              "': " + why);
}

}  // namespace

Status checkAppId(std::string_view id) {
  size_t dot = id.find('.');
  bool valid = id.size() <= 255 && validIdPart(id.substr(0, dot)) &&
               (dot == std::string_view::npos || validIdPart(id.substr(dot + 1)));
  if (valid) return okStatus();
  return invalidArgumentError("invalid app id '" + runtime::printableBytes(id) +
                              "': expected <app-id> or <app-id>.<namespace> of letters, digits, "
                              "'-' and '_', or an http(s):// URL");
}

StatusOr<EndpointUrl> parseEndpointUrl(std::string_view url) {
  EndpointUrl out;
  std::string_view rest;
  for (const char* scheme : {"http", "https"}) {
    std::string prefix = std::string(scheme) + "://";
    if (url.size() > prefix.size() && url.substr(0, prefix.size()) == prefix) {
      out.scheme = scheme;
      rest = url.substr(prefix.size());
    }
  }
  if (out.scheme.empty()) return badUrl(url, "expected http:// or https://");
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view base = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (!validPath(base)) return badUrl(url, "the path holds characters a URL path cannot");
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  out.base = std::string(base);

  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return badUrl(url, "unclosed '['");
    host = authority.substr(1, close - 1);
    if (!validIpv6(host)) return badUrl(url, "not an IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return badUrl(url, "expected ':' after ']'");
    if (!after.empty()) port = after.substr(1);
    if (after.size() == 1) return badUrl(url, "empty port");
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (!validHostName(host)) return badUrl(url, "not a host name or address");
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return badUrl(url, "empty port");
    }
  }
  out.host = std::string(host);
  out.port = out.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    unsigned long p = 0;
    for (unsigned char c : port) {
      if (c < '0' || c > '9' || port.size() > 5) return badUrl(url, "the port is not a number");
      p = p * 10 + (c - '0');
    }
    if (p == 0 || p > 65535) return badUrl(url, "the port is not in 1-65535");
    out.port = static_cast<uint16_t>(p);
  }
  return out;
}

Status checkHeaders(const outrigger::http::Request& req) {
  for (const auto& field : req) {
    if (!outrigger::http::validHeaderName(field.name_string())) {
      return invalidArgumentError("invalid header name '" +
                                  runtime::printableBytes(std::string_view(field.name_string())) +
                                  "'");
    }
    if (!outrigger::http::validHeaderValue(field.value())) {
      return invalidArgumentError("header " + std::string(field.name_string()) +
                                  " holds control characters");
    }
  }
  return okStatus();
}

}  // namespace outrigger::sidecar::invoke
