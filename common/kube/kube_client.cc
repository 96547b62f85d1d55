#include "common/kube/kube_client.h"

#include <cpprest/http_client.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace outrigger::kube {

namespace {

namespace fs = std::filesystem;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The whole file, or why it cannot be read.
StatusOr<std::string> readFileOrError(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFoundError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return unavailableError("cannot read " + path + ": " + std::strerror(errno));
  return ss.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t first = 0;
  while (first < s.size() && std::isspace(static_cast<unsigned char>(s[first]))) ++first;
  return s.substr(first);
}

std::string base64Decode(const std::string& in) {
  std::string out(boost::beast::detail::base64::decoded_size(in.size()), '\0');
  out.resize(boost::beast::detail::base64::decode(out.data(), in.data(), in.size()).first);
  return out;
}

// Standard base64 with padding; whitespace (line breaks) is ignored, anything else not in the
// alphabet is an error (Beast's decoder would stop there silently).
std::optional<std::string> base64DecodeStrict(const std::string& in) {
  std::string clean;
  for (char ch : in) {
    if (!std::isspace(static_cast<unsigned char>(ch))) clean.push_back(ch);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && padding < clean.size() && clean[clean.size() - 1 - padding] == '=') {
    ++padding;
  }
  for (size_t i = 0; i + padding < clean.size(); ++i) {
    char ch = clean[i];
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '+' && ch != '/') {
      return std::nullopt;
    }
  }
  return base64Decode(clean);
}

// OpenSSL objects freed on scope exit.
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Never asks for a passphrase (OpenSSL's default would prompt on the terminal).
int noPassword(char*, int, int, void*) { return 0; }

BioPtr memBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM text, or null.
X509Ptr firstCertificate(const std::string& pem) {
  BioPtr bio = memBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr) : nullptr);
  ERR_clear_error();
  return cert;
}

// The private key of a PEM text (PKCS#8, RSA or EC; not encrypted), or null.
PkeyPtr privateKey(const std::string& pem) {
  BioPtr bio = memBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr) : nullptr);
  ERR_clear_error();
  return key;
}

// Checks a client certificate and key pair: both PEM that OpenSSL accepts, the key the
// certificate's. cert_what and key_what name them in errors.
Status checkClientPair(const std::string& cert_pem, const std::string& key_pem,
                       const std::string& cert_what, const std::string& key_what) {
  X509Ptr cert = firstCertificate(cert_pem);
  if (!cert) return invalidArgumentError(cert_what + ": no PEM certificate");
  PkeyPtr key = privateKey(key_pem);
  if (!key) return invalidArgumentError(key_what + ": no (unencrypted) PEM private key");
  bool match = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) return invalidArgumentError(key_what + ": does not match the client certificate");
  return okStatus();
}

// The PEM texts a connection authenticates with: the _data fields, else the files' contents
// (read now, so that renewed files are picked up). Both empty when there is no client cert.
struct ClientCertificate {
  std::string cert_pem;
  std::string key_pem;
};

StatusOr<ClientCertificate> clientCertificate(const KubeConfig& c) {
  ClientCertificate out;
  out.cert_pem = c.client_cert_data;
  out.key_pem = c.client_key_data;
  if (out.cert_pem.empty() && !c.client_cert_file.empty()) {
    auto text = readFileOrError(c.client_cert_file);
    if (!text.ok())
      return failedPreconditionError("client certificate: " + text.status().message());
    out.cert_pem = std::move(*text);
  }
  if (out.key_pem.empty() && !c.client_key_file.empty()) {
    auto text = readFileOrError(c.client_key_file);
    if (!text.ok()) return failedPreconditionError("client key: " + text.status().message());
    out.key_pem = std::move(*text);
  }
  if (out.cert_pem.empty() != out.key_pem.empty()) {
    return failedPreconditionError(out.cert_pem.empty() ? "a client key without a certificate"
                                                        : "a client certificate without a key");
  }
  return out;
}

