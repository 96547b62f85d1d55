#pragma once

// A blocking call into the app, for delivery threads of pub/sub and input bindings: one message
// at a time per subscription keeps order and bounds what is in flight.

#include <map>
#include <string>

#include "common/http/types.h"
#include "common/status/status.h"
#include "sidecar/invoke/app_channel.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::runtime {

// Waits at most the app channel's timeout; during shutdown it gives up once the graceful window
// has passed. Never call it from an I/O thread.
StatusOr<outrigger::http::Response> callAppBlocking(Context& context, invoke::AppChannel& app,
                                                    outrigger::http::Request request);

// Copies an event's metadata into the headers of a request to the app. An entry whose key is not
// a header name, whose value holds CR, LF or other control bytes, or that names a framing field
// (Content-Length, Transfer-Encoding, Host, ...) is dropped with a warning "<who>: metadata
// '<key>' not sent to the app": a broker's bytes must not write the request's head.
void setMetadataHeaders(const std::string& who, const std::map<std::string, std::string>& metadata,
                        outrigger::http::Request& req);

}  // namespace outrigger::sidecar::runtime
