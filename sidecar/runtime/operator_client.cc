#include "sidecar/runtime/operator_client.h"

#include <yaml-cpp/yaml.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "common/json/json.h"
#include "common/logging/log.h"

namespace outrigger::sidecar::runtime {

namespace {
Status cancelledError() { return Status(StatusCode::kCancelled, "stopping"); }
}  // namespace

std::string readOperatorToken(const std::string& token_file) {
  std::vector<std::string> candidates;
  if (!token_file.empty()) {
    candidates.push_back(token_file);
  } else if (const char* env = std::getenv("OUTRIGGER_OPERATOR_TOKEN_FILE"); env && *env) {
    candidates.push_back(env);
  } else {
    candidates.assign(std::begin(kDefaultTokenFiles), std::end(kDefaultTokenFiles));
  }
  for (const auto& path : candidates) {
    std::ifstream in(path);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = ss.str();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    if (!token.empty()) return token;
  }
  return "";
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

OperatorClient::OperatorClient(OperatorClientOptions options) : options_(std::move(options)) {}

OperatorClient::~OperatorClient() { stop(); }

void OperatorClient::start() {
  thread_ = std::thread([this] { run(); });
}

void OperatorClient::stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancel_) cancel_();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(state_mutex_);
  listener_ = nullptr;
}

bool OperatorClient::waitSynced(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return synced_; });
}

Resources OperatorClient::attach(ResourceListener* listener) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  listener_ = listener;
  Resources out;
  for (const auto& [key, held] : held_) {
    if (held.resource.kind != "Component") {
      out.others.push_back(held.resource);
    } else if (auto spec = parseComponent(held.resource.node, held.resource.source); spec.ok()) {
      out.components.push_back(std::move(*spec));
    }
  }
  return out;
}

void OperatorClient::forget(const std::string& key) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  Resource resource = std::move(it->second.resource);
  held_.erase(it);
  if (!listener_) return;
  if (resource.kind == "Component") {
    listener_->componentDeleted(resource.name);
  } else {
    listener_->resourceChanged(resource, true);
  }
}