// Loads the client certificate into a TLS context; false (and a reason) when OpenSSL refuses.
bool useClientCertificate(boost::asio::ssl::context& ctx, const ClientCertificate& cert,
                          std::string* error) {
  if (cert.cert_pem.empty()) return true;
  boost::system::error_code ec;
  ctx.set_password_callback(
      [](std::size_t, boost::asio::ssl::context::password_purpose) { return std::string(); });
  ctx.use_certificate_chain(boost::asio::buffer(cert.cert_pem), ec);
  if (!ec)
    ctx.use_private_key(boost::asio::buffer(cert.key_pem), boost::asio::ssl::context::pem, ec);
  if (ec) *error = "client certificate: " + ec.message();
  return !ec;
}

// The bearer token: the token file's content when it can be read and is not empty.
std::string currentToken(const KubeConfig& c) {
  if (!c.token_file.empty()) {
    auto text = readFileOrError(c.token_file);
    if (text.ok()) {
      std::string token = trimmed(*text);
      if (!token.empty()) return token;
    }
  }
  return c.token;
}

// Kubeconfig helpers that never throw on a missing key or a node of the wrong shape.
YAML::Node child(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return YAML::Node();
  YAML::Node v = map[key];
  if (!v) return YAML::Node();
  return v;
}

std::optional<std::string> scalar(const YAML::Node& map, const char* key) {
  YAML::Node v = child(map, key);
  if (!v || v.IsNull()) return std::nullopt;
  return v.as<std::string>();
}

// The entry called name of a list such as clusters: [{name: x, cluster: {...}}].
std::optional<YAML::Node> named(const YAML::Node& list, const std::string& name) {
  if (!list || !list.IsSequence()) return std::nullopt;
  for (const auto& item : list) {
    if (item.IsMap() && scalar(item, "name") == name) return item;
  }
  return std::nullopt;
}

// A file name of a kubeconfig, relative to its directory unless absolute (as kubectl does).
std::string resolvePath(const fs::path& dir, const std::string& file) {
  fs::path p(file);
  if (p.is_absolute() || dir.empty()) return file;
  return (dir / p).lexically_normal().string();
}

// A kubeconfig's `key` (a file name) and `key`-data (base64 PEM) of map: sets *file (resolved) or
// *data (decoded) and returns the PEM text, "" when neither is given. where names the map.
StatusOr<std::string> loadPemField(const YAML::Node& map, const std::string& key,
                                   const std::string& where, const fs::path& dir, std::string* file,
                                   std::string* data) {
  const std::string data_key = key + "-data";
  auto file_value = scalar(map, key.c_str());
  auto data_value = scalar(map, data_key.c_str());
  if (file_value && !file_value->empty() && data_value && !data_value->empty()) {
    return invalidArgumentError(where + ": both " + key + " and " + data_key + " are set");
  }
  if (data_value && !data_value->empty()) {
    auto decoded = base64DecodeStrict(*data_value);
    if (!decoded) return invalidArgumentError(where + ": " + data_key + ": not valid base64");
    if (decoded->empty()) return invalidArgumentError(where + ": " + data_key + ": empty");
    *data = std::move(*decoded);
    return *data;
  }
  if (file_value && !file_value->empty()) {
    *file = resolvePath(dir, *file_value);
    auto text = readFileOrError(*file);
    if (!text.ok())
      return invalidArgumentError(where + ": " + key + ": " + text.status().message());
    return std::move(*text);
  }
  return std::string();
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
  c.token_file = dir + "token";  // projected tokens are rotated: read again for each request
  c.token = readFile(c.token_file);
  while (!c.token.empty() && (c.token.back() == '\n' || c.token.back() == ' ')) c.token.pop_back();
  if (c.token.empty()) return failedPreconditionError("no service account token in " + dir);
  c.ca_file = dir + "ca.crt";
  std::string ns = readFile(dir + "namespace");
  if (!ns.empty()) c.namespace_name = ns;
  return c;
}

