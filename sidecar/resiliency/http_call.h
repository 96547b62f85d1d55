#pragma once

// An HTTP call (service invocation) under a resiliency policy, without blocking the I/O thread:
// each attempt races the policy's timeout on a timer, a failed attempt is sent again after the
// retry's back-off on a timer, and the circuit breaker sees every attempt.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "common/http/client.h"
#include "sidecar/resiliency/policy.h"

namespace outrigger::sidecar::resiliency {

using HttpSend = std::function<void(outrigger::http::Request, outrigger::http::ResponseCallback)>;

// A transport error always counts as a failure; an answer does when its status matches the
// retry's matching.httpStatusCodes, or, with none given, when it is 4xx or 5xx. The last attempt's
// answer is what the caller gets, so an app's own error reaches it unchanged.
void callWithPolicy(boost::asio::io_context& ioc, std::shared_ptr<const Policy> policy,
                    outrigger::http::Request request, HttpSend send,
                    outrigger::http::ResponseCallback done);

bool failedStatus(const Policy& policy, int status);

}  // namespace outrigger::sidecar::resiliency
