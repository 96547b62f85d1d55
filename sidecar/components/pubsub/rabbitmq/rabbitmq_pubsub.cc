#include "sidecar/components/pubsub/rabbitmq/rabbitmq_pubsub.h"

#include <amqp.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::rabbitmq {

using components::common::rabbitmq::Address;
using components::common::rabbitmq::bytesOf;
using components::common::rabbitmq::Connection;
using components::common::rabbitmq::Consumer;
using components::common::rabbitmq::Delivery;
using components::common::rabbitmq::intEntry;
using components::common::rabbitmq::kChannel;
using components::common::rabbitmq::Outcome;
using components::common::rabbitmq::parseUrl;
using components::common::rabbitmq::stringEntry;

namespace {

constexpr int kHeartbeatSeconds = 10;          // consumers: a silent broker is noticed in ~20 s
constexpr int kParallelWithoutPrefetch = 100;  // concurrencyMode parallel, prefetchCount 0

// metadata.ttlInSeconds when it is a positive integer (the API rejects other values), else 0.
int64_t ttlSeconds(const Metadata& metadata) {
  auto it = metadata.find("ttlInSeconds");
  if (it == metadata.end() || it->second.empty()) return 0;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0) return 0;
  return v;
}

}  // namespace

struct RabbitMqPubSub::Subscription {
  std::string topic;
  std::string queue;
  std::vector<std::string> routing_keys;
  int prefetch = 0;  // basic.qos; 0: unlimited
  std::unique_ptr<Consumer> consumer;
};

