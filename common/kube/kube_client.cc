#include "common/kube/kube_client.h"

#include <cpprest/http_client.h>
#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace outrigger::kube {

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string base64Decode(const std::string& in) {
  std::string out(boost::beast::detail::base64::decoded_size(in.size()), '\0');
  out.resize(boost::beast::detail::base64::decode(out.data(), in.data(), in.size()).first);
  return out;
}

}  // namespace

Status statusFromHttp(int code, const std::string& body, const std::string& what) {
  std::string message = what + ": HTTP " + std::to_string(code);
  auto doc = json::parse(body);
  if (doc.ok() && doc->IsObject()) {
    if (const json::Value* m = json::find(*doc, "message"); m && m->IsString()) {
      message += ": " + std::string(m->GetString());
    }
  }
  switch (code) {
    case 404: return notFoundError(message);
    case 409: return alreadyExistsError(message);
    case 410: return Status(StatusCode::kOutOfRange, message);
    case 401: return unauthenticatedError(message);
    case 403: return permissionDeniedError(message);
    case 422:
    case 400: return invalidArgumentError(message);
    default: return unavailableError(message);
  }
}

StatusOr<KubeConfig> loadInClusterConfig() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port)
    return failedPreconditionError("not running in a cluster (no KUBERNETES_SERVICE_HOST)");
  const std::string dir = "/var/run/secrets/kubernetes.io/serviceaccount/";
  KubeConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  c.server = "https://" + h + ":" + port;
  c.token = readFile(dir + "token");
  while (!c.token.empty() && (c.token.back() == '\n' || c.token.back() == ' ')) c.token.pop_back();
  if (c.token.empty()) return failedPreconditionError("no service account token in " + dir);
  c.ca_file = dir + "ca.crt";
  std::string ns = readFile(dir + "namespace");
  if (!ns.empty()) c.namespace_name = ns;
  return c;
}

StatusOr<KubeConfig> loadKubeconfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return invalidArgumentError("kubeconfig " + path + ": " + e.what());
  }
  auto named = [](const YAML::Node& list, const std::string& name, const char* key) -> YAML::Node {
    for (const auto& item : list) {
      if (item["name"] && item["name"].as<std::string>() == name) return item[key];
    }
    return YAML::Node();
  };
  try {
    std::string context_name =
        root["current-context"] ? root["current-context"].as<std::string>() : "";
    YAML::Node context = named(root["contexts"], context_name, "context");
    if (!context)
      return invalidArgumentError("kubeconfig " + path + ": no context '" + context_name + "'");
    YAML::Node cluster = named(root["clusters"], context["cluster"].as<std::string>(), "cluster");
    if (!cluster || !cluster["server"])
      return invalidArgumentError("kubeconfig " + path + ": cluster has no server");
    KubeConfig c;
    c.server = cluster["server"].as<std::string>();
    c.insecure =
        cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    if (cluster["certificate-authority"])
      c.ca_file = cluster["certificate-authority"].as<std::string>();
    if (cluster["certificate-authority-data"]) {
      c.ca_data = base64Decode(cluster["certificate-authority-data"].as<std::string>());
    }
    if (context["user"]) {
      YAML::Node user = named(root["users"], context["user"].as<std::string>(), "user");
      if (user && user["token"]) c.token = user["token"].as<std::string>();
    }
    if (context["namespace"]) c.namespace_name = context["namespace"].as<std::string>();
    return c;
  } catch (const YAML::Exception& e) {
    return invalidArgumentError("kubeconfig " + path + ": " + e.what());
  }
}

struct KubeClient::Impl {
  web::http::client::http_client_config config(int timeout_seconds, const KubeConfig& c) {
    web::http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::seconds(timeout_seconds));
    cfg.set_validate_certificates(!c.insecure);
    std::string ca_file = c.ca_file, ca_data = c.ca_data;
    cfg.set_ssl_context_callback([ca_file, ca_data](boost::asio::ssl::context& ctx) {
      boost::system::error_code ec;
      if (!ca_file.empty()) ctx.load_verify_file(ca_file, ec);
      if (!ca_data.empty()) ctx.add_certificate_authority(boost::asio::buffer(ca_data), ec);
    });
    return cfg;
  }
};

