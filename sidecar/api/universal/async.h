#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include "common/executor/bounded_executor.h"
#include "common/status/status.h"
#include "sidecar/resiliency/policy.h"

namespace outrigger::sidecar::api::universal {

template <typename T>
using Callback = std::function<void(StatusOr<T>)>;
using StatusCallback = std::function<void(Status)>;

// Runs fn on the component's executor when it has one (blocking backends), inline otherwise.
// A full queue answers at once with ResourceExhausted instead of waiting.
template <typename R, typename Fn, typename Done>
void runOnComponent(const std::shared_ptr<BoundedExecutor>& executor, Fn fn, Done done,
                    std::shared_ptr<const resiliency::Policy> policy = nullptr) {
  auto call = [fn = std::move(fn), policy]() mutable -> R {
    if (!policy) return fn();
    // The policy sees each attempt's Status; the last attempt's full result is returned.
    std::optional<R> result;
    Status st = policy->run([&]() -> Status {
      result.emplace(fn());
      if constexpr (std::is_same_v<R, Status>) {
        return *result;
      } else {
        return result->status();
      }
    });
    if (!result) return R(st);
    if constexpr (std::is_same_v<R, Status>) {
      return st.ok() ? *result : st;
    } else {
      return st.ok() || !result->ok() ? std::move(*result) : R(st);
    }
  };
  if (!executor) {
    done(call());
    return;
  }
  auto shared_done = std::make_shared<Done>(std::move(done));
  if (!executor->trySubmit(
          [call = std::move(call), shared_done]() mutable { (*shared_done)(call()); })) {
    (*shared_done)(R(resourceExhaustedError("too many requests queued for this component")));
  }
}

}  // namespace outrigger::sidecar::api::universal
