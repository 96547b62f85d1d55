#include "sidecar/resiliency/http_call.h"

#include <boost/asio/steady_timer.hpp>

namespace outrigger::sidecar::resiliency {

namespace asio = boost::asio;
using outrigger::http::Request;
using outrigger::http::Response;
using outrigger::http::ResponseCallback;

namespace {

class PolicyCall : public std::enable_shared_from_this<PolicyCall> {
 public:
  PolicyCall(asio::io_context& ioc, std::shared_ptr<const Policy> policy, Request request,
             HttpSend send, ResponseCallback done)
      : ioc_(ioc),
        policy_(std::move(policy)),
        request_(std::move(request)),
        send_(std::move(send)),
        done_(std::move(done)) {}

  void attempt() {
    if (policy_->breaker && !policy_->breaker->allow()) {
      return finish(unavailableError("circuit breaker is open"));
    }
    auto self = shared_from_this();
    int number = ++tries_;
    if (policy_->timeout_ms) {
      auto timer = std::make_shared<asio::steady_timer>(ioc_);
      timer->expires_after(std::chrono::milliseconds(*policy_->timeout_ms));
      timer->async_wait([self, number, timer](const boost::system::error_code& ec) {
        if (ec) return;
        self->answered(number,
                       deadlineExceededError("timed out after " +
                                             std::to_string(*self->policy_->timeout_ms) + " ms"));
      });
      timer_ = timer;
    }
    send_(request_, [self, number](StatusOr<Response> res) {
      // The answer may come on another thread; the attempt's state lives on the io_context.
      asio::post(self->ioc_, [self, number, res = std::move(res)]() mutable {
        self->answered(number, std::move(res));
      });
    });
  }

 private:
  void answered(int number, StatusOr<Response> res) {
    if (number != tries_ || settled_ == number) return;  // a late answer to a timed-out attempt
    settled_ = number;
    if (auto timer = timer_.lock()) timer->cancel();
    bool failed = !res.ok() || failedStatus(*policy_, res->result_int());
    if (policy_->retry && policy_->retry->unreachable_only) {
      failed = !res.ok() && res.status().code() == StatusCode::kUnavailable;
    }
    if (policy_->breaker) policy_->breaker->record(!failed);
    const auto& retry = policy_->retry;
    bool retries_left = retry && (retry->max_retries < 0 || tries_ <= retry->max_retries);
    if (!failed || !retries_left) return finish(std::move(res));
    auto self = shared_from_this();
    auto wait = std::make_shared<asio::steady_timer>(ioc_);
    wait->expires_after(retry->backoff(tries_));
    wait->async_wait([self, wait](const boost::system::error_code&) { self->attempt(); });
  }

  void finish(StatusOr<Response> res) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(res));
  }

  asio::io_context& ioc_;
  std::shared_ptr<const Policy> policy_;
  Request request_;  // copied for each attempt
  HttpSend send_;
  ResponseCallback done_;
  std::weak_ptr<asio::steady_timer> timer_;
  int tries_ = 0;
  int settled_ = 0;
};

}  // namespace

bool failedStatus(const Policy& policy, int status) {
  if (policy.retry && !policy.retry->http_status_ranges.empty()) {
    for (const auto& [from, to] : policy.retry->http_status_ranges) {
      if (status >= from && status <= to) return true;
    }
    return false;
  }
  return status >= 400;  // Dapr: with no matching list every HTTP error is retried
}

void callWithPolicy(asio::io_context& ioc, std::shared_ptr<const Policy> policy, Request request,
                    HttpSend send, ResponseCallback done) {
  auto call = std::make_shared<PolicyCall>(ioc, std::move(policy), std::move(request),
                                           std::move(send), std::move(done));
  asio::post(ioc, [call] { call->attempt(); });
}

}  // namespace outrigger::sidecar::resiliency
