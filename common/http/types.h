#pragma once

// Request/response types shared by the Beast-based HTTP server and client.

#include <boost/beast/http.hpp>
#include <functional>
#include <string>

namespace outrigger::http {

namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Completes one request. Must be called exactly once, from any thread.
using Responder = std::function<void(Response&&)>;
using Handler = std::function<void(Request&&, Responder)>;

// Builds a response with an optional body and content type, keep-alive copied from the request.
Response makeResponse(unsigned status, std::string body = {}, std::string_view content_type = {});

}  // namespace outrigger::http
