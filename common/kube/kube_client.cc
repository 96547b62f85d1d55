#include "common/kube/kube_client.h"

#include <cpprest/http_client.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/detail/base64.hpp>
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

Status KubeClient::watch(
    const std::string& path, const std::string& resource_version,
    const std::function<void(const std::string&, const json::Value&)>& on_event,
    const std::atomic<bool>& stop, int timeout_seconds) {
  try {
    // The server ends the watch after timeoutSeconds; the client waits a little longer.
    web::http::client::http_client client(config_.server,
                                          impl_->config(timeout_seconds + 30, config_));
    std::string uri =
        path + (path.find('?') == std::string::npos ? "?" : "&") +
        "watch=true&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout_seconds);
    if (!resource_version.empty()) uri += "&resourceVersion=" + resource_version;
    web::http::http_request req("GET");
    req.set_request_uri(uri);
    if (!config_.token.empty()) req.headers().add("Authorization", "Bearer " + config_.token);
    auto res = client.request(req).get();
    int code = res.status_code();
    if (code != 200)
      return statusFromHttp(code, res.extract_utf8string(true).get(), "watch " + path);
    auto body = res.body();
    while (!stop) {
      concurrency::streams::container_buffer<std::string> line;
      size_t n = body.read_line(line).get();
      if (n == 0 && body.is_eof()) return okStatus();
      const std::string& text = line.collection();
      if (text.empty()) continue;
      auto doc = json::parse(text);
      if (!doc.ok() || !doc->IsObject()) continue;
      const json::Value* type = json::find(*doc, "type");
      const json::Value* object = json::find(*doc, "object");
      if (!type || !type->IsString() || !object) continue;
      if (std::string(type->GetString()) == "ERROR") {
        const json::Value* c = json::find(*object, "code");
        int err = c && c->IsInt() ? c->GetInt() : 500;
        return statusFromHttp(err, json::serialize(*object), "watch " + path);
      }
      on_event(type->GetString(), *object);
    }
    return okStatus();
  } catch (const std::exception& e) {
    return unavailableError("watch " + path + ": " + e.what());
  }
}

}  // namespace outrigger::kube
