#include "sidecar/runtime/operator_client.h"

#include <yaml-cpp/yaml.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/json/json.h"
#include "common/logging/log.h"

namespace outrigger::sidecar::runtime {

namespace {
Status cancelledError() { return Status(StatusCode::kCancelled, "stopping"); }
}  // namespace

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

OperatorClient::OperatorClient(OperatorClientOptions options, Processor& processor)
    : options_(std::move(options)), processor_(processor) {}

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
}

bool OperatorClient::waitSynced(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return synced_; });
}

void OperatorClient::onSynced() {
  // After a reconnect the list is the truth: what it no longer holds was deleted meanwhile.
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    if (!seen_in_list_.count(*it)) {
      LOG_INFO << "component " << *it << " was deleted while disconnected: removing it";
      processor_.remove(*it);
      applied_.erase(*it);
      it = loaded_.erase(it);
    } else {
      ++it;
    }
  }
  listing_ = false;
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
  std::string text = json::serialize(*object);
  YAML::Node node;
  try {
    node = YAML::Load(text);  // JSON is YAML: one parser for files and the stream
  } catch (const YAML::Exception& e) {
    LOG_WARN << "operator stream: " << e.what();
    return;
  }
  auto spec = parseComponent(node, "operator");
  if (!spec.ok()) {
    LOG_ERROR << "operator stream: " << spec.status().message();
    return;
  }
  const std::string& name = spec->name;
  if (listing_) seen_in_list_.insert(name);
  if (t == "DELETED") {
    if (processor_.remove(name)) LOG_INFO << "component removed: " << name;
    loaded_.erase(name);
    applied_.erase(name);
    return;
  }
  if (!spec->scopes.empty() &&
      std::find(spec->scopes.begin(), spec->scopes.end(), options_.app_id) == spec->scopes.end()) {
    if (loaded_.count(name) && processor_.remove(name))
      LOG_INFO << "component no longer scoped here: " << name;
    loaded_.erase(name);
    applied_.erase(name);
    return;
  }
  if (applied_.count(name) && applied_[name] == text) return;  // unchanged (e.g. a relist)
  // A changed component is closed and initialised alone; the others keep serving.
  Status st = processor_.initOne(*spec);
  if (!st.ok()) {
    LOG_ERROR << "component " << name << " failed to load: " << st.message();
    processor_.recordFailure(name, st.message());
    return;
  }
  processor_.clearFailure(name);
  loaded_.insert(name);
  applied_[name] = text;
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
      "/v1/namespaces/" + options_.namespace_name + "/components/stream?appId=" + options_.app_id,
      11};
  req.set(bhttp::field::host, options_.address);
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

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.body_limit(boost::none);
  stream.expires_after(std::chrono::milliseconds(options_.heartbeat_timeout_ms));
  bhttp::read_header(stream, buffer, parser, ec);
  if (ec) return unavailableError("read: " + ec.message());
  if (parser.get().result_int() != 200) {
    return unavailableError("operator answered " + std::to_string(parser.get().result_int()));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
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
    Status st = streamOnce();
    if (stopping_) break;
    if (connected_once_) backoff = 100;  // it worked until now: retry quickly
    LOG_WARN << "operator stream: " << st.message() << "; reconnecting in " << backoff << " ms";
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return stopping_.load(); });
    backoff = std::min(backoff * 2, options_.max_backoff_ms);
  }
}

}  // namespace outrigger::sidecar::runtime
