#include "sidecar/runtime/app_call.h"

#include <chrono>
#include <future>

#include "common/logging/log.h"
#include "sidecar/resiliency/policy.h"
#include "sidecar/runtime/header_fields.h"

namespace outrigger::sidecar::runtime {

void setMetadataHeaders(const std::string& who, const std::map<std::string, std::string>& metadata,
                        outrigger::http::Request& req) {
  for (const auto& [k, v] : metadata) {
    const char* why = !outrigger::http::validHeaderName(k) ? "not a valid header name"
                      : !outrigger::http::validHeaderValue(v)
                          ? "its value is not a valid header value"
                      : isFramingHeader(k) ? "it would frame the request"
                                           : nullptr;
    if (why) {
      LOG_WARN << who << ": metadata '" << printableBytes(k) << "' not sent to the app: " << why;
      continue;
    }
    req.set(k, v);
  }
}

StatusOr<outrigger::http::Response> callAppBlocking(Context& ctx, invoke::AppChannel& app,
                                                    outrigger::http::Request req) {
  auto promise = std::make_shared<std::promise<StatusOr<outrigger::http::Response>>>();
  auto future = promise->get_future();
  app.call(std::move(req),
           [promise](StatusOr<outrigger::http::Response> r) { promise->set_value(std::move(r)); });
  auto limit = std::chrono::steady_clock::now() + app.options().timeout + std::chrono::seconds(5);
  // A resiliency timeout around this attempt shortens the wait.
  if (auto deadline = resiliency::currentDeadline(); deadline && *deadline < limit)
    limit = *deadline;
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    auto now = std::chrono::steady_clock::now();
    if (now > limit) return deadlineExceededError("the app did not answer in time");
    if (ctx.shutting_down && now > ctx.shutdownDeadline()) return unavailableError("shutting down");
  }
  return future.get();
}

}  // namespace outrigger::sidecar::runtime
