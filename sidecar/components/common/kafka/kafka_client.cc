#include "sidecar/components/common/kafka/kafka_client.h"

#include <librdkafka/rdkafka.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::common::kafka {

namespace {

constexpr int kPollMs = 200;  // a consumer's longest wait in one poll: bounds stop()

// The opaque of every handle this file creates starts with this, so the log callback can say
// which component speaks.
struct Tagged {
  std::string who;
};

void onLog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // syslog levels: 0-3 errors, 4 warnings; the rest is chatter.
  if (level > 4) return;
  const auto* tag = static_cast<const Tagged*>(rd_kafka_opaque(rk));
  LOG_WARN << (tag ? tag->who : std::string("kafka")) << ": " << fac << ": " << buf;
}

Status set(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
    return invalidArgumentError("kafka: " + k + "=" + v + ": " + err);
  return okStatus();
}

// A configuration with the settings every handle shares, plus extra; errors name the property.
StatusOr<rd_kafka_conf_t*> makeConf(const Config& c, Tagged* opaque,
                                    std::vector<std::pair<std::string, std::string>> extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  extra.insert(extra.begin(),
               {{"bootstrap.servers", c.brokers}, {"log.connection.close", "false"}});
  if (!c.client_id.empty()) extra.push_back({"client.id", c.client_id});
  if (c.max_message_bytes > 0)
    extra.push_back({"message.max.bytes", std::to_string(c.max_message_bytes)});
  for (const auto& [k, v] : extra) {
    if (Status st = set(conf, k, v); !st.ok()) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
  }
  rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_conf_set_log_cb(conf, onLog);
  return conf;
}

// What a send waits for; shared with the delivery-report callback, which may come after the
// sender gave up waiting.
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

}  // namespace

StatusOr<Config> parseConfig(const runtime::Properties& p, std::string who) {
  Config c;
  c.who = std::move(who);
  c.brokers = p.get("brokers");
  if (c.brokers.empty()) return invalidArgumentError("metadata field 'brokers' is required");
  std::string auth = p.get("authType");
  if (auth.empty() && p.has("authRequired")) {
    // Dapr's older field: false means none; true (SASL) is not supported yet.
    bool required = false;
    if (!runtime::parseBool(p.get("authRequired"), &required))
      return invalidArgumentError("metadata field 'authRequired' must be true or false");
    if (required) {
      return unimplementedError(
          "metadata field 'authRequired': SASL authentication is not supported yet; use "
          "authType none");
    }
    auth = "none";
  }
  if (auth.empty()) return invalidArgumentError("metadata field 'authType' is required (none)");
  if (strcasecmp(auth.c_str(), "none") != 0) {
    return unimplementedError("metadata field 'authType': '" + auth +
                              "' is not supported yet; only none is");
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
  return c;
}

// ---- Producer ----

struct Producer::Impl : Tagged {
  Config config;
  rd_kafka_t* rk = nullptr;
  std::thread poller;  // serves the delivery reports
  std::atomic<bool> closed{false};
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() { close(); }

StatusOr<std::unique_ptr<Producer>> Producer::open(const Config& config) {
  auto impl = std::make_unique<Impl>();
  impl->who = config.who;
  impl->config = config;
  ASSIGN_OR_RETURN(
      rd_kafka_conf_t * conf,
      makeConf(config, impl.get(),
               {{"acks", "all"}, {"message.timeout.ms", std::to_string(config.timeout_ms)}}));
  rd_kafka_conf_set_dr_msg_cb(conf, onDelivery);
  char err[512];
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!impl->rk) {
    rd_kafka_conf_destroy(conf);
    return invalidArgumentError(std::string("kafka: ") + err);
  }
  // Fail at start-up when no broker answers, rather than at the first send.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t merr =
      rd_kafka_metadata(impl->rk, 0, nullptr, &md, static_cast<int>(config.timeout_ms));
  if (merr) {
    rd_kafka_destroy(impl->rk);
    return unavailableError("kafka: no broker of '" + config.brokers +
                            "' answered: " + rd_kafka_err2str(merr));
  }
  rd_kafka_metadata_destroy(md);
  Impl* raw = impl.get();
  raw->poller = std::thread([raw] {
    while (!raw->closed) rd_kafka_poll(raw->rk, 100);
  });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Status Producer::send(const std::string& topic, const std::string& value,
                      const std::optional<std::string>& key,
                      const std::vector<std::pair<std::string, std::string>>& headers) {
  if (impl_->closed) return unavailableError("kafka: the component is closed");
  auto delivery = std::make_shared<Delivery>();
  auto* holder = new std::shared_ptr<Delivery>(delivery);
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [k, v] : headers)
      rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
  }
  // The macros cast their arguments unparenthesised: plain variables only.
  void* key_ptr = key ? const_cast<char*>(key->data()) : nullptr;
  size_t key_len = key ? key->size() : 0;
  void* value_ptr = const_cast<char*>(value.data());
  size_t value_len = value.size();
  rd_kafka_resp_err_t err = rd_kafka_producev(
      impl_->rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(value_ptr, value_len),
      RD_KAFKA_V_KEY(key_ptr, key_len), RD_KAFKA_V_HEADERS(hdrs),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(holder), RD_KAFKA_V_END);
  if (err) {
    delete holder;
    if (hdrs) rd_kafka_headers_destroy(hdrs);  // still ours when producev failed
    return unavailableError("kafka: send to '" + topic + "': " + rd_kafka_err2str(err));
  }
  // The report comes within message.timeout.ms; the margin covers the poller's pace.
  std::unique_lock<std::mutex> lock(delivery->mutex);
  if (!delivery->cv.wait_for(lock, std::chrono::milliseconds(impl_->config.timeout_ms + 5000),
                             [&] { return delivery->done; })) {
    return deadlineExceededError("kafka: no delivery report for a record to '" + topic + "'");
  }
  if (delivery->err) {
    return unavailableError("kafka: send to '" + topic + "': " + rd_kafka_err2str(delivery->err));
  }
  return okStatus();
}

