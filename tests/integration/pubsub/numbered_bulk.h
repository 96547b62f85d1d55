#pragma once

// The app's side of bulk subscribe in the pub/sub integration tests, whose events carry data.n.

#include <functional>
#include <string>

#include "common/http/types.h"

namespace outrigger::testing {

// The answer to a Dapr bulk envelope whose events carry data.n (an int): status_of(n) gives each
// entry's status (SUCCESS, RETRY, DROP), called in entry order; 400 when the envelope or an event
// has another shape.
http::Response answerNumberedBulk(const http::Request& req,
                                  const std::function<std::string(int n)>& status_of);

}  // namespace outrigger::testing
