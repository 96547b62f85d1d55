#include "sidecar/api/universal/invoke.h"

#include <unistd.h>

#include <cstdlib>

#include "sidecar/resiliency/http_call.h"

namespace outrigger::sidecar::api::universal {

namespace bhttp = outrigger::http::bhttp;

namespace {

Status invokeError(const std::string& app_id, const Status& cause) {
  return Status(cause.code(), "failed to invoke, id: " + app_id + ", err: " + cause.message())
      .withErrorCode("ERR_DIRECT_INVOKE", 500);
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

// Splits "http://host[:port][/base]" into its parts; false when it is not a plain-HTTP URL.
bool parseHttpUrl(const std::string& url, std::string* host, uint16_t* port, std::string* base) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return false;
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  *base = slash == std::string::npos ? "" : rest.substr(slash);
  while (!base->empty() && base->back() == '/') base->pop_back();
  *port = 80;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    *host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (authority.empty()) return !host->empty();
    if (authority.front() != ':') return false;
    authority = authority.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    *host = authority.substr(0, colon);
    if (colon == std::string::npos) return !host->empty();
    authority = authority.substr(colon + 1);
  }
  char* end = nullptr;
  long p = std::strtol(authority.c_str(), &end, 10);
  if (authority.empty() || *end != '\0' || p <= 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return !host->empty();
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
                     std::shared_ptr<resiliency::Resiliency> resiliency)
    : context_(context),
      pool_(std::move(pool)),
      app_channel_(std::move(app_channel)),
      resolver_(std::move(resolver)),
      resiliency_(std::move(resiliency)) {}

void InvokeApi::invoke(InvokeRequest request, Callback<outrigger::http::Response> done) {
  if (request.app_id.empty()) {
    return done(
        notFoundError("failed getting app id either from the URL path or the header dapr-app-id")
            .withErrorCode("ERR_DIRECT_INVOKE", 404));
  }
  outrigger::http::Request& req = request.http;
  stripHopHeaders(req);
  std::string path = "/" + request.method;
  if (!request.query.empty()) path += "?" + request.query;

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
  // without a sidecar in between.
  auto call_external = [&](const std::string& url,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string host, base;
    uint16_t port = 0;
    if (!parseHttpUrl(url, &host, &port, &base)) {
      return done(invokeError(
          request.app_id, invalidArgumentError("only plain http:// endpoint URLs are supported")));
    }
    req.target(base + path);
    req.set(bhttp::field::host, port == 80 ? host : host + ":" + std::to_string(port));
    req.set("dapr-caller-app-id", context_.options.app_id);
    for (const auto& [name, value] : headers) req.set(name, value);
    send_with_policy(request.app_id,
                     [pool = pool_, host, port](outrigger::http::Request r,
                                                outrigger::http::ResponseCallback cb) {
                       pool->send(host, port, std::move(r), std::move(cb));
                     });
  };
  if (request.app_id.find("://") != std::string::npos) return call_external(request.app_id, {});
  if (runtime::HttpEndpoint endpoint; context_.http_endpoints.get(request.app_id, &endpoint)) {
    return call_external(endpoint.base_url, endpoint.headers);
  }

  // "app.namespace" addresses an app in a namespace; self-hosted name resolution has one.
  std::string target = request.app_id;
  auto dot = target.find('.');
  if (dot != std::string::npos) target = target.substr(0, dot);

  req.target(path);
  req.set("dapr-caller-app-id", context_.options.app_id);
  req.set("dapr-callee-app-id", target);
  if (target == context_.options.app_id) {
    if (!app_channel_) return done(noAppChannel());
    return send_with_policy(target, [channel = app_channel_](outrigger::http::Request r,
                                                             outrigger::http::ResponseCallback cb) {
      channel->call(std::move(r), std::move(cb));
    });
  }
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