void Producer::close() {
  if (impl_->closed.exchange(true)) return;
  if (impl_->poller.joinable()) impl_->poller.join();
  if (impl_->rk) {
    rd_kafka_flush(impl_->rk, static_cast<int>(impl_->config.timeout_ms));
    rd_kafka_destroy(impl_->rk);
    impl_->rk = nullptr;
  }
}

// ---- Consumer ----

struct Consumer::Impl : Tagged {
  Config config;
  std::vector<std::string> topics;
  BatchOptions options;
  BatchHandler handler;
  rd_kafka_t* rk = nullptr;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  bool assigned = false;  // the group gave this member its partitions (possibly none)
  bool stopped = false;
  // Counts rebalances. Only the thread polling rk touches it (rebalances are served inside
  // polls): the reading thread, then stop() once that thread ended.
  uint64_t rebalances = 0;

  void run();
  bool gather(std::vector<Record>* batch);
  void settle(const std::vector<Record>& batch, const std::vector<Status>& results);
  bool pause(int64_t ms) {
    std::unique_lock<std::mutex> lock(mutex);
    return !cv.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopped; });
  }
  bool stopping() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopped;
  }
  std::string topicList() const {
    std::string out;
    for (const auto& t : topics) out += (out.empty() ? "'" : ", '") + t + "'";
    return out;
  }
};

namespace {

// Partitions assigned to a member: each starts at its committed offset; without one, at the
// start (oldest) or at the current end (newest), which is committed at once so that the
// position survives a restart of the consumer before anything was consumed.
void onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* impl = static_cast<Consumer::Impl*>(static_cast<Tagged*>(opaque));
  ++impl->rebalances;
  if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, nullptr);
    return;
  }
  const Config& config = impl->config;
  rd_kafka_resp_err_t cerr = rd_kafka_committed(rk, partitions, config.timeout_ms);
  if (cerr) {
    LOG_WARN << config.who << ": committed offsets: " << rd_kafka_err2str(cerr);
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
      LOG_WARN << config.who << ": committing initial offsets: " << rd_kafka_err2str(e);
    }
  }
  rd_kafka_topic_partition_list_destroy(fresh);
  rd_kafka_assign(rk, partitions);
  {
    std::lock_guard<std::mutex> lock(impl->mutex);
    impl->assigned = true;
  }
  impl->cv.notify_all();
}

