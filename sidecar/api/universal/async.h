#pragma once

#include <functional>
#include <memory>

#include "common/executor/bounded_executor.h"
#include "common/status/status.h"

namespace outrigger::sidecar::api::universal {

template <typename T>
using Callback = std::function<void(StatusOr<T>)>;
using StatusCallback = std::function<void(Status)>;

// Runs fn on the component's executor when it has one (blocking backends), inline otherwise.
// A full queue answers at once with ResourceExhausted instead of waiting.
template <typename R, typename Fn, typename Done>
void runOnComponent(const std::shared_ptr<BoundedExecutor>& executor, Fn fn, Done done) {
  if (!executor) {
    done(fn());
    return;
  }
  auto shared_done = std::make_shared<Done>(std::move(done));
  if (!executor->trySubmit([fn = std::move(fn), shared_done]() mutable { (*shared_done)(fn()); })) {
    (*shared_done)(R(resourceExhaustedError("too many requests queued for this component")));
  }
}

}  // namespace outrigger::sidecar::api::universal
