#include "sidecar/api/http/api_server.h"

#include <chrono>
#include <cstdlib>
#include <set>

#include "common/logging/log.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/config/api_access.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

namespace {
const char* kFallbackRoute = "/v1.0/invoke/{id}/method/*";
}

ApiServer::ApiServer(Apis apis, std::shared_ptr<prometheus::Registry> registry)
    : apis_(std::move(apis)), registry_(std::move(registry)) {
  if (const char* token = std::getenv("DAPR_API_TOKEN")) api_token_ = token;
  outrigger::http::Router all;
  addHealthzEndpoints(all, apis_);
  addMetadataEndpoints(all, apis_);
  addStateEndpoints(all, apis_);
  addSecretsEndpoints(all, apis_);
  addPubSubEndpoints(all, apis_);
  addBindingsEndpoints(all, apis_);
  addInvokeEndpoints(all, apis_);
  // As daprd: a route the API lists do not allow is not registered at all.
  config::ApiAccess access;
  if (apis_.configuration) access = config::ApiAccess(*apis_.configuration, "http");
  std::set<std::string> denied;
  std::string not_served;
  for (const auto& route : all.routes()) {
    if (access.allows(route.pattern)) {
      router_.add(route.methods, route.pattern, route.handler);
    } else if (denied.insert(route.pattern).second) {
      not_served += (not_served.empty() ? "" : ", ") + route.pattern;
    }
  }
  if (!not_served.empty()) {
    LOG_INFO << "APIs not served (denied by the Configuration's api lists): " << not_served;
  }
  // The fall-through is service invocation's route, so it goes with the invoke API.
  if (access.allows(kFallbackRoute)) fallback_ = invokeFallback(apis_);

  const Options& options = apis_.context->options;
  api_logging_ = options.enable_api_logging.value_or(
      apis_.configuration && apis_.configuration->api_logging.value_or(false));
  if (apis_.configuration) {
    log_route_names_ = apis_.configuration->api_logging_obfuscate_urls;
    log_health_checks_ = !apis_.configuration->api_logging_omit_health_checks;
  }
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

  outrigger::http::RouteParams params;
  bool bad_escape = false;
  const outrigger::http::Route* route = router_.match(method, path, &params, &bad_escape);
  // A trailing slash is dropped only when the path with it matches nothing.
  if (!route && !bad_escape && path.size() > 1 && path.back() == '/') {
    path.pop_back();
    route = router_.match(method, path, &params, &bad_escape);
  }
  // Exempt by the route matched, so the exemption follows path cleaning and the trailing slash
  // exactly as routing does, and covers nothing else.
  const bool health =
      route && method == bhttp::verb::get &&
      (route->pattern == "/v1.0/healthz" || route->pattern == "/v1.0/healthz/outbound");
  // The public port answers health checks and metadata without a token, as daprd's does, but a
  // write into the sidecar's memory (PUT /v1.0/metadata/{key}) needs it there too.
  const bool needs_token =
      !api_token_.empty() &&
      (public_only ? route && route->pattern == "/v1.0/metadata/{key}" : !health);
  if (needs_token) {
    auto it = req.find("dapr-api-token");
    if (it == req.end() || it->value() != api_token_) {
      return respond(outrigger::http::makeResponse(401, "invalid api token", "text/plain"));
    }
    req.erase("dapr-api-token");
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

  if (!route && !fallback_) return respond(unrouted(method, path));
  const std::string& name = route ? route->name : std::string(kFallbackRoute);
  if (api_logging_ && (log_health_checks_ || !health)) {
    // daprd's "HTTP API Called" line, written whatever the log level.
    std::string called =
        std::string(bhttp::to_string(method)) + " " + (log_route_names_ ? name : path);
    std::string agent(req[bhttp::field::user_agent]);
    respond = [respond = std::move(respond), called = std::move(called), agent = std::move(agent),
               start = std::chrono::steady_clock::now()](Response&& res) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
      logging::write(
          logging::Level::kInfo,
          "HTTP API Called: method=\"" + called + "\" code=" + std::to_string(res.result_int()) +
              " size=" + std::to_string(res.body().size()) + " duration=" + std::to_string(ms) +
              (agent.empty() ? "" : " useragent=\"" + agent + "\""));
      respond(std::move(res));
    };
  }
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

Response ApiServer::unrouted(bhttp::verb method, const std::string& path) const {
  // Without the invoke API nothing catches unmatched requests: Go's router answers 405 when the
  // path has routes for other methods, else its plain 404.
  for (bhttp::verb other : {bhttp::verb::get, bhttp::verb::post, bhttp::verb::put,
                            bhttp::verb::delete_, bhttp::verb::patch}) {
    outrigger::http::RouteParams params;
    bool bad_escape = false;
    if (other != method && router_.match(other, path, &params, &bad_escape)) {
      return outrigger::http::makeResponse(405);
    }
  }
  return outrigger::http::makeResponse(404, "404 page not found\n", "text/plain; charset=utf-8");
}

}  // namespace outrigger::sidecar::api::http
