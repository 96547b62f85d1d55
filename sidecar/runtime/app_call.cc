#include "sidecar/runtime/app_call.h"

#include <chrono>
#include <future>

#include "sidecar/resiliency/policy.h"

namespace outrigger::sidecar::runtime {

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
