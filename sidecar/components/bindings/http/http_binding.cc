#include "sidecar/components/bindings/http/http_binding.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/json/json.h"
#include "sidecar/runtime/header_fields.h"

namespace outrigger::sidecar::components::bindings::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// Metadata become the request's headers and `path` its target: each must be writable as such, or
// a value holding CR LF would end the head and smuggle a second request to the bound server.
Status checkHeadFields(const Metadata& metadata) {
  for (const auto& [k, v] : metadata) {
    if (k == "path") {
      if (!v.empty() && !outrigger::http::validTarget(v)) {
        return runtime::headFieldError("metadata path '" + runtime::printableBytes(v) +
                                       "' holds spaces or control characters");
      }
      continue;
    }
    if (k.empty() || runtime::isFramingHeader(k)) continue;  // never sent, as Go's client
    if (!outrigger::http::validHeaderName(k)) {
      return runtime::headFieldError("metadata '" + runtime::printableBytes(k) +
                                     "' is not a valid header name");
    }
    if (!outrigger::http::validHeaderValue(v)) {
      return runtime::headFieldError("metadata " + k + " holds CR, LF or other control characters");
    }
  }
  return okStatus();
}

}  // namespace

Status HttpBinding::init(const runtime::Properties& properties) {
  std::string url = properties.get("url");
  const std::string scheme = "http://";
  if (url.rfind("https://", 0) == 0) {
    return unimplementedError("metadata field 'url': https is not supported yet, use http");
  }
  if (url.rfind(scheme, 0) != 0) {
    return invalidArgumentError("metadata field 'url': '" + url + "' must start with http://");
  }
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  base_path_ = slash == std::string::npos ? "" : rest.substr(slash);
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  auto colon = authority.rfind(':');
  host_ = authority.substr(0, colon);
  if (colon != std::string::npos) {
    int64_t p;
    if (!runtime::parseInt(authority.substr(colon + 1), &p) || p <= 0 || p > 65535) {
      return invalidArgumentError("metadata field 'url': bad port in '" + url + "'");
    }
    port_ = static_cast<uint16_t>(p);
  }
  if (host_.empty()) return invalidArgumentError("metadata field 'url': no host in '" + url + "'");
  timeout_ms_ = properties.getDurationMs("responseTimeout", 60000);
  error_if_not_2xx_ = properties.getBool("errorIfNot2XX", true);
  return okStatus();
}

std::vector<std::string> HttpBinding::operations() const {
  return {"create", "get", "head", "post", "put", "patch", "delete", "options", "trace"};
}

StatusOr<InvokeResponse> HttpBinding::invoke(const InvokeRequest& request) {
  std::string op = request.operation == "create" ? "post" : request.operation;
  for (auto& c : op) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  bhttp::verb verb = bhttp::string_to_verb(op);
  if (verb == bhttp::verb::unknown)
    return invalidArgumentError("unsupported operation " + request.operation);

  RETURN_IF_ERROR(checkHeadFields(request.metadata));
  std::string path = base_path_;
  if (auto it = request.metadata.find("path"); it != request.metadata.end()) {
    if (!it->second.empty() && it->second.front() != '/') path += "/";
    path += it->second;
  }
  if (path.empty()) path = "/";
  bhttp::request<bhttp::string_body> req{verb, path, 11};
  req.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
  for (const auto& [k, v] : request.metadata) {
    if (k == "path" || k.empty() || runtime::isFramingHeader(k)) continue;
    req.set(k, v);
  }
  if (!request.data.empty()) {
    // data arrives as JSON text; a JSON string is sent as its contents.
    req.body() = json::unquoted(request.data);
  }
  req.prepare_payload();

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::milliseconds(timeout_ms_));
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
  if (ec) return unavailableError("cannot resolve " + host_ + ": " + ec.message());
  bhttp::response<bhttp::string_body> res;
  beast::flat_buffer buffer;
  stream.async_connect(endpoints, [&](beast::error_code e, const asio::ip::tcp::endpoint&) {
    if (e) {
      ec = e;
      return;
    }
    bhttp::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
      if (e2) {
        ec = e2;
        return;
      }
      bhttp::async_read(stream, buffer, res, [&](beast::error_code e3, std::size_t) { ec = e3; });
    });
  });
  ioc.run();
  if (ec)
    return unavailableError("request to " + host_ + ":" + std::to_string(port_) +
                            " failed: " + ec.message());

  InvokeResponse out;
  out.has_data = true;
  out.data = res.body();
  out.content_type = std::string(res[bhttp::field::content_type]);
  out.metadata["statusCode"] = std::to_string(res.result_int());
  out.metadata["status"] = std::to_string(res.result_int()) + " " + std::string(res.reason());
  for (const auto& h : res) out.metadata[std::string(h.name_string())] = std::string(h.value());
  if (error_if_not_2xx_ && (res.result_int() < 200 || res.result_int() > 299)) {
    return unavailableError("received status code " + std::to_string(res.result_int()));
  }
  return out;
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Binding> factory;
  factory.type = "bindings.http";
  factory.fields = {{"url", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"responseTimeout", runtime::FieldType::kDuration, false, "60s", {}},
                    {"errorIfNot2XX", runtime::FieldType::kBool, false, "true", {}}};
  factory.create = [] { return std::make_unique<HttpBinding>(); };
  (void)registry.bindings.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::bindings::http
