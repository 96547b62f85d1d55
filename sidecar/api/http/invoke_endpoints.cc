// Service invocation routes: /v1.0/invoke/{id}/method/* and the dapr-app-id header fallback.

#include <boost/beast/core/detail/base64.hpp>

#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/api/universal/invoke.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

namespace {

void forward(Apis& apis, universal::InvokeRequest r, Responder respond) {
  apis.invoke->invoke(std::move(r), [respond](StatusOr<Response> res) {
    if (!res.ok()) return respond(errorResponse(res.status()));
    respond(std::move(*res));
  });
}

// The app id from "Authorization: Basic base64(dapr-app-id:<id>)", or "".
std::string appIdFromBasicAuth(const Request& req) {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) return {};
  std::string_view v = it->value();
  if (v.rfind("Basic ", 0) != 0) return {};
  std::string_view enc = v.substr(6);
  std::string dec(boost::beast::detail::base64::decoded_size(enc.size()), '\0');
  auto n = boost::beast::detail::base64::decode(dec.data(), enc.data(), enc.size());
  dec.resize(n.first);
  const std::string prefix = "dapr-app-id:";
  return dec.rfind(prefix, 0) == 0 ? dec.substr(prefix.size()) : std::string();
}

}  // namespace

void addInvokeEndpoints(outrigger::http::Router& router, Apis& apis) {
  Apis* a = &apis;
  router.add({}, "/v1.0/invoke/{id}/method/*",
             [a](Request&& req, RouteParams&& params, Responder respond) {
               universal::InvokeRequest r;
               r.app_id = params.get("id");
               r.method = std::move(params.rest);
               std::string_view path, query;
               outrigger::http::splitTarget(req.target(), &path, &query);
               r.query = std::string(query);
               r.http = std::move(req);
               forward(*a, std::move(r), std::move(respond));
             });
}

outrigger::http::RouteHandler invokeFallback(Apis& apis) {
  Apis* a = &apis;
  return [a](Request&& req, RouteParams&&, Responder respond) {
    universal::InvokeRequest r;
    auto it = req.find("dapr-app-id");
    r.app_id = it != req.end() ? std::string(it->value()) : appIdFromBasicAuth(req);
    std::string_view path, query;
    outrigger::http::splitTarget(req.target(), &path, &query);
    std::string cleaned = outrigger::http::cleanPath(path);
    while (!cleaned.empty() && cleaned.front() == '/') cleaned.erase(0, 1);
    r.method = cleaned;
    r.query = std::string(query);
    r.http = std::move(req);
    forward(*a, std::move(r), std::move(respond));
  };
}

}  // namespace outrigger::sidecar::api::http
