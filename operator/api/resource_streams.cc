#include "operator/api/component_streams.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/detail/base64.hpp>
#include <chrono>
#include <cstring>

#include "common/http/router.h"
#include "common/logging/log.h"

namespace outrigger::operator_::api {

namespace {

constexpr size_t kMaxQueuedLines = 1000;  // a sidecar further behind reconnects and relists
constexpr auto kHeartbeat = std::chrono::seconds(10);

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

}  // namespace

bool scopedTo(const json::Value& component, const std::string& app_id) {
  const json::Value* scopes = json::find(component, "scopes");
  if (!scopes || !scopes->IsArray() || scopes->Empty()) return true;
  for (const auto& s : scopes->GetArray()) {
    if (s.IsString() && app_id == s.GetString()) return true;
  }
  return false;
}

ComponentStreams::~ComponentStreams() { stop(); }

std::string ComponentStreams::resolved(const json::Value& object) {
  json::Document doc;
  doc.CopyFrom(object, doc.GetAllocator());
  std::string ns = field(doc, "metadata", "namespace");
  std::string store = field(doc, "auth", "secretStore");
  json::Value* spec = doc.HasMember("spec") ? &doc["spec"] : nullptr;
  json::Value* items =
      spec && spec->IsObject() && spec->HasMember("metadata") ? &(*spec)["metadata"] : nullptr;
  if (items && items->IsArray() && (store.empty() || store == "kubernetes")) {
    for (auto& item : items->GetArray()) {
      if (!item.IsObject() || !item.HasMember("secretKeyRef")) continue;
      const json::Value& ref = item["secretKeyRef"];
      std::string name =
          json::find(ref, "name") && ref["name"].IsString() ? ref["name"].GetString() : "";
      std::string key =
          json::find(ref, "key") && ref["key"].IsString() ? ref["key"].GetString() : name;
      if (name.empty()) continue;
      auto secret = client_.get("/api/v1/namespaces/" + ns + "/secrets/" + name);
      const json::Value* data = secret.ok() ? json::find(*secret, "data") : nullptr;
      const json::Value* value = data ? json::find(*data, key.c_str()) : nullptr;
      if (!value || !value->IsString()) {
        LOG_WARN << "component " << field(doc, "metadata", "name") << ": secret " << ns << "/"
                 << name << " key " << key << " not found";
        continue;
      }
      std::string enc = value->GetString();
      std::string dec(boost::beast::detail::base64::decoded_size(enc.size()), '\0');
      dec.resize(boost::beast::detail::base64::decode(dec.data(), enc.data(), enc.size()).first);
      item.RemoveMember("secretKeyRef");
      item.RemoveMember("value");
      item.AddMember("value",
                     json::Value(dec.c_str(), static_cast<rapidjson::SizeType>(dec.size()),
                                 doc.GetAllocator()),
                     doc.GetAllocator());
    }
  }
  return json::serialize(doc);
}

void ComponentStreams::publish(const std::string& namespace_name, const std::string& line) {
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

void ComponentStreams::onList(const json::Value& items) {
  std::map<std::string, std::map<std::string, std::string>> fresh;
  for (const auto& item : items.GetArray()) {
    fresh[field(item, "metadata", "namespace")][field(item, "metadata", "name")] = resolved(item);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Tell connected sidecars what changed while the watch was down.
  for (const auto& [ns, by_name] : cache_) {
    for (const auto& [name, text] : by_name) {
      auto it = fresh[ns].find(name);
      if (it == fresh[ns].end()) publish(ns, eventLine("DELETED", text));
    }
  }
  for (const auto& [ns, by_name] : fresh) {
    for (const auto& [name, text] : by_name) {
      auto& old = cache_[ns];
      auto it = old.find(name);
      if (it == old.end()) {
        publish(ns, eventLine("ADDED", text));
      } else if (it->second != text) {
        publish(ns, eventLine("MODIFIED", text));
      }
    }
  }
  cache_ = std::move(fresh);
}

void ComponentStreams::onEvent(const std::string& type, const json::Value& object) {
  std::string ns = field(object, "metadata", "namespace");
  std::string name = field(object, "metadata", "name");
  std::string text = type == "DELETED" ? json::serialize(object) : resolved(object);
  std::lock_guard<std::mutex> lock(mutex_);
  if (type == "DELETED") {
    cache_[ns].erase(name);
  } else {
    cache_[ns][name] = text;
  }
  publish(ns, eventLine(type, text));
}

Status ComponentStreams::listen(const std::string& address, uint16_t port) {
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

void ComponentStreams::acceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{10, 0};  // a client that never sends its request, or stops reading, is dropped
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    active_++;
    std::thread([this, fd] {
      serve(fd);
      active_--;
    }).detach();
  }
}

void ComponentStreams::serve(int fd) {
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  std::string target;
  if (auto sp = request.find(' '); sp != std::string::npos) {
    target = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
  }
  std::string_view path, query;
  http::splitTarget(target, &path, &query);
  // /v1/namespaces/{ns}/components/stream
  std::string p(path);
  const std::string prefix = "/v1/namespaces/", suffix = "/components/stream";
  if (request.rfind("GET ", 0) != 0 || p.rfind(prefix, 0) != 0 ||
      p.size() <= prefix.size() + suffix.size() ||
      p.compare(p.size() - suffix.size(), suffix.size(), suffix) != 0) {
    writeAll(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    ::close(fd);
    return;
  }
  Session session;
  session.namespace_name = p.substr(prefix.size(), p.size() - prefix.size() - suffix.size());
  for (auto& [k, v] : http::parseQuery(query)) {
    if (k == "appId") session.app_id = v;
  }
  std::deque<std::string> initial;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, text] : cache_[session.namespace_name]) {
      json::Document doc;
      doc.Parse(text.c_str());
      if (scopedTo(doc, session.app_id)) initial.push_back(eventLine("ADDED", text));
    }
    initial.push_back("{\"type\":\"SYNCED\"}");
    sessions_.insert(&session);
  }
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sessions_.erase(&session);
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

size_t ComponentStreams::sessionCount() {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

void ComponentStreams::stop() {
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
