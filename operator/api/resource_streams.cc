#include "operator/api/resource_streams.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/detail/base64.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/http/router.h"
#include "common/http/server.h"
#include "common/logging/log.h"

namespace outrigger::operator_::api {

namespace {

constexpr size_t kMaxQueuedLines = 1000;  // a sidecar further behind reconnects and relists
constexpr auto kHeartbeat = std::chrono::seconds(10);
constexpr size_t kMaxHeaderBytes = 16384;
constexpr auto kHeaderTimeout = std::chrono::seconds(10);

std::string field(const json::Value& object, const char* a, const char* b) {
  const json::Value* x = json::find(object, a);
  const json::Value* y = x ? json::find(*x, b) : nullptr;
  return y && y->IsString() ? y->GetString() : "";
}

bool writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool writeChunk(int fd, const std::string& line) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", line.size() + 1);
  return writeAll(fd, std::string(size) + line + "\n\r\n");
}

std::string eventLine(const std::string& type, const std::string& object_json) {
  return "{\"type\":\"" + type + "\",\"object\":" + object_json + "}";
}

// The spec list whose items may carry a secretKeyRef: component metadata, endpoint headers
// (an endpoint's spec.clientTLS parts may carry one too).
const char* secretRefList(const std::string& kind) {
  if (kind == "Component") return "metadata";
  if (kind == "HTTPEndpoint") return "headers";
  return nullptr;
}

std::string apiVersionOf(const std::string& kind) {
  return kind == "Subscription" ? "dapr.io/v2alpha1" : "dapr.io/v1alpha1";
}

}  // namespace

const std::vector<StreamedKind>& streamedKinds() {
  static const std::vector<StreamedKind> kinds = {
      {"Component", "/apis/dapr.io/v1alpha1/components"},
      {"Subscription", "/apis/dapr.io/v2alpha1/subscriptions"},
      {"Configuration", "/apis/dapr.io/v1alpha1/configurations"},
      {"Resiliency", "/apis/dapr.io/v1alpha1/resiliencies"},
      {"HTTPEndpoint", "/apis/dapr.io/v1alpha1/httpendpoints"},
  };
  return kinds;
}

bool scopedTo(const json::Value& resource, const std::string& app_id) {
  const json::Value* scopes = json::find(resource, "scopes");
  if (!scopes || !scopes->IsArray() || scopes->Empty()) return true;
  for (const auto& s : scopes->GetArray()) {
    if (s.IsString() && app_id == s.GetString()) return true;
  }
  return false;
}

ResourceStreams::~ResourceStreams() { stop(); }

std::string ResourceStreams::resolved(const std::string& kind, const json::Value& object,
                                      bool with_secrets) {
  json::Document doc;
  doc.CopyFrom(object, doc.GetAllocator());
  if (!doc.IsObject()) return "{}";
  // Items of a list response may lack kind and apiVersion; the sidecar needs both.
  if (!doc.HasMember("kind")) {
    doc.AddMember("kind", json::Value(kind.c_str(), doc.GetAllocator()), doc.GetAllocator());
  }
  if (!doc.HasMember("apiVersion")) {
    doc.AddMember("apiVersion", json::Value(apiVersionOf(kind).c_str(), doc.GetAllocator()),
                  doc.GetAllocator());
  }
  const char* list = with_secrets ? secretRefList(kind) : nullptr;
  std::string ns = field(doc, "metadata", "namespace");
  std::string store = field(doc, "auth", "secretStore");
  if (!with_secrets || !(store.empty() || store == "kubernetes")) return json::serialize(doc);
  std::string name = field(doc, "metadata", "name");
  // Replaces item's secretKeyRef by the value of the Kubernetes Secret key it names.
  auto resolve = [&](json::Value& item) {
    if (!item.IsObject() || !item.HasMember("secretKeyRef")) return;
    const json::Value& ref = item["secretKeyRef"];
    std::string secret_name =
        json::find(ref, "name") && ref["name"].IsString() ? ref["name"].GetString() : "";
    std::string key =
        json::find(ref, "key") && ref["key"].IsString() ? ref["key"].GetString() : secret_name;
    if (secret_name.empty()) return;
    auto secret = client_.get("/api/v1/namespaces/" + ns + "/secrets/" + secret_name);
    const json::Value* data = secret.ok() ? json::find(*secret, "data") : nullptr;
    const json::Value* value = data ? json::find(*data, key.c_str()) : nullptr;
    if (!value || !value->IsString()) {
      LOG_WARN << kind << " " << name << ": secret " << ns << "/" << secret_name << " key " << key
               << " not found";
      return;
    }
    std::string enc = value->GetString();
    std::string dec(boost::beast::detail::base64::decoded_size(enc.size()), '\0');
    dec.resize(boost::beast::detail::base64::decode(dec.data(), enc.data(), enc.size()).first);
    item.RemoveMember("secretKeyRef");
    item.RemoveMember("value");
    item.AddMember(
        "value",
        json::Value(dec.c_str(), static_cast<rapidjson::SizeType>(dec.size()), doc.GetAllocator()),
        doc.GetAllocator());
  };
  json::Value* spec = doc.HasMember("spec") ? &doc["spec"] : nullptr;
  if (!spec || !spec->IsObject()) return json::serialize(doc);
  json::Value* items = list && spec->HasMember(list) ? &(*spec)[list] : nullptr;
  if (items && items->IsArray()) {
    for (auto& item : items->GetArray()) resolve(item);
  }
  // An endpoint's client TLS material: rootCA, certificate and privateKey, each a value or a
  // secretKeyRef.
  if (kind == "HTTPEndpoint" && spec->HasMember("clientTLS") && (*spec)["clientTLS"].IsObject()) {
    json::Value& tls = (*spec)["clientTLS"];
    for (const char* part : {"rootCA", "certificate", "privateKey"}) {
      if (tls.HasMember(part)) resolve(tls[part]);
    }
  }
  return json::serialize(doc);
}

