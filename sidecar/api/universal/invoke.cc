#include "sidecar/api/universal/invoke.h"

#include <unistd.h>

#include <cstdlib>

#include "sidecar/invoke/target.h"
#include "sidecar/resiliency/http_call.h"

namespace outrigger::sidecar::api::universal {

namespace bhttp = outrigger::http::bhttp;

namespace {

Status invokeError(const std::string& app_id, const Status& cause) {
  return Status(cause.code(), "failed to invoke, id: " + app_id + ", err: " + cause.message())
      .withErrorCode("ERR_DIRECT_INVOKE", 500);
}

// A request the client got wrong: nothing is sent.
Status badRequest(const std::string& app_id, const Status& cause) {
  return Status(cause.code(), "failed to invoke, id: " + runtime::printableBytes(app_id) +
                                  ", err: " + cause.message())
      .withErrorCode("ERR_DIRECT_INVOKE", 400);
}

Status noAppChannel() {
  return failedPreconditionError("app channel is not initialized: no --app-port")
      .withErrorCode("ERR_DIRECT_INVOKE", 500);
}

// Headers that describe one hop, not the call, and must not be forwarded.
void stripHopHeaders(outrigger::http::Request& req) {
  for (auto f : {bhttp::field::connection, bhttp::field::keep_alive, bhttp::field::proxy_connection,
                 bhttp::field::te, bhttp::field::trailer, bhttp::field::upgrade,
                 bhttp::field::transfer_encoding, bhttp::field::expect}) {
    req.erase(f);
  }
  // Addressing only; the API token, when enabled, was already consumed by the token check.
  req.erase("dapr-app-id");
}

void stripHopHeaders(outrigger::http::Response& res) {
  for (auto f : {bhttp::field::connection, bhttp::field::keep_alive,
                 bhttp::field::transfer_encoding, bhttp::field::trailer, bhttp::field::upgrade}) {
    res.erase(f);
  }
}

// What the caller sidecar tells the callee about where the call came from.
struct HostInfo {
  std::string address;
  std::string name;
};

const HostInfo& hostInfo() {
  static const HostInfo info = [] {
    HostInfo h;
    const char* ip = std::getenv("DAPR_HOST_IP");
    h.address = ip && *ip ? ip : "127.0.0.1";
    char name[256] = {0};
    h.name = ::gethostname(name, sizeof(name) - 1) == 0 ? name : "localhost";
    return h;
  }();
  return info;
}

}  // namespace

InvokeApi::InvokeApi(runtime::Context& context, std::shared_ptr<outrigger::http::ClientPool> pool,
                     std::shared_ptr<invoke::AppChannel> app_channel,
                     std::shared_ptr<invoke::NameResolver> resolver,
                     std::shared_ptr<resiliency::Resiliency> resiliency,
                     invoke::InternalAuth internal_auth)
    : context_(context),
      pool_(std::move(pool)),
      app_channel_(std::move(app_channel)),
      resolver_(std::move(resolver)),
      resiliency_(std::move(resiliency)),
      internal_auth_(std::move(internal_auth)) {}

void InvokeApi::invoke(InvokeRequest request, Callback<outrigger::http::Response> done) {
  if (request.app_id.empty()) {
    return done(
        notFoundError("failed getting app id either from the URL path or the header dapr-app-id")
            .withErrorCode("ERR_DIRECT_INVOKE", 404));
  }
  outrigger::http::Request& req = request.http;
  stripHopHeaders(req);
  // Only a sidecar states who is calling (as daprd, which sets dapr-caller-app-id itself).
  invoke::stripCallerClaims(req);
  std::string path = "/" + request.method;
  if (!request.query.empty()) path += "?" + request.query;
  // The id, the path and every header go into the request sent on: a CR, LF or space there would
  // let the client write a request of its own.
  if (!outrigger::http::validTarget(path)) {
    return done(badRequest(request.app_id,
                           invalidArgumentError("the method path holds spaces or control bytes")));
  }
  if (Status s = invoke::checkHeaders(req); !s.ok()) return done(badRequest(request.app_id, s));

  // Sends under the policy targeting the app id, when one does (for another app's sidecar, Dapr's
  // built-in service retries otherwise); the request is kept for retries.
  auto send_with_policy = [&](const std::string& target, resiliency::HttpSend send,
                              bool to_sidecar = false) {
    auto on_done = [done, target](StatusOr<outrigger::http::Response> res) {
      if (!res.ok()) return done(invokeError(target, res.status()));
      stripHopHeaders(*res);
      done(std::move(*res));
    };
    std::shared_ptr<const resiliency::Policy> policy;
    if (resiliency_ && resiliency_->count() > 0) policy = resiliency_->app(request.app_id);
    if ((!policy || policy->empty()) && to_sidecar) {
      policy = resiliency::Resiliency::builtInServiceRetries(resiliency_.get());
    }
    if (!policy || policy->empty()) return send(std::move(req), std::move(on_done));
    resiliency::callWithPolicy(pool_->currentContext(), std::move(policy), std::move(req),
                               std::move(send), std::move(on_done));
  };

  // A non-Dapr endpoint, named by its URL or by an HTTPEndpoint resource: called directly,
  // without a sidecar in between. A malformed URL is the client's error when the client gave it,
  // ours when an HTTPEndpoint did.
  auto call_external = [&](const std::string& url,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           bool from_client) {
    auto parsed = invoke::parseEndpointUrl(url);
    if (!parsed.ok()) {
      return done(from_client ? badRequest(request.app_id, parsed.status())
                              : invokeError(request.app_id, parsed.status()));
    }
    if (parsed->scheme != "http") {
      return done(invokeError(
          request.app_id, invalidArgumentError("only plain http:// endpoint URLs are supported")));
    }
    const std::string host = parsed->host;
    const uint16_t port = parsed->port;
    std::string authority = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    req.target(parsed->base + path);
    req.set(bhttp::field::host, port == 80 ? authority : authority + ":" + std::to_string(port));
    req.set("dapr-caller-app-id", context_.options.app_id);
    for (const auto& [name, value] : headers) {
      if (!outrigger::http::validHeaderName(name) || !outrigger::http::validHeaderValue(value)) {
        return done(invokeError(
            request.app_id, invalidArgumentError("HTTPEndpoint header " +
                                                 runtime::printableBytes(name) + " is not valid")));
      }
      req.set(name, value);
    }
    send_with_policy(request.app_id,
                     [pool = pool_, host, port](outrigger::http::Request r,
                                                outrigger::http::ResponseCallback cb) {
                       pool->send(host, port, std::move(r), std::move(cb));
                     });
  };
  if (request.app_id.find("://") != std::string::npos) {
    return call_external(request.app_id, {}, /*from_client=*/true);
  }
  if (runtime::HttpEndpoint endpoint; context_.http_endpoints.get(request.app_id, &endpoint)) {
    return call_external(endpoint.base_url, endpoint.headers, /*from_client=*/false);
  }
  if (Status s = invoke::checkAppId(request.app_id); !s.ok()) {
    return done(badRequest(request.app_id, s));
  }

  // "app.namespace" addresses an app in a namespace; self-hosted name resolution has one.
  std::string target = request.app_id;
  auto dot = target.find('.');
  if (dot != std::string::npos) target = target.substr(0, dot);

  req.target(path);
  req.set("dapr-callee-app-id", target);
  if (target == context_.options.app_id) {
    if (!app_channel_) return done(noAppChannel());
    req.set("dapr-caller-app-id", context_.options.app_id);
    return send_with_policy(target, [channel = app_channel_](outrigger::http::Request r,
                                                             outrigger::http::ResponseCallback cb) {
      channel->call(std::move(r), std::move(cb));
    });
  }
  // The callee's sidecar believes the caller's app id only with this installation's token.
  internal_auth_.stamp(req, context_.options.app_id);
  const HostInfo& self = hostInfo();
  req.set("X-Forwarded-For", self.address);
  req.set("X-Forwarded-Host", self.name);
  req.set(bhttp::field::forwarded,
          "for=" + self.address + ";by=" + self.address + ";host=" + self.name);
  // Resolved for every attempt: a retry finds a sidecar that restarted on another port.
  send_with_policy(
      target,
      [pool = pool_, resolver = resolver_, target](outrigger::http::Request r,
                                                   outrigger::http::ResponseCallback cb) {
        auto address = resolver->resolve(target);
        if (!address.ok()) return cb(address.status());
        r.set(bhttp::field::host, address->host + ":" + std::to_string(address->port));
        pool->send(address->host, address->port, std::move(r),
                   [resolver, target, cb = std::move(cb)](StatusOr<outrigger::http::Response> res) {
                     if (!res.ok()) resolver->forget(target);
                     cb(std::move(res));
                   });
      },
      /*to_sidecar=*/true);
}

void InvokeApi::invokeLocal(outrigger::http::Request request,
                            Callback<outrigger::http::Response> done) {
  std::string callee(request["dapr-callee-app-id"]);
  if (!callee.empty() && callee != context_.options.app_id) {
    return done(
        invokeError(callee, notFoundError("this sidecar serves app " + context_.options.app_id)));
  }
  if (!app_channel_) return done(noAppChannel());
  stripHopHeaders(request);
  app_channel_->call(std::move(request), [done, callee](StatusOr<outrigger::http::Response> res) {
    if (!res.ok()) return done(invokeError(callee, res.status()));
    stripHopHeaders(*res);
    done(std::move(*res));
  });
}

}  // namespace outrigger::sidecar::api::universal
