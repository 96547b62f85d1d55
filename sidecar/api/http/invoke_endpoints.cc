// Service invocation routes: /v1.0/invoke/{id}/method/*, and the fallback for paths no route
// claims (the dapr-app-id header and Basic-auth forms).

#include <boost/beast/core/detail/base64.hpp>

#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/api/universal/invoke.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

namespace {

// The app id from "Authorization: Basic base64(dapr-app-id:<id>)", or "".
std::string appIdFromBasicAuth(const Request& req) {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) return {};
  std::string_view v = it->value();
  if (v.rfind("Basic ", 0) != 0) return {};
  std::string_view enc = v.substr(6);
  std::string dec(boost::beast::detail::base64::decoded_size(enc.size()), '\0');
  auto n = boost::beast::detail::base64::decode(dec.data(), enc.data(), enc.size());
  size_t unpadded = enc.find_last_not_of('=') + 1;
  if (n.second != unpadded || enc.size() - unpadded > 2) return {};  // not valid base64
  dec.resize(n.first);
  const std::string prefix = "dapr-app-id:";
  if (dec.rfind(prefix, 0) != 0) return {};
  std::string id = dec.substr(prefix.size());
  // Exactly one ':' in the pair, as daprd requires.
  return id.find(':') == std::string::npos ? id : std::string();
}

// The method as the app will see it: relative, path-cleaned, escapes kept as sent.
std::string cleanMethod(std::string_view raw) {
  std::string cleaned = outrigger::http::cleanPath("/" + std::string(raw));
  cleaned.erase(0, 1);
  return cleaned;
}

// Finds the target and the method in the order daprd does: the dapr-app-id header, Basic auth,
// then the /v1.0/invoke/<id>/method/<method> path. Parsed from the raw path, not the router's
// cleaned one, so that an absolute-URL id (http://host:port) keeps its "//".
void findTarget(const Request& req, universal::InvokeRequest* r) {
  std::string_view path, query;
  outrigger::http::splitTarget(req.target(), &path, &query);
  r->query = std::string(query);
  auto header = req.find("dapr-app-id");
  std::string id = header != req.end() ? std::string(header->value()) : appIdFromBasicAuth(req);
  if (!id.empty()) {
    r->app_id = std::move(id);
    r->method = cleanMethod(path);
    return;
  }
  // Leading and repeated slashes around "v1.0" and "invoke" are tolerated like path cleaning.
  size_t i = 0;
  for (std::string_view part : {std::string_view("v1.0"), std::string_view("invoke")}) {
    while (i < path.size() && path[i] == '/') ++i;
    if (path.substr(i, part.size()) != part || i + part.size() >= path.size() ||
        path[i + part.size()] != '/') {
      return;
    }
    i += part.size();
  }
  while (i < path.size() && path[i] == '/') ++i;
  std::string_view rest = path.substr(i);
  size_t sep = rest.find("/method/");
  if (sep == std::string_view::npos || sep == 0) return;
  // Path unescaping, as daprd's: a '+' stays a '+'. What it yields is checked before use.
  std::string decoded;
  if (!outrigger::http::urlDecode(rest.substr(0, sep), &decoded, false) || decoded.empty()) {
    decoded = std::string(rest.substr(0, sep));
  }
  r->app_id = std::move(decoded);
  r->method = cleanMethod(rest.substr(sep + 8));
}

void handle(Apis& apis, Request&& req, Responder respond) {
  universal::InvokeRequest r;
  findTarget(req, &r);
  r.http = std::move(req);
  apis.invoke->invoke(std::move(r), [respond](StatusOr<Response> res) {
    if (!res.ok()) return respond(errorResponse(res.status()));
    respond(std::move(*res));
  });
}

}  // namespace

void addInvokeEndpoints(outrigger::http::Router& router, Apis& apis) {
  Apis* a = &apis;
  router.add({}, "/v1.0/invoke/{id}/method/*",
             [a](Request&& req, RouteParams&&, Responder respond) {
               handle(*a, std::move(req), std::move(respond));
             });
}

outrigger::http::RouteHandler invokeFallback(Apis& apis) {
  Apis* a = &apis;
  return [a](Request&& req, RouteParams&&, Responder respond) {
    handle(*a, std::move(req), std::move(respond));
  };
}

}  // namespace outrigger::sidecar::api::http
