#pragma once

// CloudEvents 1.0 envelopes as Dapr builds them (contract §1.4).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/json/json.h"
#include "common/status/status.h"

namespace outrigger::sidecar::pubsub {

struct EnvelopeRequest {
  std::string app_id;  // source
  std::string pubsub_name;
  std::string topic;
  std::string content_type;  // of data; empty means text/plain
  std::string data;
  std::map<std::string, std::string> metadata;  // request metadata (cloudevent.* overrides)
  std::string traceparent;
  std::string tracestate;
};

// metadata.ttlInSeconds: nullopt when absent or empty, else a positive number of seconds. A value
// that is not an integer, or is not above zero, is rejected (as Dapr's TryGetTTL does) with 400
// ERR_PUBSUB_REQUEST_METADATA.
StatusOr<std::optional<int64_t>> ttlInSeconds(const std::map<std::string, std::string>& metadata);

// A new envelope around the payload. With metadata.ttlInSeconds it carries `expiration`
// (RFC 3339, now + ttl), which the subscriber checks before delivering.
StatusOr<std::string> newEnvelope(const EnvelopeRequest& request);
// The caller sent its own CloudEvent (application/cloudevents+json): fill in Dapr's fields
// (and `expiration` from metadata.ttlInSeconds, as for a new envelope).
StatusOr<std::string> completeCallerEnvelope(const EnvelopeRequest& request);
// Raw payload delivered to the app: a synthetic envelope around the bytes.
std::string rawEnvelope(const std::string& pubsub_name, const std::string& topic,
                        const std::string& data);

std::string newUuid();
std::string rfc3339Now();
std::string rfc3339(std::chrono::system_clock::time_point t);
bool isJsonContentType(const std::string& content_type);

}  // namespace outrigger::sidecar::pubsub
