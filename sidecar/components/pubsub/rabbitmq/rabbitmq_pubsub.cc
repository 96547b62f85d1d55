#include "sidecar/components/pubsub/rabbitmq/rabbitmq_pubsub.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <strings.h>

#include <chrono>
#include <cstring>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::rabbitmq {

namespace {

using Clock = std::chrono::steady_clock;
constexpr amqp_channel_t kChannel = 1;
constexpr int64_t kPollMs = 500;  // a consumer's longest wait for a message: bounds close()
// A message the app failed is requeued at the head of its queue and comes straight back; the
// pause keeps a failing app from being called in a tight loop.
constexpr int64_t kRequeuePauseMs = 100;
constexpr int kHeartbeatSeconds = 10;  // consumers: a silent broker is noticed in ~20 s

timeval toTimeval(int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::string bytesToString(amqp_bytes_t b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

amqp_bytes_t bytesOf(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
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

// One AMQP connection with channel 1 open. Not thread-safe: each user holds it alone.
class RabbitMqPubSub::Connection {
 public:
  ~Connection() {
    if (!conn_) return;
    // A broken connection is only freed: closing it would wait for a broker that is gone.
    if (!broken_) {
      amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn_);
  }

  Status open(const Config& c, int heartbeat) {
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

  // The outcome of the last RPC; any failure leaves the connection unusable (a closed channel, or
  // a reply that may still arrive), so it is marked broken.
  Status check(const std::string& what) {
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return okStatus();
    Status st = r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
                    ? internalError("rabbitmq: " + what + ": " + describe(r))
                    : unavailableError("rabbitmq: " + what + ": " + describe(r));
    return fail(st);
  }

  Status fail(Status st) {
    broken_ = true;
    return st;
  }

  Status enableConfirms() {
    amqp_confirm_select_t req{0};
    amqp_simple_rpc_decoded(conn_, kChannel, AMQP_CONFIRM_SELECT_METHOD,
                            AMQP_CONFIRM_SELECT_OK_METHOD, &req);
    return check("confirm.select");
  }

  // Publishes and waits for the broker's confirm of this message.
  Status publishConfirmed(const std::string& exchange, const std::string& routing_key,
                          const amqp_basic_properties_t& props, const std::string& body,
                          int64_t timeout_ms) {
    uint64_t tag = ++published_;  // confirm tags count the channel's publishes from 1
    int rc = amqp_basic_publish(conn_, kChannel, bytesOf(exchange), bytesOf(routing_key), 0, 0,
                                &props, bytesOf(body));
    if (rc != AMQP_STATUS_OK) {
      return fail(unavailableError(std::string("rabbitmq: publish: ") + amqp_error_string2(rc)));
    }
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
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
          if (ack->delivery_tag == tag || (ack->multiple && ack->delivery_tag >= tag))
            return okStatus();
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
          // E.g. the exchange went (auto-delete): retried once on a new connection, which
          // declares it again.
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

  amqp_connection_state_t get() const { return conn_; }
  bool broken() const { return broken_; }

 private:
  amqp_connection_state_t conn_ = nullptr;
  bool broken_ = false;
  uint64_t published_ = 0;
};

struct RabbitMqPubSub::Subscription {
  std::string topic;
  std::string queue;
  std::vector<std::string> routing_keys;
  Handler handler;
  std::unique_ptr<Connection> conn;
  std::thread thread;
};

RabbitMqPubSub::~RabbitMqPubSub() { close(); }

namespace {

// amqp://user:pass@host:port/vhost (librabbitmq's parser; an empty vhost means "/", as the Go
// client Dapr uses reads it).
Status parseUrl(const std::string& url, RabbitMqPubSub::Config* c, const std::string& field) {
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

}  // namespace

Status RabbitMqPubSub::init(const runtime::Properties& p) {
  Config c;
  // connectionString (or its older name host) wins; else hostname[:port], username, password.
  std::string url = p.get("connectionString");
  std::string field = "connectionString";
  if (url.empty() && !p.get("host").empty()) {
    url = p.get("host");
    field = "host";
  }
  if (!url.empty()) {
    RETURN_IF_ERROR(parseUrl(url, &c, field));
  } else if (!p.get("hostname").empty()) {
    c.host = p.get("hostname");
    auto colon = c.host.rfind(':');
    if (colon != std::string::npos) {
      int64_t port = 0;
      if (!runtime::parseInt(c.host.substr(colon + 1), &port) || port <= 0 || port > 65535)
        return invalidArgumentError("metadata field 'hostname': bad port in '" + c.host + "'");
      c.port = static_cast<int>(port);
      c.host = c.host.substr(0, colon);
    }
    if (p.has("username")) c.user = p.get("username");
    if (p.has("password")) c.password = p.get("password");
  } else {
    return invalidArgumentError(
        "metadata field 'connectionString' is required (or 'hostname' with 'username' and "
        "'password')");
  }
  std::string protocol = p.get("protocol");
  if (!protocol.empty() && strcasecmp(protocol.c_str(), "amqp") != 0) {
    return unimplementedError("metadata field 'protocol': only amqp is supported, not '" +
                              protocol + "'");
  }
  c.consumer_id = p.get("consumerID");
  if (c.consumer_id.empty()) return invalidArgumentError("metadata field 'consumerID' is required");
  if (p.getBool("autoAck")) {
    return invalidArgumentError(
        "metadata field 'autoAck': true would acknowledge messages before the app processed "
        "them; Outrigger acknowledges after the app succeeded");
  }
  c.durable = p.getBool("durable", false);
  c.auto_delete = p.getBool("deletedWhenUnused", true);
  c.requeue_in_failure = p.getBool("requeueInFailure", false);
  c.dead_letter = p.getBool("enableDeadLetter", false);
  int64_t mode = p.getInt("deliveryMode", 0);
  if (mode < 0 || mode > 2)
    return invalidArgumentError("metadata field 'deliveryMode' must be 0, 1 or 2 (2: persistent)");
  c.delivery_mode = static_cast<int>(mode);
  int64_t prefetch = p.getInt("prefetchCount", 0);
  if (prefetch < 0 || prefetch > 65535)
    return invalidArgumentError("metadata field 'prefetchCount' must be between 0 and 65535");
  c.prefetch = static_cast<int>(prefetch);
  c.max_len = p.getInt("maxLen", 0);
  c.max_len_bytes = p.getInt("maxLenBytes", 0);
  if (c.max_len < 0 || c.max_len_bytes < 0)
    return invalidArgumentError("metadata fields 'maxLen' and 'maxLenBytes' must not be negative");
  c.exchange_kind = p.get("exchangeKind", "fanout");
  for (auto& ch : c.exchange_kind) ch = static_cast<char>(std::tolower(ch));
  c.reconnect_wait_ms = p.getDurationMs("reconnectWait", 3000);
  // Dapr's metadata.yaml also names it reconnectWaitSeconds.
  if (p.has("reconnectWaitSeconds")) {
    int64_t ms = 0;
    if (!runtime::parseDurationMs(p.get("reconnectWaitSeconds"), &ms))
      return invalidArgumentError("metadata field 'reconnectWaitSeconds' is not a duration");
    c.reconnect_wait_ms = ms;
  }
  if (c.reconnect_wait_ms < 0)
    return invalidArgumentError("metadata field 'reconnectWait' must not be negative");
  config_ = c;
  // Fail at start-up on a wrong address or credentials, as Dapr does.
  auto conn = std::make_unique<Connection>();
  RETURN_IF_ERROR(conn->open(config_, 0));
  RETURN_IF_ERROR(conn->enableConfirms());
  std::lock_guard<std::mutex> lock(publish_mutex_);
  publisher_ = std::move(conn);
  declared_.clear();
  return okStatus();
}

Status RabbitMqPubSub::publish(const PublishRequest& request) {
  if (closed_) return unavailableError("rabbitmq: the component is closed");
  std::lock_guard<std::mutex> lock(publish_mutex_);
  // A connection found broken is replaced once: the broker may have restarted since.
  for (int attempt = 0;; ++attempt) {
    Status st = publishOnce(request);
    if (st.ok() || attempt == 1 || st.code() != StatusCode::kUnavailable) return st;
    LOG_WARN << "pubsub.rabbitmq: " << st.message() << "; publishing again on a new connection";
  }
}

// Under publish_mutex_.
Status RabbitMqPubSub::publishOnce(const PublishRequest& request) {
  if (publisher_ && publisher_->broken()) publisher_.reset();
  if (!publisher_) {
    auto conn = std::make_unique<Connection>();
    RETURN_IF_ERROR(conn->open(config_, 0));  // no heartbeats: an idle publisher is not polled
    RETURN_IF_ERROR(conn->enableConfirms());
    publisher_ = std::move(conn);
    declared_.clear();
  }
  if (!declared_.count(request.topic)) {
    amqp_exchange_declare(publisher_->get(), kChannel, bytesOf(request.topic),
                          amqp_cstring_bytes(config_.exchange_kind.c_str()), 0, config_.durable,
                          config_.auto_delete, 0, amqp_empty_table);
    RETURN_IF_ERROR(publisher_->check("declaring exchange '" + request.topic + "'"));
    declared_.insert(request.topic);
  }
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof(props));
  std::string content_type = request.content_type.empty() ? "text/plain" : request.content_type;
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.content_type = bytesOf(content_type);
  if (config_.delivery_mode > 0) {
    props._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = static_cast<uint8_t>(config_.delivery_mode);
  }
  std::string routing_key;
  if (auto it = request.metadata.find("routingKey"); it != request.metadata.end())
    routing_key = it->second;
  return publisher_->publishConfirmed(request.topic, routing_key, props, request.data,
                                      config_.timeout_ms);
}

Status RabbitMqPubSub::setUp(Connection& conn, const Subscription& sub) const {
  amqp_connection_state_t c = conn.get();
  amqp_exchange_declare(c, kChannel, bytesOf(sub.topic),
                        amqp_cstring_bytes(config_.exchange_kind.c_str()), 0, config_.durable,
                        config_.auto_delete, 0, amqp_empty_table);
  RETURN_IF_ERROR(conn.check("declaring exchange '" + sub.topic + "'"));
  // Queue arguments: the dead-letter exchange and the length limits (these apply to the DLQ too).
  std::string dlx = "dlx-" + sub.queue;
  std::string dlq = "dlq-" + sub.queue;
  std::vector<amqp_table_entry_t> limits;
  auto addInt = [](std::vector<amqp_table_entry_t>* t, const char* key, int64_t v) {
    amqp_table_entry_t e;
    e.key = amqp_cstring_bytes(key);
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = v;
    t->push_back(e);
  };
  if (config_.max_len > 0) addInt(&limits, "x-max-length", config_.max_len);
  if (config_.max_len_bytes > 0) addInt(&limits, "x-max-length-bytes", config_.max_len_bytes);
  std::vector<amqp_table_entry_t> args = limits;
  if (config_.dead_letter) {
    // The dead-letter exchange and queue are durable whatever durable says, as in Dapr.
    amqp_exchange_declare(c, kChannel, bytesOf(dlx), amqp_cstring_bytes("fanout"), 0, 1,
                          config_.auto_delete, 0, amqp_empty_table);
    RETURN_IF_ERROR(conn.check("declaring dead-letter exchange '" + dlx + "'"));
    std::vector<amqp_table_entry_t> dlq_args = limits;
    amqp_table_entry_t lazy;
    lazy.key = amqp_cstring_bytes("x-queue-mode");
    lazy.value.kind = AMQP_FIELD_KIND_UTF8;
    lazy.value.value.bytes = amqp_cstring_bytes("lazy");
    dlq_args.push_back(lazy);
    amqp_table_t t{static_cast<int>(dlq_args.size()), dlq_args.data()};
    amqp_queue_declare(c, kChannel, bytesOf(dlq), 0, 1, 0, config_.auto_delete, t);
    RETURN_IF_ERROR(conn.check("declaring dead-letter queue '" + dlq + "'"));
    amqp_queue_bind(c, kChannel, bytesOf(dlq), bytesOf(dlx), amqp_empty_bytes, amqp_empty_table);
    RETURN_IF_ERROR(conn.check("binding '" + dlq + "' to '" + dlx + "'"));
    amqp_table_entry_t e;
    e.key = amqp_cstring_bytes("x-dead-letter-exchange");
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = bytesOf(dlx);
    args.push_back(e);
  }
  amqp_table_t t{static_cast<int>(args.size()), args.empty() ? nullptr : args.data()};
  amqp_queue_declare(c, kChannel, bytesOf(sub.queue), 0, config_.durable, 0, config_.auto_delete,
                     t);
  RETURN_IF_ERROR(conn.check("declaring queue '" + sub.queue + "'"));
  for (const auto& key : sub.routing_keys) {
    amqp_queue_bind(c, kChannel, bytesOf(sub.queue), bytesOf(sub.topic), bytesOf(key),
                    amqp_empty_table);
    RETURN_IF_ERROR(conn.check("binding '" + sub.queue + "' to '" + sub.topic + "'"));
  }
  if (config_.prefetch > 0) {
    amqp_basic_qos(c, kChannel, 0, static_cast<uint16_t>(config_.prefetch), 0);
    RETURN_IF_ERROR(conn.check("basic.qos"));
  }
  amqp_basic_consume(c, kChannel, bytesOf(sub.queue), amqp_empty_bytes, 0, /*no_ack=*/0, 0,
                     amqp_empty_table);
  return conn.check("consuming from '" + sub.queue + "'");
}

Status RabbitMqPubSub::subscribe(const SubscribeRequest& request, Handler handler) {
  if (closed_) return unavailableError("rabbitmq: the component is closed");
  auto sub = std::make_unique<Subscription>();
  sub->topic = request.topic;
  sub->queue = config_.consumer_id + "-" + request.topic;
  if (auto it = request.metadata.find("queueName");
      it != request.metadata.end() && !it->second.empty())
    sub->queue = it->second;
  // routingKey: comma-separated binding keys (topic exchanges); an empty key is one too.
  std::string keys;
  if (auto it = request.metadata.find("routingKey"); it != request.metadata.end())
    keys = it->second;
  size_t start = 0;
  for (;;) {
    size_t comma = keys.find(',', start);
    sub->routing_keys.push_back(keys.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  sub->handler = std::move(handler);
  // In place before returning: messages published from now on reach the queue.
  sub->conn = std::make_unique<Connection>();
  RETURN_IF_ERROR(sub->conn->open(config_, kHeartbeatSeconds));
  RETURN_IF_ERROR(setUp(*sub->conn, *sub));
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return unavailableError("rabbitmq: the component is closed");
  Subscription* raw = sub.get();
  subscriptions_.push_back(std::move(sub));
  raw->thread = std::thread([this, raw] { consume(raw); });
  return okStatus();
}

bool RabbitMqPubSub::pause(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return closed_.load(); });
}

void RabbitMqPubSub::consume(Subscription* sub) {
  while (!closed_) {
    if (!sub->conn || sub->conn->broken()) {
      sub->conn.reset();
      auto conn = std::make_unique<Connection>();
      Status st = conn->open(config_, kHeartbeatSeconds);
      if (st.ok()) st = setUp(*conn, *sub);
      if (!st.ok()) {
        LOG_WARN << "pubsub.rabbitmq: subscription to '" << sub->topic << "': " << st.message()
                 << "; retrying in " << config_.reconnect_wait_ms << " ms";
        if (!pause(std::max<int64_t>(config_.reconnect_wait_ms, 10))) break;
        continue;
      }
      sub->conn = std::move(conn);
    }
    amqp_connection_state_t c = sub->conn->get();
    amqp_maybe_release_buffers(c);
    amqp_envelope_t envelope;
    timeval tv = toTimeval(kPollMs);
    amqp_rpc_reply_t r = amqp_consume_message(c, &envelope, &tv, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        continue;
      // Anything but a delivery (channel or connection closed, consumer cancelled because the
      // queue went): start over on a new connection.
      std::string why = describe(r);
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        amqp_frame_t frame;
        timeval ftv = toTimeval(kPollMs);
        if (amqp_simple_wait_frame_noblock(c, &frame, &ftv) == AMQP_STATUS_OK &&
            frame.frame_type == AMQP_FRAME_METHOD) {
          why = std::string("broker sent ") + (amqp_method_name(frame.payload.method.id)
                                                   ? amqp_method_name(frame.payload.method.id)
                                                   : "an unexpected method");
        }
      }
      LOG_WARN << "pubsub.rabbitmq: subscription to '" << sub->topic << "': " << why
               << "; reconnecting";
      sub->conn->fail(unavailableError(why));
      continue;
    }
    Message m;
    m.topic = sub->topic;
    m.data = bytesToString(envelope.message.body);
    if (envelope.message.properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
      m.content_type = bytesToString(envelope.message.properties.content_type);
    uint64_t tag = envelope.delivery_tag;
    amqp_destroy_envelope(&envelope);
    Status handled = sub->handler(m);
    int rc;
    if (handled.ok()) {
      rc = amqp_basic_ack(c, kChannel, tag, 0);
    } else if (config_.dead_letter && !config_.requeue_in_failure) {
      rc = amqp_basic_reject(c, kChannel, tag, /*requeue=*/0);  // to dlq-<queue>
    } else {
      // Even with requeueInFailure false (Dapr would drop it), a failed message goes back to
      // its queue: nothing is lost before the app took it.
      pause(kRequeuePauseMs);
      rc = amqp_basic_nack(c, kChannel, tag, 0, /*requeue=*/1);
    }
    if (rc != AMQP_STATUS_OK) {
      // The broker requeues the message with the connection: delivered again, at least once.
      sub->conn->fail(unavailableError(amqp_error_string2(rc)));
    }
  }
  sub->conn.reset();  // unacknowledged messages return to the queue
}

void RabbitMqPubSub::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.exchange(true)) return;
  }
  cv_.notify_all();
  for (auto& sub : subscriptions_) {
    if (sub->thread.joinable()) sub->thread.join();
  }
  std::lock_guard<std::mutex> lock(publish_mutex_);
  publisher_.reset();
}

void registerComponent(runtime::Registry& registry) {
  using runtime::FieldType;
  runtime::ComponentFactory<PubSub> factory;
  factory.type = "pubsub.rabbitmq";
  factory.fields = {
      {"connectionString", FieldType::kString, false, std::nullopt, {}},
      {"host", FieldType::kString, false, std::nullopt, {}},
      {"hostname", FieldType::kString, false, std::nullopt, {}},
      {"username", FieldType::kString, false, std::nullopt, {}},
      {"password", FieldType::kString, false, std::nullopt, {}},
      {"protocol", FieldType::kString, false, std::nullopt, {}},
      {"consumerID", FieldType::kString, true, std::nullopt, {}},
      {"durable", FieldType::kBool, false, "false", {}},
      {"deletedWhenUnused", FieldType::kBool, false, "true", {}},
      {"autoAck", FieldType::kBool, false, "false", {}},
      {"deliveryMode", FieldType::kInt, false, "0", {}},
      {"requeueInFailure", FieldType::kBool, false, "false", {}},
      {"prefetchCount", FieldType::kInt, false, "0", {}},
      {"publisherConfirm", FieldType::kBool, false, "false", {}},
      {"reconnectWait", FieldType::kDuration, false, "3s", {}},
      {"enableDeadLetter", FieldType::kBool, false, "false", {}},
      {"maxLen", FieldType::kInt, false, std::nullopt, {}},
      {"maxLenBytes", FieldType::kInt, false, std::nullopt, {}},
      {"exchangeKind", FieldType::kString, false, "fanout", {"fanout", "topic"}},
  };
  factory.create = [] { return std::make_unique<RabbitMqPubSub>(); };
  (void)registry.pubsub.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::pubsub::rabbitmq