StatusOr<KubeConfig> loadKubeconfig(const std::string& path) {
  const std::string where = "kubeconfig " + path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return invalidArgumentError(where + ": " + e.what());
  }
  const fs::path dir = fs::path(path).parent_path();
  try {
    KubeConfig c;
    std::string context_name = scalar(root, "current-context").value_or("");
    if (context_name.empty()) return invalidArgumentError(where + ": current-context is not set");
    auto context_entry = named(child(root, "contexts"), context_name);
    if (!context_entry) {
      return invalidArgumentError(where + ": current-context: no context named '" + context_name +
                                  "' in contexts");
    }
    const std::string context_where = where + ": context '" + context_name + "'";
    YAML::Node context = child(*context_entry, "context");
    std::string cluster_name = scalar(context, "cluster").value_or("");
    if (cluster_name.empty()) return invalidArgumentError(context_where + ": cluster is not set");
    auto cluster_entry = named(child(root, "clusters"), cluster_name);
    if (!cluster_entry) {
      return invalidArgumentError(context_where + ": cluster: no cluster named '" + cluster_name +
                                  "' in clusters");
    }
    const std::string cluster_where = where + ": cluster '" + cluster_name + "'";
    YAML::Node cluster = child(*cluster_entry, "cluster");
    c.server = scalar(cluster, "server").value_or("");
    if (c.server.empty()) return invalidArgumentError(cluster_where + ": server is not set");
    if (YAML::Node v = child(cluster, "insecure-skip-tls-verify"); v && !v.IsNull()) {
      c.insecure = v.as<bool>();
    }
    auto ca =
        loadPemField(cluster, "certificate-authority", cluster_where, dir, &c.ca_file, &c.ca_data);
    if (!ca.ok()) return ca.status();
    if (!ca->empty() && !firstCertificate(*ca)) {
      return invalidArgumentError(
          cluster_where + ": " +
          (c.ca_data.empty() ? "certificate-authority" : "certificate-authority-data") +
          ": no PEM certificate");
    }

    if (std::string user_name = scalar(context, "user").value_or(""); !user_name.empty()) {
      auto user_entry = named(child(root, "users"), user_name);
      if (!user_entry) {
        return invalidArgumentError(context_where + ": user: no user named '" + user_name +
                                    "' in users");
      }
      const std::string user_where = where + ": user '" + user_name + "'";
      YAML::Node user = child(*user_entry, "user");
      c.token = scalar(user, "token").value_or("");
      if (std::string file = scalar(user, "tokenFile").value_or(""); !file.empty()) {
        c.token_file = resolvePath(dir, file);
        auto text = readFileOrError(c.token_file);
        if (!text.ok()) {
          return invalidArgumentError(user_where + ": tokenFile: " + text.status().message());
        }
        std::string token = trimmed(*text);
        if (token.empty()) {
          return invalidArgumentError(user_where + ": tokenFile: " + c.token_file + " is empty");
        }
        c.token = token;
      }
      auto cert = loadPemField(user, "client-certificate", user_where, dir, &c.client_cert_file,
                               &c.client_cert_data);
      if (!cert.ok()) return cert.status();
      auto key =
          loadPemField(user, "client-key", user_where, dir, &c.client_key_file, &c.client_key_data);
      if (!key.ok()) return key.status();
      const std::string cert_key =
          c.client_cert_data.empty() ? "client-certificate" : "client-certificate-data";
      const std::string key_key = c.client_key_data.empty() ? "client-key" : "client-key-data";
      if (!cert->empty() && key->empty()) {
        return invalidArgumentError(user_where + ": " + cert_key +
                                    " is set but neither client-key nor client-key-data");
      }
      if (cert->empty() && !key->empty()) {
        return invalidArgumentError(user_where + ": " + key_key +
                                    " is set but neither client-certificate nor "
                                    "client-certificate-data");
      }
      if (!cert->empty()) {
        Status pair =
            checkClientPair(*cert, *key, user_where + ": " + cert_key, user_where + ": " + key_key);
        if (!pair.ok()) return pair;
      }
    }
    if (auto ns = scalar(context, "namespace"); ns && !ns->empty()) c.namespace_name = *ns;
    return c;
  } catch (const YAML::Exception& e) {
    return invalidArgumentError(where + ": " + e.what());
  }
}

