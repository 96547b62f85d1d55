#include "sidecar/components/pubsub/kafka/kafka_pubsub.h"

#include <librdkafka/rdkafka.h>
#include <strings.h>

#include <chrono>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::kafka {

namespace {

constexpr int kPollMs = 200;  // a consumer's longest wait for a message: bounds close()

// What a publish waits for; shared with the delivery-report callback, which may come after the
// publisher gave up waiting.
struct Delivery {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void onDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* holder = static_cast<std::shared_ptr<Delivery>*>(m->_private);
  if (!holder) return;
  {
    std::lock_guard<std::mutex> lock((*holder)->mutex);
    (*holder)->done = true;
    (*holder)->err = m->err;
  }
  (*holder)->cv.notify_all();
  delete holder;
}

void onLog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  // syslog levels: 0-3 errors, 4 warnings; the rest is chatter.
  if (level <= 4) {
    LOG_WARN << "pubsub.kafka: " << fac << ": " << buf;
  }
}

// A configuration with the settings every handle shares; errors name the property.
StatusOr<rd_kafka_conf_t*> baseConf(const KafkaPubSub::Config& c) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  std::vector<std::pair<std::string, std::string>> settings = {{"bootstrap.servers", c.brokers},
                                                               {"log.connection.close", "false"}};
  if (!c.client_id.empty()) settings.push_back({"client.id", c.client_id});
  if (c.max_message_bytes > 0)
    settings.push_back({"message.max.bytes", std::to_string(c.max_message_bytes)});
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return invalidArgumentError("kafka: " + k + "=" + v + ": " + err);
    }
  }
  rd_kafka_conf_set_log_cb(conf, onLog);
  return conf;
}

Status set(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
    return invalidArgumentError("kafka: " + k + "=" + v + ": " + err);
  return okStatus();
}

}  // namespace

struct KafkaPubSub::Subscription {
  const KafkaPubSub::Config* config = nullptr;
  std::string topic;
  Handler handler;
  rd_kafka_t* rk = nullptr;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  bool assigned = false;  // the group gave this member its partitions (possibly none)
};

namespace {

// Partitions assigned to a member: each starts at its committed offset; without one, at the
// start (oldest) or at the current end (newest), which is committed at once so that the
// position survives a restart of the consumer before anything was consumed.
void onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* sub = static_cast<KafkaPubSub::Subscription*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    const auto& config = *sub->config;
    rd_kafka_resp_err_t cerr = rd_kafka_committed(rk, partitions, config.timeout_ms);
    if (cerr) {
      LOG_WARN << "pubsub.kafka: committed offsets: " << rd_kafka_err2str(cerr);
    }
    rd_kafka_topic_partition_list_t* fresh = rd_kafka_topic_partition_list_new(0);
    for (int i = 0; i < partitions->cnt; ++i) {
      auto& p = partitions->elems[i];
      if (p.offset >= 0) continue;
      if (config.oldest) {
        p.offset = RD_KAFKA_OFFSET_BEGINNING;
        continue;
      }
      int64_t lo = 0, hi = 0;
      if (rd_kafka_query_watermark_offsets(rk, p.topic, p.partition, &lo, &hi,
                                           static_cast<int>(config.timeout_ms)) == 0) {
        p.offset = hi;
        rd_kafka_topic_partition_list_add(fresh, p.topic, p.partition)->offset = hi;
      } else {
        p.offset = RD_KAFKA_OFFSET_END;
      }
    }
    if (fresh->cnt > 0) {
      rd_kafka_resp_err_t e = rd_kafka_commit(rk, fresh, 0);
      if (e) {
        LOG_WARN << "pubsub.kafka: committing initial offsets: " << rd_kafka_err2str(e);
      }
    }
    rd_kafka_topic_partition_list_destroy(fresh);
    rd_kafka_assign(rk, partitions);
    {
      std::lock_guard<std::mutex> lock(sub->mutex);
      sub->assigned = true;
    }
    sub->cv.notify_all();
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

}  // namespace

KafkaPubSub::~KafkaPubSub() { close(); }

