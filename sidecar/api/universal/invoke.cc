#include "sidecar/api/universal/invoke.h"

namespace outrigger::sidecar::api::universal {

namespace bhttp = outrigger::http::bhttp;

namespace {

Status invokeError(const std::string& app_id, const Status& cause) {
  return Status(cause.code(), "failed to invoke, id: " + app_id + ", err: " + cause.message())
      .withErrorCode("ERR_DIRECT_INVOKE", 500);
}

// Headers that describe one hop, not the call, and must not be forwarded.
void stripHopHeaders(outrigger::http::Request& req) {
  for (auto f : {bhttp::field::connection, bhttp::field::keep_alive, bhttp::field::proxy_connection,
                 bhttp::field::te, bhttp::field::trailer, bhttp::field::upgrade,
                 bhttp::field::transfer_encoding}) {
    req.erase(f);
  }
  req.erase("dapr-app-id");
  req.erase("dapr-api-token");
}

void stripHopHeaders(outrigger::http::Response& res) {
  for (auto f : {bhttp::field::connection, bhttp::field::keep_alive,
                 bhttp::field::transfer_encoding, bhttp::field::trailer, bhttp::field::upgrade}) {
    res.erase(f);
  }
}

}  // namespace

InvokeApi::InvokeApi(runtime::Context& context, std::shared_ptr<outrigger::http::ClientPool> pool,
                     std::shared_ptr<invoke::AppChannel> app_channel,
                     std::shared_ptr<invoke::NameResolver> resolver)
    : context_(context),
      pool_(std::move(pool)),
      app_channel_(std::move(app_channel)),
      resolver_(std::move(resolver)) {}

void InvokeApi::invoke(InvokeRequest request, Callback<outrigger::http::Response> done) {
  if (request.app_id.empty()) {
    return done(
        notFoundError("failed getting app id either from the URL path or the header dapr-app-id")
            .withErrorCode("ERR_DIRECT_INVOKE", 404));
  }
  // "app.namespace" addresses an app in a namespace; standalone has one namespace.
  std::string target = request.app_id;
  auto dot = target.find('.');
  if (dot != std::string::npos) target = target.substr(0, dot);

  outrigger::http::Request& req = request.http;
  stripHopHeaders(req);
  std::string path = "/" + request.method;
  if (!request.query.empty()) path += "?" + request.query;
  req.target(path);
  req.set("dapr-caller-app-id", context_.options.app_id);
  req.set("dapr-callee-app-id", target);

  auto finish = [done, target](StatusOr<outrigger::http::Response> res) {
    if (!res.ok()) return done(invokeError(target, res.status()));
    stripHopHeaders(*res);
    done(std::move(*res));
  };
  if (target == context_.options.app_id) {
    if (!app_channel_) {
      return done(failedPreconditionError("app channel is not initialized: no --app-port")
                      .withErrorCode("ERR_DIRECT_INVOKE", 500));
    }
    return app_channel_->call(std::move(req), std::move(finish));
  }
  auto address = resolver_->resolve(target);
  if (!address.ok()) return done(invokeError(target, address.status()));
  req.set(bhttp::field::host, address->host + ":" + std::to_string(address->port));
  pool_->send(address->host, address->port, std::move(req), std::move(finish));
}

void InvokeApi::invokeLocal(outrigger::http::Request request,
                            Callback<outrigger::http::Response> done) {
  std::string callee(request["dapr-callee-app-id"]);
  if (!callee.empty() && callee != context_.options.app_id) {
    return done(
        invokeError(callee, notFoundError("this sidecar serves app " + context_.options.app_id)));
  }
  if (!app_channel_) {
    return done(failedPreconditionError("app channel is not initialized: no --app-port")
                    .withErrorCode("ERR_DIRECT_INVOKE", 500));
  }
  stripHopHeaders(request);
  app_channel_->call(std::move(request), [done, callee](StatusOr<outrigger::http::Response> res) {
    if (!res.ok()) return done(invokeError(callee, res.status()));
    stripHopHeaders(*res);
    done(std::move(*res));
  });
}

}  // namespace outrigger::sidecar::api::universal
