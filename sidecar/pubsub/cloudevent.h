#pragma once

// CloudEvents 1.0 envelopes as Dapr builds them (contract §1.4).

#include <map>
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

// A new envelope around the payload.
StatusOr<std::string> newEnvelope(const EnvelopeRequest& request);
// The caller sent its own CloudEvent (application/cloudevents+json): fill in Dapr's fields.
StatusOr<std::string> completeCallerEnvelope(const EnvelopeRequest& request);
// Raw payload delivered to the app: a synthetic envelope around the bytes.
std::string rawEnvelope(const std::string& pubsub_name, const std::string& topic,
                        const std::string& data);

std::string newUuid();
std::string rfc3339Now();
bool isJsonContentType(const std::string& content_type);

}  // namespace outrigger::sidecar::pubsub
