#pragma once

// What pubsub.kafka and bindings.kafka share, over librdkafka: Dapr's connection metadata, a
// producer that waits for the broker's acknowledgement, and a consumer-group member that commits
// an offset only after its handler took the record and fetches a failed record again.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status/status.h"
#include "sidecar/runtime/metadata.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace outrigger::sidecar::components::common::kafka {

struct Config {
  std::string who;  // the component type, in log lines ("pubsub.kafka")
  std::string brokers;
  std::string group;  // consumer group; the caller decides where it comes from
  std::string client_id;
  bool oldest = false;
  int64_t retry_interval_ms = 100;
  int64_t session_timeout_ms = 10000;
  int64_t heartbeat_ms = 3000;
  int64_t max_message_bytes = 0;
  int64_t timeout_ms = 10000;  // a send's delivery, metadata and commit calls
};

// Reads brokers, authType (or the older authRequired), clientID, initialOffset,
// consumeRetryInterval, sessionTimeout, heartbeatInterval and maxMessageBytes; an error names
// the field. Only authType none is supported.
StatusOr<Config> parseConfig(const runtime::Properties& p, std::string who);

// Produces with acks=all. Opening fails when no broker answers, as Dapr's start-up does.
class Producer {
 public:
  static StatusOr<std::unique_ptr<Producer>> open(const Config& config);
  ~Producer();
  // Returns once the broker acknowledged the record. A key keeps records of one key in one
  // partition, in order; headers travel with the record.
  Status send(const std::string& topic, const std::string& value,
              const std::optional<std::string>& key,
              const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Flushes what is in flight (bounded) and releases the client; send() fails afterwards.
  void close();
  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct Record {
  std::string topic;
  std::string value;
  std::optional<std::string> key;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // -1: none
  std::vector<std::pair<std::string, std::string>> headers;
};

// OK: the record was taken (its offset is committed); an error: it is fetched again.
using RecordHandler = std::function<Status(const Record&)>;
// One status per record, in order; a missing status counts as a failure. Per partition, offsets
// are committed up to the first failed record, which is fetched again with everything behind it
// (records after it that were OK'd included: at-least-once).
using BatchHandler = std::function<std::vector<Status>(const std::vector<Record>&)>;

// How records are gathered into a batch: up to max_records, in the order the partitions gave
// them; once a batch holds one record it waits at most max_await_ms for more (0: takes only what
// librdkafka already fetched).
struct BatchOptions {
  int max_records = 1;
  int max_await_ms = 0;
};

// A member of config.group reading topics on a thread of its own, one batch at a time (a
// RecordHandler gets batches of one). Auto-commit is off: offsets are committed, synchronously,
// only after the handler returned OK for them. A record the handler failed is fetched again after
// consumeRetryInterval, before the records behind it in its partition. A rebalance while a batch
// is being gathered drops what it gathered so far (the partitions' next owner, or this member
// again, fetches it from the committed offset). A group's first assignment starts at the oldest
// record or at the partition's end (initialOffset); the end is committed at once, so that a
// member restarting before it consumed anything still gets what was produced after it first
// joined.
class Consumer {
 public:
  static StatusOr<std::unique_ptr<Consumer>> start(const Config& config,
                                                   std::vector<std::string> topics,
                                                   RecordHandler handler);
  static StatusOr<std::unique_ptr<Consumer>> start(const Config& config,
                                                   std::vector<std::string> topics,
                                                   const BatchOptions& options,
                                                   BatchHandler handler);
  ~Consumer();
  // Waits, bounded by three session timeouts, until the group gave this member its partitions
  // (possibly none); OK too when the consumer was stopped meanwhile.
  Status waitAssigned();
  // Stops reading (waiting for a handler in progress) and leaves the group; uncommitted records
  // go to whoever takes the partitions next.
  void stop();
  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace outrigger::sidecar::components::common::kafka
