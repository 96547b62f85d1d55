#pragma once

// Service invocation: to the own app through the app channel, to another app through its
// sidecar's internal port, found by name resolution; each under the resiliency policy that
// targets the called app id, if any.

#include <memory>
#include <string>

#include "common/http/client.h"
#include "sidecar/api/universal/async.h"
#include "sidecar/invoke/app_channel.h"
#include "sidecar/invoke/internal_auth.h"
#include "sidecar/invoke/name_resolution.h"
#include "sidecar/resiliency/resiliency.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::api::universal {

struct InvokeRequest {
  std::string app_id;             // target
  std::string method;             // path below the app, without a leading slash
  std::string query;              // raw query string
  outrigger::http::Request http;  // verb, headers and body to pass through
};

class InvokeApi {
 public:
  InvokeApi(runtime::Context& context, std::shared_ptr<outrigger::http::ClientPool> pool,
            std::shared_ptr<invoke::AppChannel> app_channel,
            std::shared_ptr<invoke::NameResolver> resolver,
            std::shared_ptr<resiliency::Resiliency> resiliency = nullptr,
            invoke::InternalAuth internal_auth = {});

  // From the app's own API: local or remote target.
  void invoke(InvokeRequest request, Callback<outrigger::http::Response> done);
  // From another sidecar, arriving on the internal port once InternalAuth::admit let it in:
  // always to the local app.
  void invokeLocal(outrigger::http::Request request, Callback<outrigger::http::Response> done);

 private:
  runtime::Context& context_;
  std::shared_ptr<outrigger::http::ClientPool> pool_;
  std::shared_ptr<invoke::AppChannel> app_channel_;
  std::shared_ptr<invoke::NameResolver> resolver_;
  std::shared_ptr<resiliency::Resiliency> resiliency_;  // the `apps` targets; may be null
  invoke::InternalAuth internal_auth_;                  // stamps calls to other sidecars
};

}  // namespace outrigger::sidecar::api::universal
