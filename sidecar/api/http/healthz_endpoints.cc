// /v1.0/healthz, /v1.0/healthz/outbound and /v1.0/shutdown.

#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

void addHealthzEndpoints(outrigger::http::Router& router, Apis& apis) {
  Apis* a = &apis;
  router.add(
      {bhttp::verb::get}, "/v1.0/healthz", [a](Request&& req, RouteParams&&, Responder respond) {
        std::string app_id = queryValue(req.target(), "appid");
        if (!app_id.empty() && app_id != a->context->options.app_id) {
          return respond(
              errorResponse(500, "ERR_HEALTH_APPID_NOT_MATCH", "dapr app-id does not match"));
        }
        if (!a->context->outbound_ready || !a->context->app_ready) {
          return respond(errorResponse(500, "ERR_HEALTH_NOT_READY", "dapr is not ready"));
        }
        respond(emptyResponse(204));
      });
  router.add({bhttp::verb::get}, "/v1.0/healthz/outbound",
             [a](Request&&, RouteParams&&, Responder respond) {
               if (!a->context->outbound_ready) {
                 return respond(errorResponse(500, "ERR_OUTBOUND_HEALTH_NOT_READY",
                                              "dapr outbound is not ready"));
               }
               respond(emptyResponse(204));
             });
  router.add({bhttp::verb::post}, "/v1.0/shutdown",
             [a](Request&&, RouteParams&&, Responder respond) {
               respond(emptyResponse(204));
               if (a->request_shutdown) a->request_shutdown();
             });
}

}  // namespace outrigger::sidecar::api::http
