#include "sidecar/components/bindings/rabbitmq/rabbitmq_binding.h"

#include <cstring>

#include "common/json/json.h"
#include "common/logging/log.h"

namespace outrigger::sidecar::components::bindings::rabbitmq {

namespace rmq = components::common::rabbitmq;

namespace {

// An integer metadata value within [lo, hi]; an error names the field.
Status intIn(const std::string& text, const std::string& field, int64_t lo, int64_t hi,
             int64_t* out) {
  if (!runtime::parseInt(text, out) || *out < lo || *out > hi) {
    return invalidArgumentError("metadata field '" + field + "' must be an integer from " +
                                std::to_string(lo) + " to " + std::to_string(hi) + ", not '" +
                                text + "'");
  }
  return okStatus();
}

}  // namespace

RabbitMqBinding::~RabbitMqBinding() { close(); }

Status RabbitMqBinding::init(const runtime::Properties& p) {
  Config c;
  std::string url = p.get("host");
  if (url.empty()) return invalidArgumentError("metadata field 'host' is required (amqp://...)");
  RETURN_IF_ERROR(rmq::parseUrl(url, "host", &c.address));
  c.queue = p.get("queueName");
  if (c.queue.empty()) return invalidArgumentError("metadata field 'queueName' is required");
  for (const char* tls : {"caCert", "clientCert", "clientKey", "externalSasl"}) {
    if (!p.get(tls).empty() && p.get(tls) != "false") {
      return unimplementedError(std::string("metadata field '") + tls +
                                "': TLS is not supported yet; use amqp://");
    }
  }
  c.durable = p.getBool("durable", false);
  c.auto_delete = p.getBool("deleteWhenUnused", false);
  c.exclusive = p.getBool("exclusive", false);
  int64_t v = 0;
  if (p.has("prefetchCount")) {
    RETURN_IF_ERROR(intIn(p.get("prefetchCount"), "prefetchCount", 0, 65535, &v));
    c.prefetch = static_cast<int>(v);
  }
  if (p.has("ttlInSeconds")) {
    RETURN_IF_ERROR(intIn(p.get("ttlInSeconds"), "ttlInSeconds", 0, INT32_MAX / 1000, &v));
    c.ttl_ms = v * 1000;
  }
  if (p.has("maxPriority")) {
    RETURN_IF_ERROR(intIn(p.get("maxPriority"), "maxPriority", 1, 255, &v));
    c.max_priority = static_cast<int>(v);
  }
  c.content_type = p.get("contentType", "text/plain");
  c.reconnect_wait_ms = p.getDurationMs("reconnectWaitInSeconds", 5000);
  if (c.reconnect_wait_ms < 0)
    return invalidArgumentError("metadata field 'reconnectWaitInSeconds' must not be negative");
  config_ = c;
  // Fail at start-up on a wrong address, credentials or queue arguments, as Dapr does.
  std::lock_guard<std::mutex> lock(publish_mutex_);
  auto conn = std::make_unique<rmq::Connection>();
  RETURN_IF_ERROR(conn->open(config_.address, 0));
  RETURN_IF_ERROR(conn->enableConfirms());
  if (!config_.exclusive) {
    RETURN_IF_ERROR(declare(*conn, false));
    declared_ = true;
  }
  publisher_ = std::move(conn);
  return okStatus();
}

Status RabbitMqBinding::declare(rmq::Connection& conn, bool exclusive) const {
  std::vector<amqp_table_entry_t> args;
  if (config_.ttl_ms >= 0) args.push_back(rmq::intEntry("x-message-ttl", config_.ttl_ms));
  if (config_.max_priority > 0)
    args.push_back(rmq::intEntry("x-max-priority", config_.max_priority));
  amqp_table_t t{static_cast<int>(args.size()), args.empty() ? nullptr : args.data()};
  amqp_queue_declare(conn.get(), rmq::kChannel, rmq::bytesOf(config_.queue), 0, config_.durable,
                     exclusive, config_.auto_delete, t);
  return conn.check("declaring queue '" + config_.queue + "'");
}

StatusOr<InvokeResponse> RabbitMqBinding::invoke(const InvokeRequest& request) {
  if (request.operation != "create")
    return invalidArgumentError("unsupported operation " + request.operation);
  // A JSON string is sent as its contents, anything else as its JSON text.
  std::string body = json::unquoted(request.data);
  const Metadata& md = request.metadata;
  auto get = [&](const char* key) -> const std::string* {
    auto it = md.find(key);
    return it == md.end() || it->second.empty() ? nullptr : &it->second;
  };
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof(props));
  const std::string* content_type = get("contentType");
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = rmq::bytesOf(content_type ? *content_type : config_.content_type);
  props.delivery_mode = 2;  // persistent, as in Dapr
  int64_t v = 0;
  if (const std::string* mode = get("deliveryMode")) {
    RETURN_IF_ERROR(intIn(*mode, "deliveryMode", 1, 2, &v));
    props.delivery_mode = static_cast<uint8_t>(v);
  }
  std::string expiration;
  if (const std::string* ttl = get("ttlInSeconds")) {
    RETURN_IF_ERROR(intIn(*ttl, "ttlInSeconds", 0, INT32_MAX / 1000, &v));
    expiration = std::to_string(v * 1000);  // milliseconds, as text
    props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    props.expiration = rmq::bytesOf(expiration);
  }
  if (const std::string* priority = get("priority")) {
    RETURN_IF_ERROR(intIn(*priority, "priority", 0, 255, &v));
    props._flags |= AMQP_BASIC_PRIORITY_FLAG;
    props.priority = static_cast<uint8_t>(v);
  }
  // Every metadata entry travels as a header, as in Dapr.
  std::vector<amqp_table_entry_t> headers;
  for (const auto& [k, val] : md) headers.push_back(rmq::stringEntry(k, val));
  if (!headers.empty()) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers = amqp_table_t{static_cast<int>(headers.size()), headers.data()};
  }
  std::lock_guard<std::mutex> lock(publish_mutex_);
  // A broken connection is replaced once (the broker may have restarted since); a message no
  // queue took is published once more after declaring the queue again.
  bool reconnected = false, redeclared = false;
  for (;;) {
    Status st = publishOnce(body, props);
    if (st.ok()) return InvokeResponse{};
    if (st.code() == StatusCode::kUnavailable && !reconnected) {
      LOG_WARN << "bindings.rabbitmq: " << st.message() << "; publishing again on a new connection";
      reconnected = true;
    } else if (st.code() == StatusCode::kNotFound && !redeclared) {
      declared_ = false;
      redeclared = true;
    } else {
      return st;
    }
  }
}