KubeClient::KubeClient(KubeConfig config)
    : config_(std::move(config)), impl_(std::make_unique<Impl>()) {}
KubeClient::~KubeClient() = default;

StatusOr<json::Document> KubeClient::send(const std::string& method, const std::string& path,
                                          const std::string& body,
                                          const std::string& content_type) {
  try {
    web::http::client::http_client client(config_.server, impl_->config(30, config_));
    web::http::http_request req(method);
    req.set_request_uri(path);
    if (!config_.token.empty()) req.headers().add("Authorization", "Bearer " + config_.token);
    req.headers().add("Accept", "application/json");
    if (!body.empty()) req.set_body(body, content_type);
    auto res = client.request(req).get();
    std::string text = res.extract_utf8string(true).get();
    int code = res.status_code();
    if (code < 200 || code > 299) return statusFromHttp(code, text, method + " " + path);
    if (text.empty()) return json::Document();
    return json::parse(text);
  } catch (const std::exception& e) {
    return unavailableError(method + " " + path + ": " + e.what());
  }
}

StatusOr<json::Document> KubeClient::get(const std::string& path) {
  return send("GET", path, "", "");
}
StatusOr<json::Document> KubeClient::create(const std::string& path, const std::string& body) {
  return send("POST", path, body, "application/json");
}
StatusOr<json::Document> KubeClient::replace(const std::string& path, const std::string& body) {
  return send("PUT", path, body, "application/json");
}
StatusOr<json::Document> KubeClient::mergePatch(const std::string& path, const std::string& body) {
  return send("PATCH", path, body, "application/merge-patch+json");
}
Status KubeClient::remove(const std::string& path) {
  auto r = send("DELETE", path, "", "");
  return r.ok() ? okStatus() : r.status();
}

StatusOr<TokenReview> KubeClient::reviewToken(const std::string& token,
                                              const std::vector<std::string>& audiences) {
  json::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  json::Value spec(rapidjson::kObjectType);
  spec.AddMember("token",
                 json::Value(token.c_str(), static_cast<rapidjson::SizeType>(token.size()), a), a);
  if (!audiences.empty()) {
    json::Value list(rapidjson::kArrayType);
    for (const auto& aud : audiences) list.PushBack(json::Value(aud.c_str(), a), a);
    spec.AddMember("audiences", list, a);
  }
  body.AddMember("apiVersion", "authentication.k8s.io/v1", a);
  body.AddMember("kind", "TokenReview", a);
  body.AddMember("spec", spec, a);
  auto answer = create("/apis/authentication.k8s.io/v1/tokenreviews", json::serialize(body));
  if (!answer.ok()) return answer.status();
  TokenReview review;
  const json::Value* status = json::find(*answer, "status");
  if (!status) return review;
  const json::Value* ok = json::find(*status, "authenticated");
  review.authenticated = ok && ok->IsBool() && ok->GetBool();
  const json::Value* user = json::find(*status, "user");
  const json::Value* name = user ? json::find(*user, "username") : nullptr;
  if (name && name->IsString()) review.username = name->GetString();
  const json::Value* error = json::find(*status, "error");
  if (error && error->IsString()) review.error = error->GetString();
  return review;
}

