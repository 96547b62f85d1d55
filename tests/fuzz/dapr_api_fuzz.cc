// The Dapr JSON bodies an app sends to the sidecar's HTTP API: state save, bulk get,
// transaction and query, publish and bulk publish (CloudEvents included), and output bindings.
// Each request goes through the sidecar's own routes (sidecar/api/http) and universal APIs onto
// an in-memory state store and pub/sub, fresh for every input.
//
// Input: one or more requests separated by a line "%%". A request is its target line, optionally
// preceded by a method ("GET /v1.0/state/statestore/k"; POST when none), a Content-Type line, and
// the body.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/router.h"
#include "common/http/server.h"
#include "common/logging/log.h"
#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/universal/bindings.h"
#include "sidecar/api/universal/pubsub.h"
#include "sidecar/api/universal/state.h"
#include "sidecar/components/pubsub/in_memory/in_memory_pubsub.h"
#include "sidecar/components/state/in_memory/in_memory_state_store.h"
#include "sidecar/runtime/context.h"
#include "tests/fuzz/repeat_mutator.h"

namespace {

namespace bhttp = outrigger::http::bhttp;
namespace runtime = outrigger::sidecar::runtime;
namespace universal = outrigger::sidecar::api::universal;
using outrigger::http::Request;
using outrigger::http::Response;

template <typename T>
std::shared_ptr<runtime::Instance<T>> instance(std::string name, std::string type,
                                               std::shared_ptr<T> component) {
  auto out = std::make_shared<runtime::Instance<T>>();
  out->spec.name = std::move(name);
  out->spec.type = std::move(type);
  out->spec.version = "v1";
  if (!component->init(out->properties).ok()) std::abort();
  out->capabilities = component->features();
  out->component = std::move(component);
  return out;
}

// One app's sidecar, as the processor would assemble it for a statestore and a pubsub.
struct Sidecar {
  runtime::Context context;
  universal::StateApi state{context};
  universal::PubSubApi pubsub{context};
  universal::BindingsApi bindings{context};
  outrigger::sidecar::api::http::Apis apis;
  outrigger::http::Router router;

  Sidecar() {
    context.options.app_id = "fuzzapp";
    context.compstore.state.put(instance<outrigger::sidecar::components::state::Store>(
        "statestore", "state.in-memory",
        std::make_shared<outrigger::sidecar::components::state::in_memory::InMemoryStateStore>()));
    context.compstore.pubsub.put(instance<outrigger::sidecar::components::pubsub::PubSub>(
        "pubsub", "pubsub.in-memory",
        std::make_shared<outrigger::sidecar::components::pubsub::in_memory::InMemoryPubSub>()));
    apis.context = &context;
    apis.state = &state;
    apis.pubsub = &pubsub;
    apis.bindings = &bindings;
    outrigger::sidecar::api::http::addStateEndpoints(router, apis);
    outrigger::sidecar::api::http::addPubSubEndpoints(router, apis);
    outrigger::sidecar::api::http::addBindingsEndpoints(router, apis);
  }

  // Routes as ApiServer does (cleaned path, then the route's handler).
  void serve(Request req) {
    std::string_view raw_path, query;
    outrigger::http::splitTarget(req.target(), &raw_path, &query);
    std::string path = outrigger::http::cleanPath(raw_path);
    outrigger::http::RouteParams params;
    bool bad_escape = false;
    const outrigger::http::Route* route = router.match(req.method(), path, &params, &bad_escape);
    if (!route) return;
    // The in-memory components answer inline, before the handler returns.
    route->handler(std::move(req), std::move(params),
                   [](Response&& res) { res.prepare_payload(); });
  }
};

std::string_view takeLine(std::string_view* text) {
  size_t end = text->find('\n');
  std::string_view line = text->substr(0, end);
  *text = end == std::string_view::npos ? std::string_view() : text->substr(end + 1);
  return line;
}

// Nullopt for a head the server would refuse (431) before any route sees it.
std::optional<Request> makeRequest(std::string_view text) {
  std::string_view start = takeLine(&text);
  std::string_view content_type = takeLine(&text);
  if (start.size() + content_type.size() > outrigger::http::ServerOptions{}.max_header_bytes) {
    return std::nullopt;
  }
  bhttp::verb method = bhttp::verb::post;
  if (size_t space = start.find(' '); !start.empty() && start[0] != '/' && space != start.npos) {
    method = bhttp::string_to_verb(start.substr(0, space));
    if (method == bhttp::verb::unknown) method = bhttp::verb::post;
    start = start.substr(space + 1);
  }
  Request req{method, start, 11};
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  req.body() = std::string(text);
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (outrigger::logging::setLevel(outrigger::logging::Level::kFatal), true);
  (void)quiet;
  Sidecar sidecar;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSeparator = "\n%%\n";
  while (true) {
    size_t end = input.find(kSeparator);
    if (auto req = makeRequest(input.substr(0, end))) sidecar.serve(std::move(*req));
    if (end == std::string_view::npos) break;
    input = input.substr(end + kSeparator.size());
  }
  return 0;
}