void OperatorClient::onSynced() {
  {
    // After a reconnect the list is the truth: what it no longer holds was deleted meanwhile.
    std::lock_guard<std::mutex> lock(state_mutex_);
    std::vector<std::string> gone;
    for (const auto& [key, held] : held_) {
      if (!seen_in_list_.count(key)) gone.push_back(key);
    }
    for (const auto& key : gone) {
      LOG_INFO << key << " was deleted while disconnected: removing it";
      forget(key);
    }
    listing_ = false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  synced_ = true;
  cv_.notify_all();
}

void OperatorClient::applyLine(const std::string& line) {
  auto doc = json::parse(line);
  if (!doc.ok() || !doc->IsObject()) {
    LOG_WARN << "operator stream: ignoring a malformed event: " << line.substr(0, 200);
    return;
  }
  const json::Value* type = json::find(*doc, "type");
  std::string t = type && type->IsString() ? type->GetString() : "";
  if (t == "PING") return;
  if (t == "SYNCED") return onSynced();
  const json::Value* object = json::find(*doc, "object");
  if (!object || !object->IsObject()) {
    LOG_WARN << "operator stream: event " << t << " without an object";
    return;
  }
  Resource r;
  const json::Value* kind = json::find(*object, "kind");
  r.kind = kind && kind->IsString() ? kind->GetString() : "Component";
  const json::Value* api_version = json::find(*object, "apiVersion");
  r.api_version = api_version && api_version->IsString() ? api_version->GetString() : "";
  const json::Value* meta = json::find(*object, "metadata");
  const json::Value* name = meta ? json::find(*meta, "name") : nullptr;
  r.name = name && name->IsString() ? name->GetString() : "";
  if (r.name.empty()) {
    LOG_WARN << "operator stream: " << r.kind << " without metadata.name";
    return;
  }
  r.source = "operator: " + r.kind + " " + r.name;
  const std::string key = r.kind + "/" + r.name;

  std::lock_guard<std::mutex> lock(state_mutex_);
  if (listing_) seen_in_list_.insert(key);
  if (t == "DELETED") {
    if (held_.count(key)) {
      LOG_INFO << r.kind << " deleted: " << r.name;
    }
    return forget(key);
  }
  bool scoped_here = true;
  if (const json::Value* scopes = json::find(*object, "scopes");
      scopes && scopes->IsArray() && !scopes->Empty()) {
    scoped_here = false;
    for (const auto& s : scopes->GetArray()) {
      if (s.IsString() && options_.app_id == s.GetString()) scoped_here = true;
    }
  }
  if (!scoped_here) {
    if (held_.count(key)) {
      LOG_INFO << r.kind << " no longer scoped here: " << r.name;
    }
    return forget(key);
  }
  std::string text = json::serialize(*object);
  if (auto it = held_.find(key); it != held_.end() && it->second.text == text) return;
  try {
    r.node = YAML::Load(text);  // JSON is YAML: one parser for files and the stream
  } catch (const YAML::Exception& e) {
    LOG_WARN << "operator stream: " << e.what();
    return;
  }
  if (r.kind != "Component") {
    held_[key] = Held{text, r};
    if (listener_) listener_->resourceChanged(r, false);
    return;
  }
  auto spec = parseComponent(r.node, r.source);
  if (!spec.ok()) {
    LOG_ERROR << "operator stream: " << spec.status().message();
    if (listener_) listener_->componentInvalid(r.name, spec.status());
    return;
  }
  held_[key] = Held{text, r};
  if (listener_) listener_->componentChanged(*spec);
}

Status OperatorClient::streamOnce() {
  std::string host = options_.address, port = "6500";
  if (auto colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec) return unavailableError("cannot resolve " + options_.address + ": " + ec.message());
  stream.expires_after(std::chrono::seconds(5));
  stream.connect(results, ec);
  if (ec) return unavailableError("cannot connect to " + options_.address + ": " + ec.message());
  bhttp::request<bhttp::empty_body> req{
      bhttp::verb::get,
      "/v1/namespaces/" + options_.namespace_name + "/resources/stream?appId=" + options_.app_id,
      11};
  req.set(bhttp::field::host, options_.address);
  if (std::string token = readOperatorToken(options_.token_file); !token.empty()) {
    req.set(bhttp::field::authorization, "Bearer " + token);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return cancelledError();
    cancel_ = [&stream] {
      beast::error_code ignored;
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    };
  }
  struct ClearCancel {
    OperatorClient* self;
    ~ClearCancel() {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->cancel_ = nullptr;
    }
  } clear_cancel{this};
  bhttp::write(stream, req, ec);
  if (ec) return unavailableError("write: " + ec.message());

  // Bounded: chunk bodies are handed over as they come, so only the head, a chunk line or a
  // trailer waits here (Beast bounds no trailer itself): more is a broken or hostile peer.
  beast::flat_buffer buffer(64 * 1024);
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.body_limit(boost::none);
  stream.expires_after(std::chrono::milliseconds(options_.heartbeat_timeout_ms));
  bhttp::read_header(stream, buffer, parser, ec);
  if (ec) return unavailableError("read: " + ec.message());
  if (int code = parser.get().result_int(); code != 200) {
    std::string why = code == 401   ? " (no valid service-account token sent)"
                      : code == 403 ? " (the token's service account is not of namespace " +
                                          options_.namespace_name + ")"
                                    : "";
    return unavailableError("operator answered " + std::to_string(code) + why);
  }
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    listing_ = true;
    seen_in_list_.clear();
  }
  connected_once_ = true;
  std::string pending;
  auto on_chunk = [&](std::uint64_t, std::string_view body, beast::error_code&) -> std::size_t {
    pending.append(body.data(), body.size());
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty()) applyLine(line);
    }
    // One event line is small: a peer sending endless bytes without newlines is cut off.
    if (pending.size() > (4u << 20)) pending.clear();
    return body.size();
  };
  parser.on_chunk_body(on_chunk);
  while (!parser.is_done() && !stopping_) {
    stream.expires_after(std::chrono::milliseconds(options_.heartbeat_timeout_ms));
    bhttp::read_some(stream, buffer, parser, ec);
    if (ec) return unavailableError("stream ended: " + ec.message());
  }
  return unavailableError("stream closed by the operator");
}

void OperatorClient::run() {
  int64_t backoff = 100;
  while (!stopping_) {
    connected_once_ = false;
    Status st;
    try {
      st = streamOnce();
    } catch (const std::exception& e) {
      // Beast throws for a field it cannot hold (64 KiB): that stream ends, this thread goes on.
      st = unavailableError(std::string("stream failed: ") + e.what());
    }
    if (stopping_) break;
    if (connected_once_) backoff = 100;  // it worked until now: retry quickly
    LOG_WARN_EVERY(10) << "operator stream: " << st.message() << "; reconnecting in " << backoff
                       << " ms";
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return stopping_.load(); });
    backoff = std::min(backoff * 2, options_.max_backoff_ms);
  }
}

}  // namespace outrigger::sidecar::runtime
