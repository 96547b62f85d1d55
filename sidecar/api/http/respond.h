#pragma once

// Rendering helpers shared by the endpoint files: the one place a Status becomes Dapr's
// {"errorCode","message"} body.

#include <map>
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

// Response headers from bytes the sidecar does not own (a component's response metadata, a store's
// etag, a bound server's content type). An entry that cannot be written safely (a name that is
// not a token, a value holding CR, LF, NUL or other controls) is left out with a warning naming
// `who`: a component's bytes must not write the response head.
// metadata.<k> for each entry, as Dapr echoes response metadata.
void setMetadataHeaders(Response& out, const std::map<std::string, std::string>& metadata,
                        std::string_view who);
// One header; false (and nothing set) when the value is not a valid field value.
bool setHeaderIfValid(Response& out, outrigger::http::bhttp::field name, std::string_view value,
                      std::string_view who);

// metadata.<k> query parameters, as every building block reads them.
std::map<std::string, std::string> queryMetadata(std::string_view target);
// The value of the first query parameter named name, or "".
std::string queryValue(std::string_view target, std::string_view name);

}  // namespace outrigger::sidecar::api::http