Status KafkaPubSub::init(const runtime::Properties& p) {
  Config c;
  c.brokers = p.get("brokers");
  if (c.brokers.empty()) return invalidArgumentError("metadata field 'brokers' is required");
  std::string auth = p.get("authType");
  if (auth.empty()) return invalidArgumentError("metadata field 'authType' is required (none)");
  if (strcasecmp(auth.c_str(), "none") != 0) {
    return unimplementedError("metadata field 'authType': '" + auth +
                              "' is not supported yet; only none is");
  }
  std::string consumer_id = p.get("consumerID");
  c.group = p.get("consumerGroup", consumer_id);
  if (c.group.empty()) {
    return invalidArgumentError(
        "metadata field 'consumerID' is required (or consumerGroup): it names the consumer group");
  }
  c.client_id = p.get("clientID");
  std::string offset = p.get("initialOffset", "newest");
  if (strcasecmp(offset.c_str(), "oldest") == 0) {
    c.oldest = true;
  } else if (strcasecmp(offset.c_str(), "newest") != 0) {
    return invalidArgumentError("metadata field 'initialOffset' must be newest or oldest, not '" +
                                offset + "'");
  }
  c.retry_interval_ms = p.getDurationMs("consumeRetryInterval", 100);
  c.session_timeout_ms = p.getDurationMs("sessionTimeout", 10000);
  c.heartbeat_ms = p.getDurationMs("heartbeatInterval", 3000);
  c.max_message_bytes = p.getInt("maxMessageBytes", 0);
  if (c.retry_interval_ms < 0 || c.session_timeout_ms <= 0 || c.heartbeat_ms <= 0)
    return invalidArgumentError(
        "metadata fields 'consumeRetryInterval', 'sessionTimeout' and 'heartbeatInterval' must be "
        "positive");
  config_ = c;

  ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, baseConf(config_));
  Status st = set(conf, "acks", "all");
  if (st.ok()) st = set(conf, "message.timeout.ms", std::to_string(config_.timeout_ms));
  if (!st.ok()) {
    rd_kafka_conf_destroy(conf);
    return st;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, onDelivery);
  char err[512];
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!producer_) {
    rd_kafka_conf_destroy(conf);
    return invalidArgumentError(std::string("kafka: ") + err);
  }
  // Fail at start-up when no broker answers, rather than at the first publish.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t merr =
      rd_kafka_metadata(producer_, 0, nullptr, &md, static_cast<int>(config_.timeout_ms));
  if (merr) {
    rd_kafka_destroy(producer_);
    producer_ = nullptr;
    return unavailableError("kafka: no broker of '" + config_.brokers +
                            "' answered: " + rd_kafka_err2str(merr));
  }
  rd_kafka_metadata_destroy(md);
  poller_ = std::thread([this] { poll(); });
  return okStatus();
}

void KafkaPubSub::poll() {
  while (!closed_) rd_kafka_poll(producer_, 100);
}

Status KafkaPubSub::publish(const PublishRequest& request) {
  if (closed_ || !producer_) return unavailableError("kafka: the component is closed");
  auto delivery = std::make_shared<Delivery>();
  auto* holder = new std::shared_ptr<Delivery>(delivery);
  std::string key;
  if (auto it = request.metadata.find("partitionKey"); it != request.metadata.end())
    key = it->second;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_, RD_KAFKA_V_TOPIC(request.topic.c_str()),
      RD_KAFKA_V_VALUE(const_cast<char*>(request.data.data()), request.data.size()),
      RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(holder), RD_KAFKA_V_END);
  if (err) {
    delete holder;
    return unavailableError("kafka: publish to '" + request.topic + "': " + rd_kafka_err2str(err));
  }
  // The report comes within message.timeout.ms; the margin covers the poller's pace.
  std::unique_lock<std::mutex> lock(delivery->mutex);
  if (!delivery->cv.wait_for(lock, std::chrono::milliseconds(config_.timeout_ms + 5000),
                             [&] { return delivery->done; })) {
    return deadlineExceededError("kafka: no delivery report for a message to '" + request.topic +
                                 "'");
  }
  if (delivery->err) {
    return unavailableError("kafka: publish to '" + request.topic +
                            "': " + rd_kafka_err2str(delivery->err));
  }
  return okStatus();
}

Status KafkaPubSub::subscribe(const SubscribeRequest& request, Handler handler) {
  if (closed_) return unavailableError("kafka: the component is closed");
  auto sub = std::make_unique<Subscription>();
  sub->config = &config_;
  sub->topic = request.topic;
  sub->handler = std::move(handler);
  ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, baseConf(config_));
  Status st = set(conf, "group.id", config_.group);
  if (st.ok()) st = set(conf, "enable.auto.commit", "false");
  if (st.ok()) st = set(conf, "enable.auto.offset.store", "false");
  if (st.ok()) st = set(conf, "auto.offset.reset", config_.oldest ? "earliest" : "latest");
  if (st.ok()) st = set(conf, "session.timeout.ms", std::to_string(config_.session_timeout_ms));
  if (st.ok()) st = set(conf, "heartbeat.interval.ms", std::to_string(config_.heartbeat_ms));
  if (st.ok()) st = set(conf, "allow.auto.create.topics", "true");
  if (!st.ok()) {
    rd_kafka_conf_destroy(conf);
    return st;
  }
  rd_kafka_conf_set_opaque(conf, sub.get());  // the rebalance callback's
  rd_kafka_conf_set_rebalance_cb(conf, onRebalance);
  char err[512];
  sub->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!sub->rk) {
    rd_kafka_conf_destroy(conf);
    return invalidArgumentError(std::string("kafka: ") + err);
  }
  rd_kafka_poll_set_consumer(sub->rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, request.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t serr = rd_kafka_subscribe(sub->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (serr) {
    rd_kafka_destroy(sub->rk);
    return unavailableError("kafka: subscribe to '" + request.topic +
                            "': " + rd_kafka_err2str(serr));
  }
  Subscription* raw = sub.get();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscriptions_.push_back(std::move(sub));
    raw->thread = std::thread([this, raw] { consume(raw); });
  }
  // In place once the group assigned this member its partitions (bounded).
  std::unique_lock<std::mutex> lock(raw->mutex);
  if (!raw->cv.wait_for(lock, std::chrono::milliseconds(config_.session_timeout_ms * 3),
                        [&] { return raw->assigned || closed_; })) {
    return deadlineExceededError("kafka: group '" + config_.group +
                                 "' assigned no partitions of '" + request.topic + "' within " +
                                 std::to_string(config_.session_timeout_ms * 3) + " ms");
  }
  return okStatus();
}

