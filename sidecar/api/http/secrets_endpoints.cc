// HTTP routes of the secrets building block (/v1.0/secrets).

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/api/universal/secrets.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

namespace {

void writeMap(JsonWriter& w, const universal::SecretMap& m) {
  w.StartObject();
  for (const auto& [k, v] : m) {
    w.Key(k.data(), k.size());
    w.String(v.data(), v.size());
  }
  w.EndObject();
}

}  // namespace

void addSecretsEndpoints(outrigger::http::Router& router, Apis& apis) {
  Apis* a = &apis;
  router.add({bhttp::verb::get}, "/v1.0/secrets/{secretStoreName}/bulk",
             [a](Request&& req, RouteParams&& params, Responder respond) {
               a->secrets->bulk(
                   std::string(params.get("secretStoreName")), queryMetadata(req.target()),
                   [respond](StatusOr<universal::BulkSecrets> res) {
                     if (!res.ok()) return respond(errorResponse(res.status()));
                     rapidjson::StringBuffer b;
                     JsonWriter w(b);
                     w.StartObject();
                     for (const auto& [name, secret] : *res) {
                       w.Key(name.data(), name.size());
                       writeMap(w, secret);
                     }
                     w.EndObject();
                     respond(jsonResponse(200, std::string(b.GetString(), b.GetSize())));
                   });
             });
  router.add({bhttp::verb::get}, "/v1.0/secrets/{secretStoreName}/{key}",
             [a](Request&& req, RouteParams&& params, Responder respond) {
               a->secrets->get(
                   std::string(params.get("secretStoreName")), std::string(params.get("key")),
                   queryMetadata(req.target()), [respond](StatusOr<universal::SecretMap> res) {
                     if (!res.ok()) return respond(errorResponse(res.status()));
                     if (res->empty()) return respond(emptyResponse(204));
                     rapidjson::StringBuffer b;
                     JsonWriter w(b);
                     writeMap(w, *res);
                     respond(jsonResponse(200, std::string(b.GetString(), b.GetSize())));
                   });
             });
}

}  // namespace outrigger::sidecar::api::http
