#pragma once

// The publish side of pub/sub, transport-neutral.

#include <map>
#include <string>
#include <vector>

#include "sidecar/api/universal/async.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::api::universal {

struct PublishRequest {
  std::string pubsub;
  std::string topic;
  std::string data;
  std::string content_type;
  std::map<std::string, std::string> metadata;
  std::string traceparent;
  std::string tracestate;
};

struct BulkPublishEntry {
  std::string entry_id;
  std::string event;  // bytes, already decoded from the request
  std::string content_type;
  std::map<std::string, std::string> metadata;
};

struct BulkPublishRequest {
  std::string pubsub;
  std::string topic;
  std::vector<BulkPublishEntry> entries;
  std::map<std::string, std::string> metadata;
  std::string traceparent;
};

struct FailedEntry {
  std::string entry_id;
  std::string error;
};

class PubSubApi {
 public:
  explicit PubSubApi(runtime::Context& context) : context_(context) {}
  void publish(PublishRequest request, StatusCallback done);
  // Per-entry failures come back in the vector (empty: all published).
  void bulkPublish(BulkPublishRequest request, Callback<std::vector<FailedEntry>> done);

 private:
  StatusOr<std::shared_ptr<const runtime::PubSubInstance>> find(const std::string& pubsub,
                                                                const std::string& topic) const;
  runtime::Context& context_;
};

// The bytes a publish sends to the broker: the payload in an envelope, unless rawPayload.
StatusOr<std::string> envelopeFor(const runtime::Context& context, const PublishRequest& request,
                                  std::string* content_type);

}  // namespace outrigger::sidecar::api::universal
