#include "sidecar/components/pubsub/mqtt3/mqtt3_pubsub.h"

#include <mosquitto.h>
#include <strings.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::mqtt3 {

namespace {

constexpr int kKeepaliveSeconds = 30;
constexpr int64_t kFirstRetryMs = 100;  // a failed message is handed over again after this,
constexpr int64_t kMaxRetryMs = 5000;   // doubling up to this

void libraryInit() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

Mqtt3PubSub* self(void* obj) { return static_cast<Mqtt3PubSub*>(obj); }

// tcp://[user[:password]@]host[:port] (mqtt:// too). TLS schemes are refused.
Status parseUrl(const std::string& url, Mqtt3PubSub::Config* c) {
  auto scheme_end = url.find("://");
  std::string rest = url;
  if (scheme_end != std::string::npos) {
    std::string scheme = url.substr(0, scheme_end);
    if (strcasecmp(scheme.c_str(), "tcp") != 0 && strcasecmp(scheme.c_str(), "mqtt") != 0) {
      return unimplementedError("metadata field 'url': scheme '" + scheme +
                                "' is not supported (TLS is not yet); use tcp://host:port");
    }
    rest = url.substr(scheme_end + 3);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string creds = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = creds.find(':');
    c->user = creds.substr(0, colon);
    if (colon != std::string::npos) c->password = creds.substr(colon + 1);
  }
  auto colon = rest.rfind(':');
  c->host = rest.substr(0, colon);
  if (colon != std::string::npos) {
    int64_t port = 0;
    if (!runtime::parseInt(rest.substr(colon + 1), &port) || port <= 0 || port > 65535)
      return invalidArgumentError("metadata field 'url': bad port in '" + url + "'");
    c->port = static_cast<int>(port);
  }
  if (c->host.empty())
    return invalidArgumentError("metadata field 'url': no host in '" + url + "'");
  return okStatus();
}

}  // namespace

Mqtt3PubSub::~Mqtt3PubSub() { close(); }

Status Mqtt3PubSub::init(const runtime::Properties& p) {
  Config c;
  std::string url = p.get("url");
  if (url.empty()) return invalidArgumentError("metadata field 'url' is required");
  RETURN_IF_ERROR(parseUrl(url, &c));
  c.client_id = p.get("consumerID");
  if (c.client_id.empty())
    return invalidArgumentError("metadata field 'consumerID' is required: it is the client id");
  int64_t qos = p.getInt("qos", 1);
  if (qos < 0 || qos > 2) return invalidArgumentError("metadata field 'qos' must be 0, 1 or 2");
  c.qos = static_cast<int>(qos);
  c.retain = p.getBool("retain", false);
  c.clean_session = p.getBool("cleanSession", false);
  for (const char* tls : {"caCert", "clientCert", "clientKey"}) {
    if (!p.get(tls).empty())
      return unimplementedError(std::string("metadata field '") + tls +
                                "': TLS to the broker is not supported yet");
  }
  config_ = c;

  libraryInit();
  client_ = mosquitto_new(config_.client_id.c_str(), config_.clean_session, this);
  if (!client_) return internalError("mqtt3: cannot create a client");
  if (!config_.user.empty()) {
    mosquitto_username_pw_set(client_, config_.user.c_str(),
                              config_.password.empty() ? nullptr : config_.password.c_str());
  }
  mosquitto_connect_callback_set(client_,
                                 [](mosquitto*, void* obj, int rc) { self(obj)->onConnect(rc); });
  mosquitto_disconnect_callback_set(client_, [](mosquitto*, void* obj, int rc) {
    if (rc != 0) {
      LOG_WARN << "pubsub.mqtt3: connection lost (" << mosquitto_strerror(rc) << ")";
    }
    std::lock_guard<std::mutex> lock(self(obj)->mutex_);
    self(obj)->connected_ = false;
  });
  mosquitto_publish_callback_set(client_,
                                 [](mosquitto*, void* obj, int mid) { self(obj)->onPublish(mid); });
  mosquitto_subscribe_callback_set(client_, [](mosquitto*, void* obj, int mid, int, const int*) {
    self(obj)->onSubscribe(mid);
  });
  mosquitto_message_callback_set(
      client_, [](mosquitto*, void* obj, const mosquitto_message* m) { self(obj)->onMessage(m); });
  // The network thread reconnects by itself, backing off from 1 s to 10 s.
  mosquitto_reconnect_delay_set(client_, 1, 10, true);
  int rc = mosquitto_connect_async(client_, config_.host.c_str(), config_.port, kKeepaliveSeconds);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(client_);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::string why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
    mosquitto_destroy(client_);
    client_ = nullptr;
    return unavailableError("mqtt3: cannot connect to " + config_.host + ":" +
                            std::to_string(config_.port) + ": " + why);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  bool up = cv_.wait_for(lock, std::chrono::milliseconds(config_.timeout_ms),
                         [this] { return connected_ || connect_rc_ > 0; });
  if (!connected_) {
    std::string why = connect_rc_ > 0 ? mosquitto_connack_string(connect_rc_)
                                      : (up ? "refused" : "no CONNACK in time");
    lock.unlock();
    close();
    return unavailableError("mqtt3: cannot connect to " + config_.host + ":" +
                            std::to_string(config_.port) + ": " + why);
  }
  return okStatus();
}

void Mqtt3PubSub::onConnect(int rc) {
  std::vector<std::string> topics;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connect_rc_ = rc;
    connected_ = rc == 0;
    for (const auto& sub : subscriptions_) topics.push_back(sub->topic);
  }
  cv_.notify_all();
  if (rc != 0) {
    LOG_WARN << "pubsub.mqtt3: connection refused: " << mosquitto_connack_string(rc);
    return;
  }
  // A broker that lost the session (or a clean session) no longer knows the subscriptions.
  for (const auto& t : topics) mosquitto_subscribe(client_, nullptr, t.c_str(), config_.qos);
}

