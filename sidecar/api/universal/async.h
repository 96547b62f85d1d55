#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "common/executor/bounded_executor.h"
#include "common/status/status.h"
#include "sidecar/resiliency/policy.h"

namespace outrigger::sidecar::api::universal {

template <typename T>
using Callback = std::function<void(StatusOr<T>)>;
using StatusCallback = std::function<void(Status)>;

// How long a component call may wait for one of the component's workers when the component sets
// no limit of its own (components::state::Store::queueTimeout). A hung backend holds every worker;
// the calls behind them then fail at this deadline instead of queueing on.
inline constexpr std::chrono::milliseconds kDefaultQueueTimeout{10000};

// Wraps done so that failures reaching it without Dapr's errorCode (the component's own, and
// runOnComponent's: a full queue, a call no worker took in time) get the route's from map.
template <typename R>
std::function<void(R)> mapFailures(std::function<void(R)> done,
                                   std::function<Status(const Status&)> map) {
  return [done = std::move(done), map = std::move(map)](R r) {
    if constexpr (std::is_same_v<R, Status>) {
      if (!r.ok() && r.errorCode().empty()) r = map(r);
    } else {
      if (!r.ok() && r.status().errorCode().empty()) r = R(map(r.status()));
    }
    done(std::move(r));
  };
}

// Runs fn on the component's executor when it has one (blocking backends), inline otherwise.
// A full queue answers at once with ResourceExhausted instead of waiting; a call that no worker
// took within queue_timeout answers DeadlineExceeded then, without running.
template <typename R, typename Fn, typename Done>
void runOnComponent(const std::shared_ptr<BoundedExecutor>& executor, Fn fn, Done done,
                    std::shared_ptr<const resiliency::Policy> policy = nullptr,
                    std::chrono::milliseconds queue_timeout = kDefaultQueueTimeout) {
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
  auto expired = [shared_done, queue_timeout] {
    (*shared_done)(R(deadlineExceededError(
        "the component did not answer in time: no worker was free within " +
        std::to_string(queue_timeout.count()) + " ms (its backend is slow or not answering)")));
  };
  if (!executor->trySubmit(
          [call = std::move(call), shared_done]() mutable { (*shared_done)(call()); },
          BoundedExecutor::Clock::now() + queue_timeout, std::move(expired))) {
    (*shared_done)(R(resourceExhaustedError("too many requests queued for this component")));
  }
}

}  // namespace outrigger::sidecar::api::universal
