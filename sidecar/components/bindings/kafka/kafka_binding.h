#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sidecar/components/bindings/binding.h"
#include "sidecar/components/common/kafka/kafka_client.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::bindings::kafka {

// bindings.kafka through librdkafka (the client pubsub.kafka uses too, components/common/kafka).
// Output: create sends the data to publishTopic and returns once the broker acknowledged it
// (acks=all); metadata partitionKey (or __key) becomes the record key and every metadata entry a
// record header, as in Dapr. Input: a member of consumerGroup reads topics and hands each record
// to the app with the metadata __key, __topic, __partition, __offset, __timestamp and the record's
// headers; its offset is committed only after the app answered 2xx. A record the app failed is
// fetched again after consumeRetryInterval, before the ones behind it in its partition (Dapr's
// binding moves on unless consumeRetryEnabled; here nothing is skipped).
class KafkaBinding : public Binding, public OutputBinding, public InputBinding {
 public:
  ~KafkaBinding() override;
  Status init(const runtime::Properties& properties) override;
  OutputBinding* output() override { return this; }
  InputBinding* input() override { return this; }
  std::vector<std::string> operations() const override { return {"create"}; }
  StatusOr<InvokeResponse> invoke(const InvokeRequest& request) override;
  Status read(InputHandler handler) override;
  void close() override;

 private:
  components::common::kafka::Config config_;
  std::string publish_topic_;
  std::vector<std::string> topics_;
  bool escape_headers_ = false;
  std::unique_ptr<components::common::kafka::Producer> producer_;
  std::mutex mutex_;
  std::unique_ptr<components::common::kafka::Consumer> consumer_;
  bool closed_ = false;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::bindings::kafka