void Mqtt3PubSub::onPublish(int mid) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    published_.insert(mid);
  }
  cv_.notify_all();
}

void Mqtt3PubSub::onSubscribe(int mid) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribed_.insert(mid);
  }
  cv_.notify_all();
}

void Mqtt3PubSub::onMessage(const mosquitto_message* m) {
  Message msg;
  msg.topic = m->topic;
  if (m->payload) msg.data.assign(static_cast<const char*>(m->payload), m->payloadlen);
  std::unique_lock<std::mutex> lock(mutex_);
  for (auto& sub : subscriptions_) {
    bool match = false;
    mosquitto_topic_matches_sub(sub->topic.c_str(), m->topic, &match);
    if (!match) continue;
    // A full queue holds up the network thread: the broker then stops sending (its in-flight
    // window fills), which is the backpressure MQTT has.
    cv_.wait(lock, [&] { return sub->queue.size() < config_.queue_size || closed_; });
    if (closed_) return;
    sub->queue.push_back(msg);
  }
  cv_.notify_all();
}

Status Mqtt3PubSub::waitFor(std::set<int>* done, int mid, const std::string& what) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(config_.timeout_ms),
                    [&] { return done->count(mid) > 0 || closed_; })) {
    return deadlineExceededError("mqtt3: no " + what + " from the broker within " +
                                 std::to_string(config_.timeout_ms) + " ms");
  }
  if (!done->erase(mid)) return unavailableError("mqtt3: the component is closed");
  return okStatus();
}

Status Mqtt3PubSub::publish(const PublishRequest& request) {
  if (closed_ || !client_) return unavailableError("mqtt3: the component is closed");
  int mid = 0;
  int rc =
      mosquitto_publish(client_, &mid, request.topic.c_str(), static_cast<int>(request.data.size()),
                        request.data.data(), config_.qos, config_.retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    return unavailableError("mqtt3: publish to '" + request.topic + "': " + mosquitto_strerror(rc));
  }
  // QoS 1 and 2: the broker's acknowledgement; QoS 0: written to the socket.
  return waitFor(&published_, mid, "acknowledgement of a publish to '" + request.topic + "'");
}

Status Mqtt3PubSub::subscribe(const SubscribeRequest& request, Handler handler) {
  if (closed_ || !client_) return unavailableError("mqtt3: the component is closed");
  Subscription* sub;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscriptions_.push_back(std::make_unique<Subscription>());
    sub = subscriptions_.back().get();
    sub->topic = request.topic;
    sub->handler = std::move(handler);
    sub->thread = std::thread([this, sub] { deliver(sub); });
  }
  int mid = 0;
  int rc = mosquitto_subscribe(client_, &mid, request.topic.c_str(), config_.qos);
  if (rc != MOSQ_ERR_SUCCESS) {
    return unavailableError("mqtt3: subscribe to '" + request.topic +
                            "': " + mosquitto_strerror(rc));
  }
  // In place once the broker answered SUBACK (bounded).
  return waitFor(&subscribed_, mid, "SUBACK for '" + request.topic + "'");
}

void Mqtt3PubSub::deliver(Subscription* sub) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return !sub->queue.empty() || closed_; });
    if (closed_) return;
    Message m = sub->queue.front();
    lock.unlock();
    // The broker has this message acknowledged already: keep trying until the app takes it.
    int64_t backoff = kFirstRetryMs;
    while (!sub->handler(m).ok()) {
      std::unique_lock<std::mutex> wait(mutex_);
      if (cv_.wait_for(wait, std::chrono::milliseconds(backoff), [this] { return closed_.load(); }))
        return;
      backoff = std::min(backoff * 2, kMaxRetryMs);
    }
    lock.lock();
    sub->queue.pop_front();
    cv_.notify_all();  // room for the network thread
  }
}

void Mqtt3PubSub::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.exchange(true)) return;
  }
  cv_.notify_all();
  for (auto& sub : subscriptions_) {
    if (sub->thread.joinable()) sub->thread.join();
  }
  if (client_) {
    mosquitto_disconnect(client_);
    mosquitto_loop_stop(client_, false);
    mosquitto_destroy(client_);
    client_ = nullptr;
  }
}

void registerComponent(runtime::Registry& registry) {
  using runtime::FieldType;
  runtime::ComponentFactory<PubSub> factory;
  factory.type = "pubsub.mqtt3";
  factory.fields = {
      {"url", FieldType::kString, true, std::nullopt, {}},
      {"consumerID", FieldType::kString, true, std::nullopt, {}},
      {"qos", FieldType::kInt, false, "1", {}},
      {"retain", FieldType::kBool, false, "false", {}},
      {"cleanSession", FieldType::kBool, false, "false", {}},
      {"caCert", FieldType::kString, false, std::nullopt, {}},
      {"clientCert", FieldType::kString, false, std::nullopt, {}},
      {"clientKey", FieldType::kString, false, std::nullopt, {}},
  };
  factory.create = [] { return std::make_unique<Mqtt3PubSub>(); };
  // Dapr registers the same component as pubsub.mqtt too.
  runtime::ComponentFactory<PubSub> alias = factory;
  alias.type = "pubsub.mqtt";
  (void)registry.pubsub.add(std::move(factory));
  (void)registry.pubsub.add(std::move(alias));
}

}  // namespace outrigger::sidecar::components::pubsub::mqtt3
