#include "sidecar/components/common/rabbitmq/amqp_client.h"

#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::common::rabbitmq {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kPollMs = 500;  // a consumer's longest wait for a message: bounds stop()

timeval toTimeval(int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::string describe(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "connection closed by the broker: " + bytesToString(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "channel closed by the broker: " + bytesToString(m->reply_text);
      }
      return "broker error";
  }
  return "unknown error";
}

}  // namespace

std::string bytesToString(amqp_bytes_t b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

amqp_bytes_t bytesOf(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

amqp_table_entry_t intEntry(const char* key, int64_t value) {
  amqp_table_entry_t e;
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_I64;
  e.value.value.i64 = value;
  return e;
}

namespace {

amqp_table_entry_t utf8Entry(amqp_bytes_t key, amqp_bytes_t value) {
  amqp_table_entry_t e;
  e.key = key;
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = value;
  return e;
}

}  // namespace

amqp_table_entry_t stringEntry(const std::string& key, const std::string& value) {
  return utf8Entry(bytesOf(key), bytesOf(value));
}

amqp_table_entry_t stringEntry(const char* key, const std::string& value) {
  return utf8Entry(amqp_cstring_bytes(key), bytesOf(value));
}

Status parseUrl(const std::string& url, const std::string& field, Address* c) {
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
    return invalidArgumentError("metadata field '" + field +
                                "': not an AMQP URL (amqp://user:pass@host:port/vhost)");
  }
  if (info.ssl) {
    return unimplementedError("metadata field '" + field +
                              "': amqps (TLS) is not supported yet; use amqp://");
  }
  c->host = info.host;
  c->port = info.port;
  c->user = info.user;
  c->password = info.password;
  c->vhost = info.vhost && *info.vhost ? info.vhost : "/";
  return okStatus();
}

// ---- Connection ----

Connection::~Connection() {
  if (!conn_) return;
  // A broken connection is only freed: closing it would wait for a broker that is gone.
  if (!broken_) {
    amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn_);
}

Status Connection::open(const Address& c, int heartbeat) {
  conn_ = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
  if (!socket) return fail(internalError("rabbitmq: cannot create a socket"));
  timeval tv = toTimeval(c.timeout_ms);
  std::string where = c.host + ":" + std::to_string(c.port);
  int rc = amqp_socket_open_noblock(socket, c.host.c_str(), c.port, &tv);
  if (rc != AMQP_STATUS_OK) {
    return fail(
        unavailableError("rabbitmq: cannot connect to " + where + ": " + amqp_error_string2(rc)));
  }
  amqp_set_handshake_timeout(conn_, &tv);
  amqp_set_rpc_timeout(conn_, &tv);
  amqp_rpc_reply_t r = amqp_login(conn_, c.vhost.c_str(), 0, 131072, heartbeat,
                                  AMQP_SASL_METHOD_PLAIN, c.user.c_str(), c.password.c_str());
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail(unavailableError("rabbitmq: login to " + where + " (vhost '" + c.vhost +
                                 "') failed: " + describe(r)));
  }
  amqp_channel_open(conn_, kChannel);
  return check("channel.open");
}

Status Connection::check(const std::string& what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return okStatus();
  Status st = r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
                  ? internalError("rabbitmq: " + what + ": " + describe(r))
                  : unavailableError("rabbitmq: " + what + ": " + describe(r));
  return fail(st);
}

Status Connection::fail(Status st) {
  broken_ = true;
  return st;
}

Status Connection::enableConfirms() {
  amqp_confirm_select_t req{0};
  amqp_simple_rpc_decoded(conn_, kChannel, AMQP_CONFIRM_SELECT_METHOD,
                          AMQP_CONFIRM_SELECT_OK_METHOD, &req);
  return check("confirm.select");
}

