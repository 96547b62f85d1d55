#pragma once

// A blocking call into the app, for delivery threads of pub/sub and input bindings: one message
// at a time per subscription keeps order and bounds what is in flight.

#include "common/http/types.h"
#include "common/status/status.h"
#include "sidecar/invoke/app_channel.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::runtime {

// Waits at most the app channel's timeout; during shutdown it gives up once the graceful window
// has passed. Never call it from an I/O thread.
StatusOr<outrigger::http::Response> callAppBlocking(Context& context, invoke::AppChannel& app,
                                                    outrigger::http::Request request);

}  // namespace outrigger::sidecar::runtime