RabbitMqPubSub::~RabbitMqPubSub() { close(); }

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
    RETURN_IF_ERROR(parseUrl(url, field, &c.address));
  } else if (!p.get("hostname").empty()) {
    Address& a = c.address;
    a.host = p.get("hostname");
    auto colon = a.host.rfind(':');
    if (colon != std::string::npos) {
      int64_t port = 0;
      if (!runtime::parseInt(a.host.substr(colon + 1), &port) || port <= 0 || port > 65535)
        return invalidArgumentError("metadata field 'hostname': bad port in '" + a.host + "'");
      a.port = static_cast<int>(port);
      a.host = a.host.substr(0, colon);
    }
    if (p.has("username")) a.user = p.get("username");
    if (p.has("password")) a.password = p.get("password");
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
  // Dapr's default is parallel; ours is single, which keeps a queue's order for the app.
  std::string concurrency_mode = p.get("concurrencyMode", "single");
  if (strcasecmp(concurrency_mode.c_str(), "parallel") == 0) {
    // As many in flight as the channel may hold unacknowledged; unlimited prefetch gets a bound.
    c.concurrency = c.prefetch > 0 ? c.prefetch : kParallelWithoutPrefetch;
  } else if (strcasecmp(concurrency_mode.c_str(), "single") != 0) {
    return invalidArgumentError(
        "metadata field 'concurrencyMode' must be single or parallel, not '" + concurrency_mode +
        "'");
  }
  config_ = c;
  // Fail at start-up on a wrong address or credentials, as Dapr does.
  auto conn = std::make_unique<Connection>();
  RETURN_IF_ERROR(conn->open(config_.address, 0));
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
    RETURN_IF_ERROR(
        conn->open(config_.address, 0));  // no heartbeats: an idle publisher is not polled
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
  // metadata.ttlInSeconds (checked by the API) as RabbitMQ's per-message expiry, in ms as text;
  // the broker drops the message once it expired in the queue.
  std::string expiration;
  if (int64_t ttl = ttlSeconds(request.metadata); ttl > 0) {
    expiration = std::to_string(std::min<int64_t>(ttl, INT32_MAX / 1000) * 1000);
    props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    props.expiration = bytesOf(expiration);
  }
  std::string routing_key;
  if (auto it = request.metadata.find("routingKey"); it != request.metadata.end())
    routing_key = it->second;
  return publisher_->publishConfirmed(request.topic, routing_key, props, request.data,
                                      config_.address.timeout_ms);
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
  if (config_.max_len > 0) limits.push_back(intEntry("x-max-length", config_.max_len));
  if (config_.max_len_bytes > 0)
    limits.push_back(intEntry("x-max-length-bytes", config_.max_len_bytes));
  std::vector<amqp_table_entry_t> args = limits;
  if (config_.dead_letter) {
    // The dead-letter exchange and queue are durable whatever durable says, as in Dapr.
    amqp_exchange_declare(c, kChannel, bytesOf(dlx), amqp_cstring_bytes("fanout"), 0, 1,
                          config_.auto_delete, 0, amqp_empty_table);
    RETURN_IF_ERROR(conn.check("declaring dead-letter exchange '" + dlx + "'"));
    std::vector<amqp_table_entry_t> dlq_args = limits;
    static const std::string kLazy = "lazy";
    dlq_args.push_back(stringEntry("x-queue-mode", kLazy));
    amqp_table_t t{static_cast<int>(dlq_args.size()), dlq_args.data()};
    amqp_queue_declare(c, kChannel, bytesOf(dlq), 0, 1, 0, config_.auto_delete, t);
    RETURN_IF_ERROR(conn.check("declaring dead-letter queue '" + dlq + "'"));
    amqp_queue_bind(c, kChannel, bytesOf(dlq), bytesOf(dlx), amqp_empty_bytes, amqp_empty_table);
    RETURN_IF_ERROR(conn.check("binding '" + dlq + "' to '" + dlx + "'"));
    args.push_back(stringEntry("x-dead-letter-exchange", dlx));
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
  if (sub.prefetch > 0) {
    amqp_basic_qos(c, kChannel, 0, static_cast<uint16_t>(sub.prefetch), 0);
    RETURN_IF_ERROR(conn.check("basic.qos"));
  }
  amqp_basic_consume(c, kChannel, bytesOf(sub.queue), amqp_empty_bytes, 0, /*no_ack=*/0, 0,
                     amqp_empty_table);
  return conn.check("consuming from '" + sub.queue + "'");
}

Status RabbitMqPubSub::bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                                     BulkHandler handler) {
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
  int max_messages = std::clamp(options.max_messages, 1, 65535);  // basic.qos holds 16 bits
  // A full batch must be able to be outstanding at once, so a set prefetchCount is raised to the
  // batch size. prefetchCount 0 (unlimited) stays unlimited: it already allows any batch, and a
  // limit the user did not ask for would only slow the queue down.
  sub->prefetch = config_.prefetch > 0 ? std::max(config_.prefetch, max_messages) : 0;
  // Even with requeueInFailure false (Dapr would drop it), a failed message goes back to its
  // queue unless it can be dead-lettered: nothing is lost before the app took it.
  Outcome failed =
      config_.dead_letter && !config_.requeue_in_failure ? Outcome::kReject : Outcome::kRequeue;
  auto handle = [topic = request.topic, handler = std::move(handler),
                 failed](const std::vector<Delivery>& deliveries) {
    std::vector<Message> batch(deliveries.size());
    for (size_t i = 0; i < deliveries.size(); ++i) {
      batch[i].topic = topic;
      batch[i].data = deliveries[i].body;
      batch[i].content_type = deliveries[i].content_type;
    }
    std::vector<Status> answers = handler(batch);
    // A missing answer is a failure: the message is not acknowledged.
    std::vector<Outcome> out(deliveries.size(), failed);
    for (size_t i = 0; i < out.size() && i < answers.size(); ++i) {
      if (answers[i].ok()) out[i] = Outcome::kAck;
    }
    return out;
  };
  Subscription* raw = sub.get();
  Consumer::Options consumer_options;
  consumer_options.who = "pubsub.rabbitmq: subscription to '" + request.topic + "'";
  consumer_options.reconnect_wait_ms = config_.reconnect_wait_ms;
  consumer_options.heartbeat_seconds = kHeartbeatSeconds;
  consumer_options.max_batch = max_messages;
  consumer_options.batch_await_ms = std::max(0, options.max_await_ms);
  sub->consumer = std::make_unique<Consumer>(
      config_.address, consumer_options,
      [this, raw](Connection& conn) { return setUp(conn, *raw); },
      Consumer::HandleBatch(std::move(handle)));
  // In place before returning: messages published from now on reach the queue.
  RETURN_IF_ERROR(sub->consumer->start());
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return unavailableError("rabbitmq: the component is closed");
  subscriptions_.push_back(std::move(sub));
  return okStatus();
}

void RabbitMqPubSub::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.exchange(true)) return;
  }
  for (auto& sub : subscriptions_) sub->consumer->stop();
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
      {"concurrencyMode", FieldType::kString, false, "single", {"single", "parallel"}},
  };
  factory.create = [] { return std::make_unique<RabbitMqPubSub>(); };
  (void)registry.pubsub.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::pubsub::rabbitmq