void ResourceStreams::publish(const std::string& namespace_name, const std::string& line) {
  for (Session* s : sessions_) {
    if (s->namespace_name != namespace_name) continue;
    if (s->lines.size() >= kMaxQueuedLines) {
      s->overflowed = true;
    } else {
      s->lines.push_back(line);
    }
    s->cv.notify_all();
  }
}

void ResourceStreams::onList(const std::string& kind, const json::Value& items) {
  const std::string prefix = kind + "/";
  std::map<std::string, std::map<std::string, std::string>> fresh;
  for (const auto& item : items.GetArray()) {
    fresh[field(item, "metadata", "namespace")][prefix + field(item, "metadata", "name")] =
        resolved(kind, item);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Tell connected sidecars what changed while the watch was down; other kinds stay as they are.
  for (auto& [ns, by_key] : cache_) {
    for (auto it = by_key.begin(); it != by_key.end();) {
      if (it->first.rfind(prefix, 0) == 0 && !fresh[ns].count(it->first)) {
        publish(ns, eventLine("DELETED", it->second));
        it = by_key.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [ns, by_key] : fresh) {
    auto& current = cache_[ns];
    for (auto& [key, text] : by_key) {
      auto it = current.find(key);
      if (it == current.end()) {
        publish(ns, eventLine("ADDED", text));
      } else if (it->second != text) {
        publish(ns, eventLine("MODIFIED", text));
      }
      current[key] = std::move(text);
    }
  }
}

void ResourceStreams::onEvent(const std::string& kind, const std::string& type,
                              const json::Value& object) {
  std::string ns = field(object, "metadata", "namespace");
  std::string key = kind + "/" + field(object, "metadata", "name");
  // A deleted object's secrets are not looked up again: the sidecar needs its name only.
  std::string text = resolved(kind, object, type != "DELETED");
  std::lock_guard<std::mutex> lock(mutex_);
  if (type == "DELETED") {
    cache_[ns].erase(key);
  } else {
    cache_[ns][key] = text;
  }
  publish(ns, eventLine(type, text));
}

void ResourceStreams::requireTokens(std::vector<std::string> audiences) {
  require_tokens_ = true;
  audiences_ = std::move(audiences);
}

int ResourceStreams::authorize(const std::string& request, const std::string& namespace_name,
                               std::string* why) {
  if (!require_tokens_) return 0;
  // The Authorization header of the request head (names are case-insensitive).
  std::string token;
  for (size_t start = request.find("\r\n"); start != std::string::npos;) {
    start += 2;
    size_t end = request.find("\r\n", start);
    std::string line = request.substr(start, end == std::string::npos ? end : end - start);
    start = end;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "authorization") continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (value.size() > 7 && strncasecmp(value.c_str(), "Bearer ", 7) == 0) token = value.substr(7);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
  }
  if (token.empty()) {
    *why = "a service-account token is required (Authorization: Bearer)";
    return 401;
  }
  std::string user;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(reviewed_mutex_);
    auto it = reviewed_.find(token);
    if (it != reviewed_.end() && it->second.second > now) user = it->second.first;
  }
  if (user.empty()) {
    auto review = client_.reviewToken(token, audiences_);
    // A token for the API server itself (the pod's own) is good too.
    if (review.ok() && !review->authenticated && !audiences_.empty()) {
      review = client_.reviewToken(token, {});
    }
    if (!review.ok()) {
      LOG_WARN_EVERY(10) << "sidecar stream: TokenReview failed: " << review.status().message();
      *why = "cannot review the token now";
      return 503;
    }
    if (!review->authenticated || review->username.empty()) {
      *why = "the token is not valid" + (review->error.empty() ? "" : ": " + review->error);
      return 401;
    }
    user = review->username;
    std::lock_guard<std::mutex> lock(reviewed_mutex_);
    if (reviewed_.size() > 4096) reviewed_.clear();
    reviewed_[token] = {user, now + std::chrono::seconds(60)};
  }
  const std::string prefix = "system:serviceaccount:" + namespace_name + ":";
  if (user.rfind(prefix, 0) != 0 || user.size() == prefix.size()) {
    *why = user + " may not read the resources of namespace " + namespace_name;
    return 403;
  }
  return 0;
}

Status ResourceStreams::listen(const std::string& address, uint16_t port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return invalidArgumentError("invalid listen address " + address);
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    return unavailableError("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                            std::strerror(errno));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
  return okStatus();
}

void ResourceStreams::acceptLoop() {
  http::AcceptBackoff backoff;
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      int error = errno;
      LOG_WARN_EVERY(10) << "sidecar stream: accept failed: " << std::strerror(error);
      if (http::isResourceShortage(
              boost::system::error_code(error, boost::system::system_category()))) {
        // The connection stays in the backlog and poll says so at once: wait before retrying.
        std::this_thread::sleep_for(backoff.next());
      }
      continue;
    }
    backoff.reset();
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{10, 0};  // a client that never sends its request, or stops reading, is dropped
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    active_++;
    try {
      std::thread([this, fd] {
        try {
          serve(fd);
        } catch (const std::exception& e) {
          LOG_ERROR_EVERY(10) << "sidecar stream failed: " << e.what();
        }
        active_--;
      }).detach();
    } catch (const std::exception& e) {
      LOG_ERROR_EVERY(10) << "sidecar stream: cannot serve a connection: " << e.what();
      ::close(fd);
      active_--;
    }
  }
}