Status Connection::publishConfirmed(const std::string& exchange, const std::string& routing_key,
                                    const amqp_basic_properties_t& props, const std::string& body,
                                    int64_t timeout_ms, bool mandatory) {
  uint64_t tag = ++published_;  // confirm tags count the channel's publishes from 1
  int rc = amqp_basic_publish(conn_, kChannel, bytesOf(exchange), bytesOf(routing_key),
                              mandatory ? 1 : 0, 0, &props, bytesOf(body));
  if (rc != AMQP_STATUS_OK) {
    return fail(unavailableError(std::string("rabbitmq: publish: ") + amqp_error_string2(rc)));
  }
  // A returned message (mandatory, no queue bound) is confirmed too, after its basic.return.
  bool returned = false;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return fail(deadlineExceededError("rabbitmq: no confirm from the broker within " +
                                        std::to_string(timeout_ms) + " ms"));
    }
    timeval tv = toTimeval(left.count());
    amqp_frame_t frame;
    amqp_maybe_release_buffers(conn_);
    rc = amqp_simple_wait_frame_noblock(conn_, &frame, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) continue;
    if (rc != AMQP_STATUS_OK) {
      return fail(unavailableError(std::string("rabbitmq: waiting for the confirm: ") +
                                   amqp_error_string2(rc)));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;  // a returned message's header, body
    switch (frame.payload.method.id) {
      case AMQP_BASIC_RETURN_METHOD: returned = true; break;
      case AMQP_BASIC_ACK_METHOD: {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (ack->delivery_tag == tag || (ack->multiple && ack->delivery_tag >= tag)) {
          if (returned) {
            return notFoundError("rabbitmq: no queue took the message (routing key '" +
                                 routing_key + "')");
          }
          return okStatus();
        }
        break;  // an earlier message's confirm
      }
      case AMQP_BASIC_NACK_METHOD: {
        auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
        if (nack->delivery_tag == tag || (nack->multiple && nack->delivery_tag >= tag))
          return unavailableError("rabbitmq: the broker refused the message (basic.nack)");
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD: {
        auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
        // E.g. the exchange went (auto-delete): the caller may retry once on a new connection,
        // which declares it again.
        return fail(
            unavailableError("rabbitmq: publish to exchange '" + exchange +
                             "': channel closed by the broker: " + bytesToString(m->reply_text)));
      }
      case AMQP_CONNECTION_CLOSE_METHOD:
        return fail(unavailableError("rabbitmq: the broker closed the connection"));
      default: break;
    }
  }
}

// ---- Consumer ----

Consumer::Consumer(Address address, Options options, SetUp set_up, Handle handle)
    : Consumer(std::move(address), std::move(options), std::move(set_up),
               HandleBatch([handle = std::move(handle)](const std::vector<Delivery>& batch) {
                 std::vector<Outcome> out;
                 out.reserve(batch.size());
                 for (const auto& d : batch) out.push_back(handle(d));
                 return out;
               })) {
  options_.max_batch = 1;
}

Consumer::Consumer(Address address, Options options, SetUp set_up, HandleBatch handle)
    : address_(std::move(address)),
      options_(std::move(options)),
      set_up_(std::move(set_up)),
      handle_(std::move(handle)) {
  options_.max_batch = std::max(1, options_.max_batch);
  options_.batch_await_ms = std::max<int64_t>(0, options_.batch_await_ms);
}

Consumer::~Consumer() { stop(); }

Status Consumer::start() {
  auto conn = std::make_unique<Connection>();
  RETURN_IF_ERROR(conn->open(address_, options_.heartbeat_seconds));
  RETURN_IF_ERROR(set_up_(*conn));
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return unavailableError("rabbitmq: the component is closed");
  conn_ = std::move(conn);
  thread_ = std::thread([this] { run(); });
  return okStatus();
}

bool Consumer::pause(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopped_; });
}

bool Consumer::stopping() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopped_;
}

namespace {

Delivery toDelivery(const amqp_envelope_t& envelope) {
  Delivery d;
  const amqp_basic_properties_t& props = envelope.message.properties;
  d.body = bytesToString(envelope.message.body);
  if (props._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
    d.content_type = bytesToString(props.content_type);
  if (props._flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < props.headers.num_entries; ++i) {
      const amqp_table_entry_t& e = props.headers.entries[i];
      if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES)
        d.headers[bytesToString(e.key)] = bytesToString(e.value.value.bytes);
    }
  }
  return d;
}

}  // namespace

bool Consumer::connected() {
  while (!stopping()) {
    if (conn_ && !conn_->broken()) return true;
    conn_.reset();
    auto conn = std::make_unique<Connection>();
    Status st = conn->open(address_, options_.heartbeat_seconds);
    if (st.ok()) st = set_up_(*conn);
    if (st.ok()) {
      conn_ = std::move(conn);
      return true;
    }
    LOG_WARN << options_.who << ": " << st.message() << "; retrying in "
             << options_.reconnect_wait_ms << " ms";
    if (!pause(std::max<int64_t>(options_.reconnect_wait_ms, 10))) break;
  }
  return false;
}