// Under publish_mutex_.
Status RabbitMqBinding::publishOnce(const std::string& body, const amqp_basic_properties_t& props) {
  if (publisher_ && publisher_->broken()) publisher_.reset();
  if (!publisher_) {
    auto conn = std::make_unique<rmq::Connection>();
    RETURN_IF_ERROR(
        conn->open(config_.address, 0));  // no heartbeats: an idle publisher is not polled
    RETURN_IF_ERROR(conn->enableConfirms());
    publisher_ = std::move(conn);
    declared_ = false;
  }
  if (!declared_) {
    bool reading;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      reading = reading_;
    }
    // An exclusive queue the input reads is its connection's: declaring it here would fail.
    if (!config_.exclusive || !reading) {
      RETURN_IF_ERROR(declare(*publisher_, config_.exclusive));
      declared_ = true;
    }
  }
  return publisher_->publishConfirmed("", config_.queue, props, body, config_.address.timeout_ms,
                                      /*mandatory=*/true);
}

Status RabbitMqBinding::read(InputHandler handler) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return unavailableError("rabbitmq: the component is closed");
    if (reading_) return failedPreconditionError("bindings.rabbitmq: already reading");
    // Set first: from now on an exclusive queue is the input's to declare.
    reading_ = true;
  }
  auto handle = [handler = std::move(handler)](const rmq::Delivery& d) {
    InputEvent event;
    event.data = d.body;
    // Header names and values as Dapr hands them over: escaped for HTTP.
    for (const auto& [k, v] : d.headers) event.metadata[queryEscape(k)] = queryEscape(v);
    return handler(event).ok() ? rmq::Outcome::kAck : rmq::Outcome::kRequeue;
  };
  rmq::Consumer::Options options;
  options.who = "bindings.rabbitmq: queue '" + config_.queue + "'";
  options.reconnect_wait_ms = config_.reconnect_wait_ms;
  auto set_up = [this](rmq::Connection& conn) {
    RETURN_IF_ERROR(declare(conn, config_.exclusive));
    if (config_.prefetch > 0) {
      amqp_basic_qos(conn.get(), rmq::kChannel, 0, static_cast<uint16_t>(config_.prefetch), 0);
      RETURN_IF_ERROR(conn.check("basic.qos"));
    }
    amqp_basic_consume(conn.get(), rmq::kChannel, rmq::bytesOf(config_.queue), amqp_empty_bytes, 0,
                       /*no_ack=*/0, 0, amqp_empty_table);
    return conn.check("consuming from '" + config_.queue + "'");
  };
  auto consumer =
      std::make_unique<rmq::Consumer>(config_.address, options, set_up, std::move(handle));
  Status started = consumer->start();  // connects: not under the lock
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started.ok()) {
    reading_ = false;
    return started;
  }
  if (closed_) return unavailableError("rabbitmq: the component is closed");  // consumer stops
  consumer_ = std::move(consumer);
  return okStatus();
}

void RabbitMqBinding::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
  }
  if (consumer_) consumer_->stop();
  std::lock_guard<std::mutex> lock(publish_mutex_);
  publisher_.reset();
}

void registerComponent(runtime::Registry& registry) {
  using runtime::FieldType;
  runtime::ComponentFactory<Binding> factory;
  factory.type = "bindings.rabbitmq";
  factory.fields = {
      {"host", FieldType::kString, true, std::nullopt, {}},
      {"queueName", FieldType::kString, true, std::nullopt, {}},
      {"durable", FieldType::kBool, false, "false", {}},
      {"deleteWhenUnused", FieldType::kBool, false, "false", {}},
      {"exclusive", FieldType::kBool, false, "false", {}},
      {"ttlInSeconds", FieldType::kInt, false, std::nullopt, {}},
      {"prefetchCount", FieldType::kInt, false, "0", {}},
      {"maxPriority", FieldType::kInt, false, std::nullopt, {}},
      {"contentType", FieldType::kString, false, "text/plain", {}},
      {"reconnectWaitInSeconds", FieldType::kDuration, false, "5s", {}},
  };
  factory.create = [] { return std::make_unique<RabbitMqBinding>(); };
  (void)registry.bindings.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::bindings::rabbitmq
