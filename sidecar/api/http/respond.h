#pragma once

// Rendering helpers shared by the endpoint files: the one place a Status becomes Dapr's
// {"errorCode","message"} body.

#include <string>
#include <string_view>

#include "common/http/router.h"
#include "common/http/types.h"
#include "common/status/status.h"

namespace outrigger::sidecar::api::http {

using outrigger::http::Request;
using outrigger::http::Responder;
using outrigger::http::Response;
using outrigger::http::RouteParams;

Response errorResponse(const Status& status);
Response errorResponse(unsigned http_status, std::string_view error_code, std::string_view message);
Response jsonResponse(unsigned http_status, std::string body);
Response emptyResponse(unsigned http_status = 204);

// metadata.<k> query parameters, as every building block reads them.
std::map<std::string, std::string> queryMetadata(std::string_view target);
// The value of the first query parameter named name, or "".
std::string queryValue(std::string_view target, std::string_view name);

}  // namespace outrigger::sidecar::api::http