struct KubeClient::Impl {
  // tls_error: set (from cpprestsdk's thread) when the client certificate cannot be used.
  web::http::client::http_client_config config(int timeout_seconds, const KubeConfig& c,
                                               ClientCertificate client_cert,
                                               std::shared_ptr<std::string> tls_error) {
    web::http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::seconds(timeout_seconds));
    cfg.set_validate_certificates(!c.insecure);
    std::string ca_file = c.ca_file, ca_data = c.ca_data;
    cfg.set_ssl_context_callback([ca_file, ca_data, client_cert = std::move(client_cert),
                                  tls_error](boost::asio::ssl::context& ctx) {
      boost::system::error_code ec;
      if (!ca_file.empty()) ctx.load_verify_file(ca_file, ec);
      if (!ca_data.empty()) ctx.add_certificate_authority(boost::asio::buffer(ca_data), ec);
      useClientCertificate(ctx, client_cert, tls_error.get());
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
  auto client_cert = clientCertificate(config_);
  if (!client_cert.ok()) {
    return failedPreconditionError(method + " " + path + ": " + client_cert.status().message());
  }
  auto tls_error = std::make_shared<std::string>();
  try {
    web::http::client::http_client client(
        config_.server, impl_->config(30, config_, std::move(*client_cert), tls_error));
    web::http::http_request req(method);
    req.set_request_uri(path);
    if (std::string token = currentToken(config_); !token.empty()) {
      req.headers().add("Authorization", "Bearer " + token);
    }
    req.headers().add("Accept", "application/json");
    if (!body.empty()) req.set_body(body, content_type);
    auto res = client.request(req).get();
    std::string text = res.extract_utf8string(true).get();
    int code = res.status_code();
    if (code < 200 || code > 299) return statusFromHttp(code, text, method + " " + path);
    if (text.empty()) return json::Document();
    return json::parse(text);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    if (!tls_error->empty()) reason = *tls_error + " (" + reason + ")";
    return unavailableError(method + " " + path + ": " + reason);
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
  // Bounded: chunk bodies are handed over as they come, so only a head, a chunk line or a
  // trailer waits here, and none is legitimately this large (Beast bounds no trailer itself).
  boost::beast::flat_buffer buffer(1 << 20);
  bhttp::response_parser<bhttp::string_body> header_parser;
  header_parser.body_limit(1 << 20);  // of an error's body; the stream's is unbounded below
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
  const std::string token = currentToken(config_);
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
      return readWatch(stream.socket(), authority, target, token, timeout_seconds, on_event, stop,
                       what);
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
    auto client_cert = clientCertificate(config_);
    if (!client_cert.ok())
      return failedPreconditionError(what + ": " + client_cert.status().message());
    if (std::string error; !useClientCertificate(ctx, *client_cert, &error)) {
      return failedPreconditionError(what + ": " + error);
    }
    asio::ssl::stream<asio::ip::tcp::socket> stream(ioc, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    asio::connect(stream.next_layer(), endpoints, ec);
    if (ec) return unavailableError(what + ": " + ec.message());
    timeval tv{socket_timeout, 0};
    ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return unavailableError(what + ": TLS: " + ec.message());
    return readWatch(stream, authority, target, token, timeout_seconds, on_event, stop, what);
  } catch (const std::exception& e) {
    return unavailableError(what + ": " + e.what());
  }
}

}  // namespace outrigger::kube