Consumer::Read Consumer::next(int64_t wait_ms, std::vector<Delivery>* deliveries,
                              std::vector<uint64_t>* tags) {
  amqp_connection_state_t c = conn_->get();
  amqp_maybe_release_buffers(c);
  amqp_envelope_t envelope;
  // A zero timeout reads only what is buffered or already on the socket (librabbitmq polls).
  timeval tv = toTimeval(wait_ms);
  amqp_rpc_reply_t r = amqp_consume_message(c, &envelope, &tv, 0);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) {
    deliveries->push_back(toDelivery(envelope));
    tags->push_back(envelope.delivery_tag);
    amqp_destroy_envelope(&envelope);
    return Read::kDelivery;
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
    return Read::kNothing;
  // Anything but a delivery (channel or connection closed, consumer cancelled because the queue
  // went): start over on a new connection.
  std::string why = describe(r);
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    amqp_frame_t frame;
    timeval ftv = toTimeval(kPollMs);
    if (amqp_simple_wait_frame_noblock(c, &frame, &ftv) == AMQP_STATUS_OK &&
        frame.frame_type == AMQP_FRAME_METHOD) {
      const char* name = amqp_method_name(frame.payload.method.id);
      why = std::string("broker sent ") + (name ? name : "an unexpected method");
    }
  }
  LOG_WARN << options_.who << ": " << why << "; reconnecting";
  conn_->fail(unavailableError(why));
  return Read::kBroken;
}

void Consumer::settle(const std::vector<uint64_t>& tags, std::vector<Outcome> outcomes) {
  if (outcomes.size() != tags.size()) {
    LOG_WARN << options_.who << ": the handler answered " << outcomes.size() << " outcomes for "
             << tags.size() << " messages; the unanswered ones are requeued";
    outcomes.resize(tags.size(), Outcome::kRequeue);
  }
  bool all_acked = true;
  bool requeue = false;
  for (Outcome o : outcomes) {
    all_acked = all_acked && o == Outcome::kAck;
    requeue = requeue || o == Outcome::kRequeue;
  }
  // Requeued at the head of its queue, a message comes straight back: one pause per batch keeps
  // a failing app from being called in a tight loop.
  if (requeue) pause(options_.requeue_pause_ms);
  amqp_connection_state_t c = conn_->get();
  int rc = AMQP_STATUS_OK;
  if (all_acked) {
    // The batch is all this channel has unacknowledged: one frame acknowledges it.
    rc = amqp_basic_ack(c, kChannel, tags.back(), /*multiple=*/tags.size() > 1 ? 1 : 0);
  } else {
    for (size_t i = 0; i < tags.size() && rc == AMQP_STATUS_OK; ++i) {
      switch (outcomes[i]) {
        case Outcome::kAck: rc = amqp_basic_ack(c, kChannel, tags[i], 0); break;
        case Outcome::kReject: rc = amqp_basic_reject(c, kChannel, tags[i], /*requeue=*/0); break;
        case Outcome::kRequeue:
        default: rc = amqp_basic_nack(c, kChannel, tags[i], 0, /*requeue=*/1); break;
      }
    }
  }
  if (rc != AMQP_STATUS_OK) {
    // The broker requeues what is unsettled with the connection: delivered again, at least once.
    conn_->fail(unavailableError(amqp_error_string2(rc)));
  }
}

void Consumer::run() {
  std::vector<Delivery> batch;
  std::vector<uint64_t> tags;
  while (connected()) {
    batch.clear();
    tags.clear();
    // Short polls for the first delivery, so that stop() is noticed.
    Read r = next(kPollMs, &batch, &tags);
    if (r != Read::kDelivery) continue;
    auto deadline = Clock::now() + std::chrono::milliseconds(options_.batch_await_ms);
    while (static_cast<int>(batch.size()) < options_.max_batch && !stopping()) {
      int64_t left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      // Past the deadline what already arrived is still taken, without waiting.
      r = next(std::clamp<int64_t>(left, 0, kPollMs), &batch, &tags);
      if (r == Read::kBroken || (r == Read::kNothing && left <= 0)) break;
    }
    // A lost connection takes the batch's deliveries back to the queue: their tags mean nothing
    // on the next connection, so they are neither handled nor acknowledged. Stopping leaves them
    // to the broker likewise.
    if (conn_->broken() || stopping()) continue;
    settle(tags, handle_(batch));
  }
  conn_.reset();  // unacknowledged messages return to the queue
}

void Consumer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace outrigger::sidecar::components::common::rabbitmq