void ResourceStreams::serve(int fd) {
  // Closed however serve ends (a throw included).
  struct Closer {
    int fd;
    ~Closer() {
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
    }
  } closer{fd};
  std::string request;
  char buf[4096];
  // The whole head within kHeaderTimeout, however slowly it trickles in.
  auto deadline = std::chrono::steady_clock::now() + kHeaderTimeout;
  bool complete = false;
  while (!(complete = request.find("\r\n\r\n") != std::string::npos) &&
         request.size() < kMaxHeaderBytes && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  if (!complete) {
    if (request.size() >= kMaxHeaderBytes) {
      writeAll(fd,
               "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n");
    }
    return;
  }
  std::string target;
  if (auto sp = request.find(' '); sp != std::string::npos) {
    target = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
  }
  std::string_view path, query;
  http::splitTarget(target, &path, &query);
  // /v1/namespaces/{ns}/resources/stream
  std::string p(path);
  const std::string prefix = "/v1/namespaces/", suffix = "/resources/stream";
  if (request.rfind("GET ", 0) != 0 || p.rfind(prefix, 0) != 0 ||
      p.size() <= prefix.size() + suffix.size() ||
      p.compare(p.size() - suffix.size(), suffix.size(), suffix) != 0) {
    writeAll(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  Session session;
  session.namespace_name = p.substr(prefix.size(), p.size() - prefix.size() - suffix.size());
  std::string why;
  if (int code = authorize(request, session.namespace_name, &why); code != 0) {
    json::Document body(rapidjson::kObjectType);
    body.AddMember("message", json::Value(why.c_str(), body.GetAllocator()), body.GetAllocator());
    std::string text = json::serialize(body);
    const char* reason = code == 401   ? "Unauthorized"
                         : code == 403 ? "Forbidden"
                                       : "Service Unavailable";
    LOG_INFO_EVERY(10) << "sidecar stream for namespace " << session.namespace_name << " refused ("
                       << code << "): " << why;
    writeAll(fd, "HTTP/1.1 " + std::to_string(code) + " " + reason +
                     "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text);
    return;
  }
  for (auto& [k, v] : http::parseQuery(query)) {
    if (k == "appId") session.app_id = v;
  }
  std::deque<std::string> initial;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [key, text] : cache_[session.namespace_name]) {
      auto doc = json::parse(text);
      if (doc.ok() && scopedTo(*doc, session.app_id)) initial.push_back(eventLine("ADDED", text));
    }
    initial.push_back("{\"type\":\"SYNCED\"}");
    sessions_.insert(&session);
  }
  // Unregistered however serve ends, before `session` goes.
  struct Unregister {
    ResourceStreams* self;
    Session* session;
    ~Unregister() {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->sessions_.erase(session);
    }
  } unregister{this, &session};
  bool ok = writeAll(fd,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n");
  for (const auto& line : initial) ok = ok && writeChunk(fd, line);
  while (ok && !stopping_) {
    std::unique_lock<std::mutex> lock(mutex_);
    bool woke = session.cv.wait_for(lock, kHeartbeat, [&] {
      return stopping_ || session.overflowed || !session.lines.empty();
    });
    if (session.overflowed) break;
    std::deque<std::string> lines;
    lines.swap(session.lines);
    lock.unlock();
    if (!woke) ok = writeChunk(fd, "{\"type\":\"PING\"}");
    for (const auto& line : lines) ok = ok && writeChunk(fd, line);
  }
}

size_t ResourceStreams::sessionCount() {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

void ResourceStreams::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Session* s : sessions_) s->cv.notify_all();
  }
  if (acceptor_.joinable()) acceptor_.join();
  // Serving threads notice stopping_ at their next wake-up; bounded by the send timeout.
  for (int i = 0; i < 300 && active_ > 0; ++i) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (Session* s : sessions_) s->cv.notify_all();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

}  // namespace outrigger::operator_::api
