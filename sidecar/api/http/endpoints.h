#pragma once

// Each building block's HTTP routes live in their own file and are added to the router here.

#include <functional>
#include <memory>

#include "common/http/router.h"
#include "sidecar/config/configuration.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::api::universal {
class StateApi;
class SecretsApi;
class InvokeApi;
class PubSubApi;
class BindingsApi;
}  // namespace outrigger::sidecar::api::universal

namespace outrigger::sidecar::api::http {

struct Apis {
  runtime::Context* context = nullptr;
  // The loaded Configuration (API allow/deny lists, features, API logging); null: none.
  const config::Configuration* configuration = nullptr;
  universal::StateApi* state = nullptr;
  universal::SecretsApi* secrets = nullptr;
  universal::InvokeApi* invoke = nullptr;
  universal::PubSubApi* pubsub = nullptr;
  universal::BindingsApi* bindings = nullptr;
  std::function<void()> request_shutdown;
};

void addStateEndpoints(outrigger::http::Router& router, Apis& apis);
void addSecretsEndpoints(outrigger::http::Router& router, Apis& apis);
void addMetadataEndpoints(outrigger::http::Router& router, Apis& apis);
void addHealthzEndpoints(outrigger::http::Router& router, Apis& apis);
void addInvokeEndpoints(outrigger::http::Router& router, Apis& apis);
void addPubSubEndpoints(outrigger::http::Router& router, Apis& apis);
void addBindingsEndpoints(outrigger::http::Router& router, Apis& apis);
// The handler for paths no route claims: service invocation by the dapr-app-id header.
outrigger::http::RouteHandler invokeFallback(Apis& apis);

}  // namespace outrigger::sidecar::api::http
