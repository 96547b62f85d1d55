#pragma once

// The sidecar's public HTTP API: Dapr's router rules, API-token check, the Configuration's API
// allow/deny lists, per-route metrics, API logging, and the fall-through to service invocation.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "common/http/router.h"
#include "common/http/types.h"
#include "sidecar/api/http/endpoints.h"

namespace outrigger::sidecar::api::http {

class ApiServer {
 public:
  ApiServer(Apis apis, std::shared_ptr<prometheus::Registry> registry);
  // The handler to give an outrigger::http::Server.
  outrigger::http::Handler handler();
  // Only healthz and metadata, without the token: daprd's public port.
  outrigger::http::Handler publicHandler();

 private:
  void handle(outrigger::http::Request&& req, outrigger::http::Responder respond, bool public_only);
  // What daprd's router answers when no route (and no fallback) takes a request.
  outrigger::http::Response unrouted(outrigger::http::bhttp::verb method,
                                     const std::string& path) const;
  Apis apis_;
  outrigger::http::Router router_;
  outrigger::http::RouteHandler fallback_;
  std::string api_token_;
  bool api_logging_ = false;
  bool log_route_names_ = false;  // logging.apiLogging.obfuscateURLs
  bool log_health_checks_ = true;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* request_count_ = nullptr;
  prometheus::Family<prometheus::Counter>* response_count_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
};

}  // namespace outrigger::sidecar::api::http