namespace {

// Reads a watch stream with Beast, handing each event line over as soon as its chunk arrives.
// (cpprestsdk delivers a chunk only once the next one has begun, which would hold an event
// back until the next event or bookmark.)
template <typename Stream>
Status readWatch(Stream& stream, const std::string& host, const std::string& target,
                 const std::string& token, int timeout_seconds,
                 const std::function<void(const std::string&, const json::Value&)>& on_event,
                 const std::atomic<bool>& stop, const std::string& what) {
  namespace bhttp = boost::beast::http;
  boost::beast::error_code ec;
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::accept, "application/json");
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
  bhttp::write(stream, req, ec);
  if (ec) return unavailableError(what + ": " + ec.message());
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> header_parser;
  header_parser.body_limit(boost::none);
  bhttp::read_header(stream, buffer, header_parser, ec);
  if (ec) return unavailableError(what + ": " + ec.message());
  int code = header_parser.get().result_int();
  if (code != 200) {
    bhttp::read(stream, buffer, header_parser, ec);
    return statusFromHttp(code, header_parser.get().body(), what);
  }
  Status result = okStatus();
  std::string pending;
  auto on_chunk = [&](std::uint64_t, std::string_view body,
                      boost::beast::error_code&) -> std::size_t {
    pending.append(body.data(), body.size());
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      auto doc = json::parse(line);
      if (!doc.ok() || !doc->IsObject()) continue;
      const json::Value* type = json::find(*doc, "type");
      const json::Value* object = json::find(*doc, "object");
      if (!type || !type->IsString() || !object) continue;
      if (std::string(type->GetString()) == "ERROR") {
        const json::Value* c = json::find(*object, "code");
        result =
            statusFromHttp(c && c->IsInt() ? c->GetInt() : 500, json::serialize(*object), what);
        continue;
      }
      on_event(type->GetString(), *object);
    }
    if (pending.size() > (16u << 20)) pending.clear();  // no line is that long: drop garbage
    return body.size();
  };
  bhttp::response_parser<bhttp::empty_body> parser(std::move(header_parser));
  parser.body_limit(boost::none);
  parser.on_chunk_body(on_chunk);
  while (!parser.is_done() && !stop && result.ok()) {
    bhttp::read_some(stream, buffer, parser, ec);
    if (ec == bhttp::error::end_of_stream || ec == boost::asio::error::eof) break;
    if (ec) return unavailableError(what + ": " + ec.message());
  }
  return result;
}

}  // namespace

Status KubeClient::watch(
    const std::string& path, const std::string& resource_version,
    const std::function<void(const std::string&, const json::Value&)>& on_event,
    const std::atomic<bool>& stop, int timeout_seconds) {
  namespace asio = boost::asio;
  const std::string what = "watch " + path;
  std::string server = config_.server;
  bool tls = server.rfind("https://", 0) == 0;
  std::string rest = server.substr(server.find("://") + 3);
  std::string authority = rest.substr(0, rest.find('/'));
  std::string host = authority, port = tls ? "443" : "80";
  if (auto colon = authority.rfind(':'); colon != std::string::npos && authority.back() != ']') {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::string target =
      path + (path.find('?') == std::string::npos ? "?" : "&") +
      "watch=true&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout_seconds);
  if (!resource_version.empty()) target += "&resourceVersion=" + resource_version;
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return unavailableError(what + ": cannot resolve " + host + ": " + ec.message());
    // A silent peer cannot hold the watch forever: the server ends it after timeoutSeconds.
    int socket_timeout = timeout_seconds + 30;
    if (!tls) {
      boost::beast::tcp_stream stream(ioc);
      stream.expires_after(std::chrono::seconds(10));
      stream.connect(endpoints, ec);
      if (ec) return unavailableError(what + ": " + ec.message());
      stream.expires_never();
      timeval tv{socket_timeout, 0};
      ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      return readWatch(stream.socket(), authority, target, config_.token, timeout_seconds, on_event,
                       stop, what);
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    if (config_.insecure) {
      ctx.set_verify_mode(asio::ssl::verify_none);
    } else {
      ctx.set_verify_mode(asio::ssl::verify_peer);
      if (!config_.ca_file.empty()) ctx.load_verify_file(config_.ca_file, ec);
      if (!config_.ca_data.empty())
        ctx.add_certificate_authority(asio::buffer(config_.ca_data), ec);
      if (config_.ca_file.empty() && config_.ca_data.empty()) ctx.set_default_verify_paths(ec);
    }
    asio::ssl::stream<asio::ip::tcp::socket> stream(ioc, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    asio::connect(stream.next_layer(), endpoints, ec);
    if (ec) return unavailableError(what + ": " + ec.message());
    timeval tv{socket_timeout, 0};
    ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return unavailableError(what + ": TLS: " + ec.message());
    return readWatch(stream, authority, target, config_.token, timeout_seconds, on_event, stop,
                     what);
  } catch (const std::exception& e) {
    return unavailableError(what + ": " + e.what());
  }
}

}  // namespace outrigger::kube
