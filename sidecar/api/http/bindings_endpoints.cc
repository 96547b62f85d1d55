// POST/PUT /v1.0/bindings/{name}: output bindings.

#include "common/json/json.h"
#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/api/universal/bindings.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;
namespace b = components::bindings;

namespace {

Status malformed(const std::string& message) {
  return invalidArgumentError(message).withErrorCode("ERR_MALFORMED_REQUEST", 400);
}

std::string text(const json::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

Response makeDataResponse(const std::string& name, const b::InvokeResponse& res) {
  Response out = outrigger::http::makeResponse(200, res.data, "application/json");
  if (!res.content_type.empty()) {
    setHeaderIfValid(out, bhttp::field::content_type, res.content_type, "output binding " + name);
  }
  return out;
}

void onInvoke(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  auto doc = json::parse(req.body());
  if (!doc.ok())
    return respond(
        errorResponse(malformed("failed to parse the request body: " + doc.status().message())));
  if (!doc->IsObject())
    return respond(errorResponse(malformed("the request body must be a JSON object")));
  b::InvokeRequest r;
  const json::Value* op = json::find(*doc, "operation");
  if (op && !op->IsNull() && !op->IsString())
    return respond(errorResponse(malformed("operation must be a string")));
  r.operation = op && op->IsString() ? text(*op) : "";
  if (const json::Value* data = json::find(*doc, "data"); data && !data->IsNull()) {
    r.data = json::serialize(*data);
  }
  if (const json::Value* md = json::find(*doc, "metadata"); md && !md->IsNull()) {
    if (!md->IsObject())
      return respond(errorResponse(malformed("metadata must be an object of strings")));
    for (auto it = md->MemberBegin(); it != md->MemberEnd(); ++it) {
      if (!it->value.IsString()) {
        return respond(
            errorResponse(malformed("metadata." + text(it->name) + " must be a string")));
      }
      r.metadata[text(it->name)] = text(it->value);
    }
  }
  if (auto tp = req.find("traceparent"); tp != req.end())
    r.metadata["traceparent"] = std::string(tp->value());
  std::string name(params.get("name"));
  apis.bindings->invoke(name, std::move(r), [respond, name](StatusOr<b::InvokeResponse> res) {
    if (!res.ok()) return respond(errorResponse(res.status()));
    Response out = res->has_data ? makeDataResponse(name, *res) : emptyResponse(204);
    setMetadataHeaders(out, res->metadata, "output binding " + name);
    respond(std::move(out));
  });
}

}  // namespace

void addBindingsEndpoints(outrigger::http::Router& router, Apis& apis) {
  Apis* a = &apis;
  router.add({bhttp::verb::post, bhttp::verb::put}, "/v1.0/bindings/{name}",
             [a](Request&& req, RouteParams&& params, Responder respond) {
               onInvoke(*a, std::move(req), std::move(params), std::move(respond));
             });
}

}  // namespace outrigger::sidecar::api::http
