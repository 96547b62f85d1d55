#include "sidecar/components/pubsub/kafka/kafka_pubsub.h"

namespace outrigger::sidecar::components::pubsub::kafka {

namespace client = components::common::kafka;

KafkaPubSub::~KafkaPubSub() { close(); }

Status KafkaPubSub::init(const runtime::Properties& p) {
  ASSIGN_OR_RETURN(config_, client::parseConfig(p, "pubsub.kafka"));
  config_.group = p.get("consumerGroup", p.get("consumerID"));
  if (config_.group.empty()) {
    return invalidArgumentError(
        "metadata field 'consumerID' is required (or consumerGroup): it names the consumer group");
  }
  ASSIGN_OR_RETURN(producer_, client::Producer::open(config_));
  return okStatus();
}

Status KafkaPubSub::publish(const PublishRequest& request) {
  if (closed_ || !producer_) return unavailableError("kafka: the component is closed");
  std::optional<std::string> key;
  if (auto it = request.metadata.find("partitionKey");
      it != request.metadata.end() && !it->second.empty())
    key = it->second;
  return producer_->send(request.topic, request.data, key);
}

namespace {

Message toMessage(const std::string& topic, const client::Record& r) {
  Message msg;
  msg.topic = topic;
  msg.data = r.value;
  if (r.key) msg.metadata["__key"] = *r.key;
  msg.metadata["__partition"] = std::to_string(r.partition);
  msg.metadata["__offset"] = std::to_string(r.offset);
  return msg;
}

}  // namespace

Status KafkaPubSub::bulkSubscribe(const SubscribeRequest& request, const BulkOptions& options,
                                  BulkHandler handler) {
  return startConsumer(request, client::BatchOptions{options.max_messages, options.max_await_ms},
                       [topic = request.topic,
                        handler = std::move(handler)](const std::vector<client::Record>& batch) {
                         std::vector<Message> messages;
                         messages.reserve(batch.size());
                         for (const auto& r : batch) messages.push_back(toMessage(topic, r));
                         return handler(messages);
                       });
}

Status KafkaPubSub::startConsumer(const SubscribeRequest& request,
                                  const client::BatchOptions& options,
                                  client::BatchHandler handler) {
  if (closed_) return unavailableError("kafka: the component is closed");
  ASSIGN_OR_RETURN(auto consumer,
                   client::Consumer::start(config_, {request.topic}, options, std::move(handler)));
  client::Consumer* raw = consumer.get();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return unavailableError("kafka: the component is closed");
    consumers_.push_back(std::move(consumer));
  }
  // In place once the group assigned this member its partitions (bounded).
  return raw->waitAssigned();
}

void KafkaPubSub::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.exchange(true)) return;
  }
  for (auto& c : consumers_) c->stop();
  if (producer_) producer_->close();
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