bool KafkaPubSub::pause(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return closed_.load(); });
}

void KafkaPubSub::consume(Subscription* sub) {
  while (!closed_) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(sub->rk, kPollMs);
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        LOG_WARN << "pubsub.kafka: consuming '" << sub->topic
                 << "': " << rd_kafka_message_errstr(m);
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    Message msg;
    msg.topic = sub->topic;
    if (m->payload) msg.data.assign(static_cast<const char*>(m->payload), m->len);
    if (m->key) msg.metadata["__key"].assign(static_cast<const char*>(m->key), m->key_len);
    msg.metadata["__partition"] = std::to_string(m->partition);
    msg.metadata["__offset"] = std::to_string(m->offset);
    Status handled = sub->handler(msg);
    if (handled.ok()) {
      rd_kafka_resp_err_t err = rd_kafka_commit_message(sub->rk, m, 0);
      if (err) {
        // Not committed: delivered again after a restart or rebalance (at-least-once).
        LOG_WARN << "pubsub.kafka: committing offset " << m->offset << " of '" << sub->topic
                 << "': " << rd_kafka_err2str(err);
      }
    } else {
      // Fetch the failed message again: later ones of its partition wait behind it.
      rd_kafka_topic_partition_list_t* back = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(back, rd_kafka_topic_name(m->rkt), m->partition)->offset =
          m->offset;
      rd_kafka_error_t* err = rd_kafka_seek_partitions(sub->rk, back, config_.timeout_ms);
      if (err) {
        LOG_WARN << "pubsub.kafka: seeking back to offset " << m->offset << ": "
                 << rd_kafka_error_string(err);
        rd_kafka_error_destroy(err);
      }
      rd_kafka_topic_partition_list_destroy(back);
      pause(config_.retry_interval_ms);
    }
    rd_kafka_message_destroy(m);
  }
}

void KafkaPubSub::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.exchange(true)) return;
  }
  cv_.notify_all();
  for (auto& sub : subscriptions_) {
    sub->cv.notify_all();
    if (sub->thread.joinable()) sub->thread.join();
    // Leaves the group; uncommitted messages go to whoever takes the partitions next.
    rd_kafka_consumer_close(sub->rk);
    rd_kafka_destroy(sub->rk);
    sub->rk = nullptr;
  }
  if (poller_.joinable()) poller_.join();
  if (producer_) {
    rd_kafka_flush(producer_, static_cast<int>(config_.timeout_ms));
    rd_kafka_destroy(producer_);
    producer_ = nullptr;
  }
}

void registerComponent(runtime::Registry& registry) {
  using runtime::FieldType;
  runtime::ComponentFactory<PubSub> factory;
  factory.type = "pubsub.kafka";
  factory.fields = {
      {"brokers", FieldType::kString, true, std::nullopt, {}},
      {"authType", FieldType::kString, true, std::nullopt, {}},
      {"consumerID", FieldType::kString, false, std::nullopt, {}},
      {"consumerGroup", FieldType::kString, false, std::nullopt, {}},
      {"clientID", FieldType::kString, false, std::nullopt, {}},
      {"initialOffset", FieldType::kString, false, "newest", {}},
      {"consumeRetryInterval", FieldType::kDuration, false, "100ms", {}},
      {"sessionTimeout", FieldType::kDuration, false, "10s", {}},
      {"heartbeatInterval", FieldType::kDuration, false, "3s", {}},
      {"maxMessageBytes", FieldType::kInt, false, std::nullopt, {}},
  };
  factory.create = [] { return std::make_unique<KafkaPubSub>(); };
  (void)registry.pubsub.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::pubsub::kafka
