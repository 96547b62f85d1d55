#include "sidecar/api/http/respond.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/logging/log.h"
#include "sidecar/runtime/header_fields.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

Response errorResponse(unsigned http_status, std::string_view error_code,
                       std::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("errorCode");
  w.String(error_code.data(), error_code.size());
  w.Key("message");
  w.String(message.data(), message.size());
  w.EndObject();
  return outrigger::http::makeResponse(
      http_status, std::string(buffer.GetString(), buffer.GetSize()), "application/json");
}

Response errorResponse(const Status& status) {
  std::string code = status.errorCode().empty() ? "ERROR" : status.errorCode();
  return errorResponse(httpStatusFor(status), code, status.message());
}

Response jsonResponse(unsigned http_status, std::string body) {
  return outrigger::http::makeResponse(http_status, std::move(body), "application/json");
}

void setMetadataHeaders(Response& out, const std::map<std::string, std::string>& metadata,
                        std::string_view who) {
  for (const auto& [k, v] : metadata) {
    std::string name = "metadata." + k;
    if (!outrigger::http::validHeaderName(name) || !outrigger::http::validHeaderValue(v)) {
      LOG_WARN << who << ": response metadata '" << runtime::printableBytes(k)
               << "' left out: it is not a valid header";
      continue;
    }
    out.set(name, v);
  }
}

bool setHeaderIfValid(Response& out, bhttp::field name, std::string_view value,
                      std::string_view who) {
  if (!outrigger::http::validHeaderValue(value)) {
    LOG_WARN << who << ": " << bhttp::to_string(name) << " '" << runtime::printableBytes(value)
             << "' left out: it is not a valid header value";
    return false;
  }
  out.set(name, value);
  return true;
}

Response emptyResponse(unsigned http_status) { return outrigger::http::makeResponse(http_status); }

std::map<std::string, std::string> queryMetadata(std::string_view target) {
  std::string_view path, query;
  outrigger::http::splitTarget(target, &path, &query);
  std::map<std::string, std::string> out;
  for (auto& [k, v] : outrigger::http::parseQuery(query)) {
    if (k.rfind("metadata.", 0) == 0 && k.size() > 9) out.emplace(k.substr(9), v);  // first wins
  }
  return out;
}

std::string queryValue(std::string_view target, std::string_view name) {
  std::string_view path, query;
  outrigger::http::splitTarget(target, &path, &query);
  for (auto& [k, v] : outrigger::http::parseQuery(query)) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace outrigger::sidecar::api::http
