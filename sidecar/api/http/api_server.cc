#include "sidecar/api/http/api_server.h"

#include <chrono>
#include <cstdlib>

#include "sidecar/api/http/respond.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

namespace {
const char* kFallbackRoute = "/v1.0/invoke/{id}/method/*";
}

ApiServer::ApiServer(Apis apis, std::shared_ptr<prometheus::Registry> registry)
    : apis_(std::move(apis)), registry_(std::move(registry)) {
  if (const char* token = std::getenv("DAPR_API_TOKEN")) api_token_ = token;
  addHealthzEndpoints(router_, apis_);
  addMetadataEndpoints(router_, apis_);
  addStateEndpoints(router_, apis_);
  addSecretsEndpoints(router_, apis_);
  addPubSubEndpoints(router_, apis_);
  addBindingsEndpoints(router_, apis_);
  addInvokeEndpoints(router_, apis_);
  fallback_ = invokeFallback(apis_);
  if (registry_) {
    request_count_ = &prometheus::BuildCounter()
                          .Name("dapr_http_server_request_count")
                          .Help("Number of HTTP requests started in server.")
                          .Register(*registry_);
    response_count_ = &prometheus::BuildCounter()
                           .Name("dapr_http_server_response_count")
                           .Help("The number of HTTP responses")
                           .Register(*registry_);
    latency_ = &prometheus::BuildHistogram()
                    .Name("dapr_http_server_latency")
                    .Help("HTTP request end-to-end latency in server (ms).")
                    .Register(*registry_);
  }
}

outrigger::http::Handler ApiServer::handler() {
  return [this](Request&& req, Responder respond) {
    handle(std::move(req), std::move(respond), false);
  };
}

outrigger::http::Handler ApiServer::publicHandler() {
  return [this](Request&& req, Responder respond) {
    handle(std::move(req), std::move(respond), true);
  };
}

void ApiServer::handle(Request&& req, Responder respond, bool public_only) {
  std::string_view raw_path, query;
  outrigger::http::splitTarget(req.target(), &raw_path, &query);
  std::string path = outrigger::http::cleanPath(raw_path);
  bhttp::verb method = req.method();

  const bool health =
      method == bhttp::verb::get && (path == "/v1.0/healthz" || path == "/v1.0/healthz/outbound");
  if (!public_only && !api_token_.empty() && !health) {
    auto it = req.find("dapr-api-token");
    if (it == req.end() || it->value() != api_token_) {
      return respond(outrigger::http::makeResponse(401, "invalid api token", "text/plain"));
    }
    req.erase("dapr-api-token");
  }

  outrigger::http::RouteParams params;
  bool bad_escape = false;
  const outrigger::http::Route* route = router_.match(method, path, &params, &bad_escape);
  // A trailing slash is dropped only when the path with it matches nothing.
  if (!route && !bad_escape && path.size() > 1 && path.back() == '/') {
    path.pop_back();
    route = router_.match(method, path, &params, &bad_escape);
  }
  if (bad_escape) {
    return respond(
        outrigger::http::makeResponse(400, "invalid escape in the URL path", "text/plain"));
  }
  if (public_only) {
    bool allowed =
        route && (route->pattern == "/v1.0/healthz" || route->pattern == "/v1.0/healthz/outbound" ||
                  route->pattern == "/v1.0/metadata" || route->pattern == "/v1.0/metadata/{key}");
    if (!allowed)
      return respond(errorResponse(404, "ERR_NOT_FOUND", "not found on the public port"));
  }

  const std::string& name = route ? route->name : std::string(kFallbackRoute);
  if (!request_count_) {
    return route ? route->handler(std::move(req), std::move(params), std::move(respond))
                 : fallback_(std::move(req), std::move(params), std::move(respond));
  }
  const std::string verb(bhttp::to_string(method));
  const std::string& app_id = apis_.context->options.app_id;
  request_count_->Add({{"app_id", app_id}, {"method", verb}, {"path", name}}).Increment();
  auto start = std::chrono::steady_clock::now();
  Responder measured = [this, respond = std::move(respond), start, verb, name,
                        app_id](Response&& res) {
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::string status = std::to_string(res.result_int());
    static const prometheus::Histogram::BucketBoundaries buckets = {
        0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
    latency_
        ->Add({{"app_id", app_id}, {"method", verb}, {"path", name}, {"status", status}}, buckets)
        .Observe(ms);
    response_count_->Add({{"app_id", app_id}, {"method", verb}, {"path", name}, {"status", status}})
        .Increment();
    respond(std::move(res));
  };
  if (route) {
    route->handler(std::move(req), std::move(params), std::move(measured));
  } else {
    fallback_(std::move(req), std::move(params), std::move(measured));
  }
}

}  // namespace outrigger::sidecar::api::http
