#pragma once

// Matches request paths against route templates such as "/v1.0/state/{storeName}/{key}" or
// "/v1.0/invoke/{id}/method/*", following Dapr's router rules: the path is cleaned first, and a
// trailing slash is dropped only when the path with it matches nothing.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/types.h"

namespace outrigger::http {

struct RouteParams {
  std::vector<std::pair<std::string, std::string>> values;
  std::string rest;  // what "*" matched, without a leading slash
  std::string_view get(std::string_view name) const;
};

using RouteHandler = std::function<void(Request&&, RouteParams&&, Responder)>;

struct Route {
  std::vector<bhttp::verb> methods;  // empty: any method
  std::string pattern;
  std::string name;  // route template; labels metrics so their cardinality stays bounded
  RouteHandler handler;
  std::vector<std::string> segments;  // pattern split on '/'
};

class Router {
 public:
  void add(std::vector<bhttp::verb> methods, std::string pattern, RouteHandler handler);
  // Finds the route for a cleaned path. Returns nullptr when none matches (including when the
  // path matches but the method does not: Dapr then falls through to service invocation).
  // Sets *bad_escape when a path parameter has an invalid %-escape.
  const Route* match(bhttp::verb method, std::string_view path, RouteParams* params,
                     bool* bad_escape) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  bool matchOne(const Route& route, const std::vector<std::string_view>& parts,
                std::string_view path, RouteParams* params, bool* bad_escape) const;
  std::vector<Route> routes_;
};

// path.Clean semantics: collapse "//", resolve "." and "..", keep a leading "/".
std::string cleanPath(std::string_view path);
// Percent-decoding; '+' stays '+' unless plus_as_space (query semantics, which daprd also
// applies to path parameters). False on a malformed escape.
bool urlDecode(std::string_view in, std::string* out, bool plus_as_space = false);
std::string urlEncode(std::string_view in);

// Splits a request target into path and raw query.
void splitTarget(std::string_view target, std::string_view* path, std::string_view* query);
// Parses a raw query string into decoded pairs, in order.
std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query);

}  // namespace outrigger::http