Record toRecord(const rd_kafka_message_t* m) {
  Record r;
  r.topic = rd_kafka_topic_name(m->rkt);
  if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
  if (m->key) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
  r.partition = m->partition;
  r.offset = m->offset;
  rd_kafka_timestamp_type_t type;
  r.timestamp_ms = rd_kafka_message_timestamp(m, &type);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; ++i) {
      r.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : "");
    }
  }
  return r;
}

}  // namespace

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() { stop(); }

StatusOr<std::unique_ptr<Consumer>> Consumer::start(const Config& config,
                                                    std::vector<std::string> topics,
                                                    RecordHandler handler) {
  // Batches of one; a record behind a failed one (none, with one per batch) is not offered.
  return start(config, std::move(topics), BatchOptions{1, 0},
               [handler = std::move(handler)](const std::vector<Record>& batch) {
                 std::vector<Status> out;
                 for (const auto& r : batch) {
                   out.push_back(handler(r));
                   if (!out.back().ok()) break;
                 }
                 return out;
               });
}

StatusOr<std::unique_ptr<Consumer>> Consumer::start(const Config& config,
                                                    std::vector<std::string> topics,
                                                    const BatchOptions& options,
                                                    BatchHandler handler) {
  if (config.group.empty()) return invalidArgumentError("kafka: no consumer group");
  auto impl = std::make_unique<Impl>();
  impl->who = config.who;
  impl->config = config;
  impl->topics = std::move(topics);
  impl->options.max_records = std::max(options.max_records, 1);
  impl->options.max_await_ms = std::max(options.max_await_ms, 0);
  impl->handler = std::move(handler);
  ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                   makeConf(config, impl.get(),
                            {{"group.id", config.group},
                             {"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             {"auto.offset.reset", config.oldest ? "earliest" : "latest"},
                             {"session.timeout.ms", std::to_string(config.session_timeout_ms)},
                             {"heartbeat.interval.ms", std::to_string(config.heartbeat_ms)},
                             {"allow.auto.create.topics", "true"},
                             // Prefetch little: the app takes one message (or batch) at a
                             // time, and what waits in the sidecar is memory (librdkafka's
                             // default is 64 MiB).
                             {"queued.max.messages.kbytes", "512"},
                             {"max.partition.fetch.bytes", "262144"}}));
  rd_kafka_conf_set_rebalance_cb(conf, onRebalance);
  char err[512];
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!impl->rk) {
    rd_kafka_conf_destroy(conf);
    return invalidArgumentError(std::string("kafka: ") + err);
  }
  rd_kafka_poll_set_consumer(impl->rk);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(impl->topics.size()));
  for (const auto& t : impl->topics)
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t serr = rd_kafka_subscribe(impl->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (serr) {
    rd_kafka_destroy(impl->rk);
    return unavailableError("kafka: subscribe to " + impl->topicList() + ": " +
                            rd_kafka_err2str(serr));
  }
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Status Consumer::waitAssigned() {
  int64_t bound = impl_->config.session_timeout_ms * 3;
  std::unique_lock<std::mutex> lock(impl_->mutex);
  if (!impl_->cv.wait_for(lock, std::chrono::milliseconds(bound),
                          [&] { return impl_->assigned || impl_->stopped; })) {
    return deadlineExceededError("kafka: group '" + impl_->config.group +
                                 "' assigned no partitions of " + impl_->topicList() + " within " +
                                 std::to_string(bound) + " ms");
  }
  return okStatus();
}

void Consumer::Impl::run() {
  std::vector<Record> batch;
  while (!stopping()) {
    // A batch gathered while stop() was called stays uncommitted: the next owner gets it.
    if (!gather(&batch) || stopping()) continue;
    std::vector<Status> results = handler(batch);
    if (results.size() != batch.size()) {
      LOG_WARN << config.who << ": the handler answered " << results.size() << " statuses for "
               << batch.size() << " records; the unanswered ones are fetched again";
    }
    settle(batch, results);
  }
}

bool Consumer::Impl::gather(std::vector<Record>* batch) {
  using Clock = std::chrono::steady_clock;
  batch->clear();
  uint64_t seen = rebalances;
  Clock::time_point deadline;
  while (static_cast<int>(batch->size()) < options.max_records && !stopping()) {
    int wait_ms = kPollMs;
    if (!batch->empty() && options.max_await_ms == 0) {
      wait_ms = 0;  // only what librdkafka already fetched
    } else if (!batch->empty()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      wait_ms = static_cast<int>(std::min<int64_t>(left, kPollMs));
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, wait_ms);
    if (rebalances != seen) {
      // A rebalance was served in that poll: what was gathered before it may be of partitions
      // this member lost, and is fetched again from the committed offset by whoever owns them
      // now (this member included). A record the poll returned came after it: it is current.
      seen = rebalances;
      batch->clear();
    }
    if (!m) {
      if (!batch->empty() && options.max_await_ms == 0) break;  // all that was already fetched
      continue;
    }
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        LOG_WARN << config.who << ": consuming " << topicList() << ": "
                 << rd_kafka_message_errstr(m);
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    batch->push_back(toRecord(m));
    rd_kafka_message_destroy(m);
    if (batch->size() == 1)
      deadline = Clock::now() + std::chrono::milliseconds(options.max_await_ms);
  }
  return !batch->empty();
}

void Consumer::Impl::settle(const std::vector<Record>& batch, const std::vector<Status>& results) {
  // Per partition: the offset to commit (behind its last OK record before any failure), and its
  // first failed record, fetched again with everything behind it.
  struct Progress {
    const std::string* topic;
    int32_t partition;
    int64_t commit = -1;
    int64_t retry = -1;
  };
  std::vector<Progress> parts;  // few: a batch rarely spans many partitions
  for (size_t i = 0; i < batch.size(); ++i) {
    const Record& r = batch[i];
    auto it = std::find_if(parts.begin(), parts.end(), [&](const Progress& p) {
      return p.partition == r.partition && *p.topic == r.topic;
    });
    if (it == parts.end()) it = parts.insert(parts.end(), Progress{&r.topic, r.partition});
    if (it->retry >= 0) continue;  // behind a failure: fetched again anyway
    if (i < results.size() && results[i].ok()) {
      it->commit = r.offset + 1;
    } else {
      it->retry = r.offset;
    }
  }
  rd_kafka_topic_partition_list_t* done = rd_kafka_topic_partition_list_new(0);
  rd_kafka_topic_partition_list_t* back = rd_kafka_topic_partition_list_new(0);
  for (const auto& p : parts) {
    if (p.commit >= 0)
      rd_kafka_topic_partition_list_add(done, p.topic->c_str(), p.partition)->offset = p.commit;
    if (p.retry >= 0)
      rd_kafka_topic_partition_list_add(back, p.topic->c_str(), p.partition)->offset = p.retry;
  }
  if (done->cnt > 0) {
    // Rebalances are served only inside polls, so these partitions are still this member's as far
    // as it knows; if the group moved them meanwhile the commit fails, and their records are
    // delivered again by the next owner (at-least-once).
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, done, 0);
    if (err) {
      LOG_WARN << config.who << ": committing offsets of " << done->cnt << " partition(s) of "
               << topicList() << ": " << rd_kafka_err2str(err);
    }
  }
  if (back->cnt > 0) {
    // Fetch the failed records again: later ones of their partitions wait behind them.
    rd_kafka_error_t* err = rd_kafka_seek_partitions(rk, back, config.timeout_ms);
    if (err) {
      LOG_WARN << config.who << ": seeking back in " << topicList() << ": "
               << rd_kafka_error_string(err);
      rd_kafka_error_destroy(err);
    }
    for (int i = 0; i < back->cnt; ++i) {
      const auto& p = back->elems[i];
      if (p.err) {
        LOG_WARN << config.who << ": seeking back to offset " << p.offset << " of '" << p.topic
                 << "' [" << p.partition << "]: " << rd_kafka_err2str(p.err);
      }
    }
  }
  bool failed = back->cnt > 0;
  rd_kafka_topic_partition_list_destroy(done);
  rd_kafka_topic_partition_list_destroy(back);
  if (failed) pause(config.retry_interval_ms);
}

void Consumer::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Leaves the group; uncommitted records go to whoever takes the partitions next.
  rd_kafka_consumer_close(impl_->rk);
  rd_kafka_destroy(impl_->rk);
  impl_->rk = nullptr;
}

}  // namespace outrigger::sidecar::components::common::kafka
